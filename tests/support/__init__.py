"""Real servers for tests and benchmarks (a Dovecot launcher), importable from both."""
