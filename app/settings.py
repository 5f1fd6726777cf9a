"""Settings, read once from the environment (``CONCIERGE_*``, ``REDIS_URL``, ``DATABASE_URL``)."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DEV_PLACEHOLDER = "dev-only-change-me"


class Settings(BaseSettings):
    """Every setting has a safe default for the embedded, single-machine mode."""

    model_config = SettingsConfigDict(env_prefix="CONCIERGE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    public_url: str = (
        ""  # how browsers reach us, e.g. https://help.example.org (default: host:port)
    )
    var_dir: Path = Path("var")
    # Unset: the embedded server. redis://, rediss://, unix:// (one server),
    # redis+cluster://[:pw@]h:p[,h:p…]/ or redis+sentinel://[:pw@]h:p[,h:p…]/<service>[?db=N]
    # (app/redis_connect.py); a URL it cannot use stops `concierge run` naming REDIS_URL.
    redis_url: str = Field(
        default="", validation_alias=AliasChoices("REDIS_URL", "CONCIERGE_REDIS_URL")
    )
    database_url: str = Field(
        default="", validation_alias=AliasChoices("DATABASE_URL", "CONCIERGE_DATABASE_URL")
    )
    # PostgreSQL connections per process: this many kept, up to max_overflow more at a peak.
    database_pool_size: int = Field(default=5, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    secret_key: SecretStr = SecretStr(_DEV_PLACEHOLDER)
    session_max_age: int = 12 * 3600
    visitor_token_max_age: int = 90 * 24 * 3600
    cookie_secure: bool = False
    default_language: Literal["fr", "en"] = "fr"
    max_message_chars: int = 4000
    visitor_rate: int = 20  # messages per visitor token per window
    visitor_ip_rate: int = 300  # looser cap per IP address (hotel Wi-Fi)
    login_rate: int = 10  # login attempts per IP address per window
    # Failed sign-ins for one e-mail, from any address, before it is locked for a while
    # (a browser that signed in to it before is still let through: see docs/operations.md).
    login_account_failures: int = 10
    login_account_window_seconds: int = 900
    # Proxies whose X-Forwarded-For/-Proto are believed (IPs or CIDRs, comma-separated);
    # empty: the peer's own address is the client's.
    trusted_proxies: str = ""
    rate_window_seconds: int = 10
    retention_days: int = 365  # how long conversations are kept (shown to visitors)
    # The visitor's side (app.offline, app.files, app.surveys, app.visitor_data):
    # a chat visitor waiting this long with nobody of the office on duty online is told so, and
    # offered to leave an address (docs/operations.md);
    offline_notice_seconds: float = Field(default=120, ge=0)
    # a reply to a gone visitor is e-mailed if they are still not back this long after it is
    # sent (a page reload); the e-mail's link back to the chat is valid this many days (app.offline)
    offline_mail_grace_seconds: float = Field(default=2.0, ge=0)
    offline_link_days: int = Field(default=30, gt=0)
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)  # a file sent either way
    survey_valid_days: int = Field(default=7, gt=0)  # a survey may be answered this long
    # "do not keep this conversation after it is answered": erased this long after it is resolved
    forget_after_hours: float = Field(default=24, ge=0)
    widget_logo_max_bytes: int = Field(default=2 * 1024 * 1024, gt=0)  # a widget's logo as sent
    clock_start: datetime | None = None  # run "as if" from this instant (demos and tests)
    demo: bool = True  # seed the demo destination on first start
    demo_history_days: int = 90  # …with this many days of past conversations for the dashboard
    # An inbound message's arrival (IMAP INTERNALDATE, a tweet read…) counts as its time for
    # routing, automatic replies, metrics and order when it lies within this many days before
    # now (a mailbox's backfill after an outage); older or in the future, the moment of ingest.
    arrival_window_days: float = Field(default=10, ge=0)
    sweep_seconds: float = 30  # how often queues are handed over and re-assigned
    rollup_seconds: float = 60  # how often the dashboard's rollups of past days are rebuilt
    # The weekly report e-mailed to managers on Monday from this local hour (app.weekly_report_mail)
    weekly_report: bool = True  # CONCIERGE_WEEKLY_REPORT=off: not e-mailed (still downloadable)
    weekly_report_hour: int = Field(default=7, ge=0, le=23)
    # This machine's name in connector leases (default: the host name). A worker restarted
    # under the same name takes over its predecessor's lease at once (app/channels.py): set it
    # when containers get a new host name on each start.
    worker_name: str = ""
    # The sockets' limits (app/socket_guard.py, docs/operations.md). Buckets: a burst let in at
    # once, then a refill per minute; a refused attempt takes nothing from them.
    # Opening the widget is cheap (a signed token, no row), and a hotel's or a congress's crowd
    # behind one address opens it at once: these are loose. What fills the inbox is a new
    # conversation (a token's first message): that is held tighter, below.
    chat_new_ip_burst: int = 1000  # new chats (visitor tokens issued) per IP address…
    chat_new_ip_per_minute: float = 600
    chat_new_widget_burst: int = 3000  # …and per widget, whatever the addresses
    chat_new_widget_per_minute: float = 1200
    socket_ip_burst: int = 2000  # every socket opened per IP address, token or not
    socket_ip_per_minute: float = 1200
    conversation_ip_burst: int = 60  # conversations opened (first messages) per IP address…
    conversation_ip_per_minute: float = 30
    conversation_widget_burst: int = 300  # …and per widget, whatever the addresses
    conversation_widget_per_minute: float = 300
    visitor_max_tabs: int = 5  # sockets one visitor token holds open at once
    socket_frames_burst: int = 60  # frames of one socket taken at once, then…
    socket_frames_per_second: float = 5  # …this many a second; past that the socket is closed
    # Visitor messages one worker stores at once; more wait in order, and once the oldest has
    # waited this long since it reached the worker, new ones get "busy" and the widget sends
    # them again (app/store_slots.py).
    ingest_slots: int = Field(default=16, ge=1)
    ingest_max_wait_seconds: float = Field(default=5.0, gt=0)
    resume_backlog_max: int = 500  # events a resume replays; further behind: "resync"
    resume_max_age_seconds: int = 24 * 3600  # older resume points get "resync" too
    shutdown_grace_seconds: int = 3  # open requests and sockets get this long on SIGTERM
    # `concierge run --workers N` (N > 1): how long a worker may leave its supervisor's ping
    # unanswered (starting under load, a long pause) before it is killed and started again.
    worker_healthcheck_seconds: int = Field(default=30, ge=1)
    x_api_base_url: str = Field(
        default="https://api.twitter.com",  # tweepy's own host: no rewriting, OAuth signatures hold
        validation_alias=AliasChoices("X_API_BASE_URL", "CONCIERGE_X_API_BASE_URL"),
    )
    # Seconds one X API request may take in all; an account's settings may set its own
    # ("request_timeout"). A hung timeline gives up then, and never delays the other one.
    x_request_timeout: float = Field(default=20, gt=0)

    @field_validator("clock_start")
    @classmethod
    def _aware_clock(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("clock_start must carry a UTC offset, e.g. 2026-07-18T21:14:00+02:00")
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key.get_secret_value() == _DEV_PLACEHOLDER
            or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ValueError(
                "CONCIERGE_SECRET_KEY must be set to 32+ random characters in production"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'concierge.db'}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        elif url.startswith("sqlite:///"):
            url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
        return url

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` in production whatever ``cookie_secure`` says."""
        return self.cookie_secure or self.environment == "production"

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


def generate_secret() -> str:
    return secrets.token_urlsafe(48)


@lru_cache
def get_settings() -> Settings:
    return Settings()
