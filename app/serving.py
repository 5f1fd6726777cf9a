"""How ``concierge run`` serves: its address checked before anything starts, uvicorn's worker
supervision given a grace, and a failure to listen told in one readable line (exit code 2).

``concierge run --workers N`` (N > 1) runs uvicorn's own process manager: the parent binds the
port, starts N workers, and pings each every half second through a pipe (a thread of the worker
answers). A worker that leaves a ping unanswered for ``CONCIERGE_WORKER_HEALTHCHECK_SECONDS`` is
killed and started again; uvicorn's default, 5 s, is shorter than a worker starting on a loaded
2-core machine can take, hence a longer default here. With one worker there is no supervisor.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from app.settings import Settings
from app.socket_guard import server_options

EXIT_CANNOT_LISTEN = 2

_REASONS = {
    errno.EADDRINUSE: "the address is already in use (another program, or another "
    "`concierge run`, is listening there)",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
    errno.EADDRNOTAVAIL: "this machine has no such address",
}


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class CannotListen(Exception):
    """The helpdesk's address cannot be listened on; ``str()`` says why and what to change."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        super().__init__(host, port, error)
        self.host, self.port, self.error = host, port, error

    def __str__(self) -> str:
        reason = _REASONS.get(self.error.errno or 0) or self.error.strerror or str(self.error)
        return (
            f"cannot listen on {_where(self.host, self.port)}: {reason}.\n"
            "Stop what uses it, or choose another port with --port or CONCIERGE_PORT "
            "(the address: --host or CONCIERGE_HOST)."
        )


def check_address(host: str, port: int) -> None:
    """Binds ``host:port`` for a moment, as uvicorn will (``SO_REUSEADDR``: a port left in
    TIME_WAIT by a previous run is free); raises ``CannotListen`` when it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:  # socket.gaierror (an unknown host name) is one too
        raise CannotListen(host, port, exc) from None
    finally:
        probe.close()


class _BindFailure(logging.Filter):
    """Catches uvicorn's own bind failure (an address taken between our check and its bind),
    which it logs as the bare ``OSError`` before exiting: kept here, told by ``serve``."""

    def __init__(self) -> None:
        super().__init__()
        self.error: OSError | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, OSError) and record.levelno >= logging.ERROR:
            self.error = record.msg
            return False  # ``serve`` says it, readably
        return True


@contextmanager
def _watch_bind() -> Iterator[_BindFailure]:
    watch = _BindFailure()
    logger = logging.getLogger("uvicorn.error")
    logger.addFilter(watch)
    try:
        yield watch
    finally:
        logger.removeFilter(watch)


def uvicorn_options(settings: Settings, workers: int) -> dict[str, Any]:
    """What ``concierge run`` gives uvicorn besides the app."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": workers,
        "log_level": "info",
        # X-Forwarded-For is believed only from CONCIERGE_TRUSTED_PROXIES (app.web.hardening);
        # uvicorn's own would believe any peer on 127.0.0.1.
        "proxy_headers": False,
        # How long a worker may leave the process manager's ping unanswered (module docstring).
        "timeout_worker_healthcheck": settings.worker_healthcheck_seconds,
        **server_options(settings),  # frame size and shutdown grace (app/socket_guard.py)
    }


def serve(settings: Settings, workers: int, app: str = "app.main:create_app") -> None:
    """Runs uvicorn; raises ``CannotListen`` when it could not bind its address."""
    with _watch_bind() as watch:
        try:
            uvicorn.run(app, factory=True, **uvicorn_options(settings, workers))
        except SystemExit:
            if watch.error is not None:
                raise CannotListen(settings.host, settings.port, watch.error) from None
            raise
