"""The Sieve worker: filters and the vacation notice over ManageSieve (RFC 5804)."""
