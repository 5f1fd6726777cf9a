"""The audit log: every manager's read or erasure of visitor data (export, profile, erasure),
readable and exportable by the destination manager (``AuditEntry``)."""
