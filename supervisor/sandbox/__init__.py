"""--sandbox: local mail and calendar servers with demo data, to try every tool safely.

The same servers the test suite runs against (Dovecot, an SMTP relay into it,
Radicale, Xandikos), over TLS with a throwaway CA.
"""
