"""Real servers for the tests: Dovecot (Debian), started on loopback with a test CA."""
