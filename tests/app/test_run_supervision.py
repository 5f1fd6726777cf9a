"""``concierge run`` keeps its embedded Redis alive: SIGKILL the server and the helpdesk answers
again within seconds, on the same data (a signed-in adviser stays signed in)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.app.test_cli import Running
from tests.conftest import login


@pytest.fixture
def app_run(env: dict[str, str]) -> Iterator[Running]:
    env = {**env, "CONCIERGE_DEMO_HISTORY_DAYS": "0"}
    started = Running(env)
    started.wait_ready()
    yield started
    if started.proc.poll() is None:
        started.stop()


def test_a_killed_embedded_redis_is_restarted_and_the_helpdesk_answers_again(
    app_run: Running, tmp_path: Path
) -> None:
    pidfile = tmp_path / "var" / "redis" / "redis.pid"
    first = int(pidfile.read_text().strip())
    email, password = (tmp_path / "var" / "demo-logins.txt").read_text().split("\n")[0].split()[:2]
    with login(app_run.url, email, password) as client:
        assert client.get("/api/me").status_code == 200
        os.kill(first, signal.SIGKILL)
        began = time.monotonic()
        while time.monotonic() - began < 10:
            try:
                if httpx.get(f"{app_run.url}/healthz", timeout=2).status_code == 200:
                    again = int(pidfile.read_text().strip())
                    if again != first:
                        break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        else:
            pytest.fail("the helpdesk did not answer again within 10 s")
        assert not Path(f"/proc/{first}").exists()  # reaped, not left defunct
        # Same data: the session written before the kill is still there.
        assert client.get("/api/me").json()["email"] == email
    output = app_run.stop()
    assert "embedded redis exited" in output and "restarting it" in output
    assert output.count("Traceback") == 0, output
