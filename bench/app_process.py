"""``concierge run`` as the benchmarks drive it: its own process, embedded Redis and SQLite in a
temporary directory, the deployment's own settings ignored, ready when ``/healthz`` answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.embedded_redis import free_port


@dataclass(frozen=True)
class AppProcess:
    base: str  # http://127.0.0.1:<port>
    pid: int
    var_dir: Path


@contextmanager
def running_app(tmp: Path, env_extra: dict[str, str]) -> Iterator[AppProcess]:
    """Starts the app in ``tmp`` with ``env_extra`` on top of a clean environment; stops it
    (SIGINT to its process group, as Ctrl-C) on the way out."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    env.update(env_extra, CONCIERGE_VAR_DIR=str(tmp / "var"))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "run", "--port", str(port)],
        env=env,
        stdout=(tmp / "app.log").open("w"),  # a pipe nobody reads would block the app
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                log = (tmp / "app.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the app did not start:\n{log}")
            time.sleep(0.2)
        yield AppProcess(base, proc.pid, tmp / "var")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
