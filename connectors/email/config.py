"""One mailbox account: where to read (IMAP) and send (SMTP) its mail. Secrets never print."""

from __future__ import annotations

from pathlib import PurePath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Security = Literal["tls", "starttls", "plain"]

MB = 1024 * 1024


class MailboxConfig(BaseModel):
    """A mailbox the email connector serves; ``account`` is the key the app knows it by."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(min_length=1)
    address: str = Field(min_length=3)
    display_name: str = ""

    imap_host: str
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Security = "tls"
    imap_user: str
    imap_password: SecretStr
    folder: str = "INBOX"
    sent_folder: str = "Sent"  # empty: do not keep a copy of replies

    smtp_host: str
    smtp_port: int = Field(default=465, ge=1, le=65535)
    smtp_security: Security = "tls"
    smtp_user: str = ""  # empty: the server does not ask us to log in
    smtp_password: SecretStr = SecretStr("")

    poll_interval: float = Field(default=60.0, gt=0)  # servers without IDLE
    idle_renew: float = Field(default=25 * 60.0, gt=0)  # under the 29-minute IDLE limit
    catchup_interval: float = Field(default=300.0, gt=0)  # UID SEARCH backstop while idling
    attachment_cap: int = Field(default=10 * MB, ge=0)
    timeout: float = Field(default=30.0, gt=0)  # per IMAP/SMTP command
    verify_tls: bool = True
    tls_ca_file: str = ""  # a PEM file of certificates to trust besides the system's
    # A mailbox's first run brings in the mail of its last N days (0: only mail still to come).
    backfill_days: int = Field(default=7, ge=0, le=36500)

    @field_validator("address")
    @classmethod
    def _plain_address(cls, value: str) -> str:
        if "@" not in value or any(c in value for c in "\r\n<> "):
            raise ValueError("address must be a bare e-mail address (name@domain)")
        return value

    @field_validator("tls_ca_file")
    @classmethod
    def _absolute(cls, value: str) -> str:
        # Workers do not share a working directory with the command that configured them.
        if value and not PurePath(value).is_absolute():
            raise ValueError("must be an absolute path")
        return value

    @field_validator("display_name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())

    def cursor_key(self) -> str:
        """The CursorStore key of this mailbox's (UIDVALIDITY, UID) cursor."""
        return f"email:{self.account}:{self.folder}"
