"""What every request passes before the routes: the trusted proxies' word on the client's address,
the input guard, the last line against numbers too large for SQL, and secrets kept out of logs."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import log_redaction
from app.settings import Settings
from app.web import errors
from app.web.input_guard import InputGuard


def trusted_proxies(settings: Settings) -> list[str]:
    """``CONCIERGE_TRUSTED_PROXIES`` as a list of IPs and CIDRs (empty: trust no one)."""
    return [part.strip() for part in settings.trusted_proxies.split(",") if part.strip()]


def install(app: FastAPI, settings: Settings) -> None:
    log_redaction.install()
    app.add_middleware(InputGuard)
    proxies = trusted_proxies(settings)
    if proxies:
        # Added last, so outermost: every layer below sees the client the proxy named. Only a
        # peer in the list is believed; `concierge run` turns uvicorn's own copy of this
        # middleware off, which would otherwise believe any local peer.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    app.add_exception_handler(OverflowError, errors.overflow_response)
    app.add_exception_handler(DBAPIError, errors.overflow_response)  # PostgreSQL's own
