"""Email: IMAP in (IDLE or polling), SMTP out."""
