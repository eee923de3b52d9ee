"""The SMTP worker: composes and sends mail over a pool of authenticated connections."""
