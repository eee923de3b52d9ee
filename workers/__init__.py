"""Worker processes: one protocol each, spoken to over a pipe by the supervisor."""
