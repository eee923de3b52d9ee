"""The IMAP worker: a pool of imapclient connections and the email tools on it."""
