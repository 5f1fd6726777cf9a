"""Real servers for tests and benchmarks: Dovecot (IMAP), aiosmtpd (SMTP)."""
