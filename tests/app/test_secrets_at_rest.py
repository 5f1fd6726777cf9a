"""Secrets where they should not be (a real `concierge run`): visitor tokens in the server's
log lines, demo passwords printed on every start, world-readable data files."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from pathlib import Path

import httpx
import pytest
import websockets

from app.log_redaction import RedactSecrets, redact
from tests.app.test_cli import Running, running  # noqa: F401  (the fixture)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _visitor_token(url: str) -> str:
    """Opens a real chat socket; returns the token the server gave the visitor, after using it
    in the socket's URL as the widget does on every visit."""
    ws_url = url.replace("http://", "ws://")

    async def run() -> str:
        async with websockets.connect(f"{ws_url}/ws/visitor?account=chat-port-argent") as ws:
            hello = json.loads(await ws.recv())
        token = str(hello["token"])
        async with websockets.connect(
            f"{ws_url}/ws/visitor?account=chat-port-argent&token={token}"
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
        return token

    return asyncio.run(run())


def test_a_real_start_keeps_secrets_out_of_logs_and_files_private(
    env: dict[str, str],
    running: list[Running],  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {**env, "CONCIERGE_DEMO_HISTORY_DAYS": "0"}
    var = tmp_path / "var"
    first = Running(env)
    running.append(first)
    first.wait_ready()
    token = _visitor_token(first.url)
    httpx.get(f"{first.url}/demo?account=chat-port-argent&token={token}&password=hunter2")
    # Files, checked while the server runs (the Redis append-only files and SQLite's WAL exist).
    assert _mode(var) == 0o700
    for name in ("concierge.db", "concierge.db-wal", "concierge.db-shm", "secret_key"):
        assert _mode(var / name) == 0o600, name
    redis_files = [p for p in (var / "redis").rglob("*")]
    assert any("appendonly" in p.name for p in redis_files), redis_files
    for path in [var / "redis", *redis_files]:
        assert _mode(path) & 0o077 == 0, (path, oct(_mode(path)))
    output = first.stop()
    assert first.proc.returncode == 0, output

    logins = (var / "demo-logins.txt").read_text().splitlines()
    password = logins[0].split()[1]
    assert password in output  # printed once, when the demo destination was created
    assert "/ws/visitor?account=chat-port-argent&token=[redacted]" in output, output[-3000:]
    assert token not in output and "hunter2" not in output

    # An older install with open modes is tightened at the next start; passwords not printed.
    os.chmod(var, 0o755)  # noqa: S103 - the old, open mode being tested
    os.chmod(var / "concierge.db", 0o644)
    second = Running(env)
    running.append(second)
    second.wait_ready()
    assert _mode(var) == 0o700 and _mode(var / "concierge.db") == 0o600
    output = second.stop()
    assert password not in output and "demo-logins.txt" in output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /ws/visitor?token=abc.DEF-1_2&account=x",
            "GET /ws/visitor?token=[redacted]&account=x",
        ),
        ("/x?account=x&visitor_token=a%2Fb", "/x?account=x&visitor_token=[redacted]"),
        (
            "/x?Password=p&secret=s&api_key=k",
            "/x?Password=[redacted]&secret=[redacted]&api_key=[redacted]",
        ),
        ("/x?tok%65n=abc", "/x?tok%65n=[redacted]"),
        ("/rota/ical/abc.def.ics?lang=fr", "/rota/ical/[redacted].ics?lang=fr"),
        ("/api/conversations?cursor=abc&limit=5", "/api/conversations?cursor=abc&limit=5"),
        ("/x?keyword=paris&monkey=1", "/x?keyword=paris&monkey=1"),
    ],
)
def test_secret_query_values_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_filter_keeps_uvicorn_access_arguments_in_shape() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/ws/visitor?token=s3cr3t", "1.1", 101), None,
    )  # fmt: skip
    assert RedactSecrets().filter(record)
    assert record.args == ("127.0.0.1:5", "GET", "/ws/visitor?token=[redacted]", "1.1", 101)
    assert "s3cr3t" not in record.getMessage()


def test_the_embedded_redis_keeps_its_files_private_whatever_the_umask(tmp_path: Path) -> None:
    """Started by anything (a test, a supervisor), not only `concierge run`: the server's own
    umask makes its append-only files private."""
    from app.embedded_redis import EmbeddedRedis

    previous = os.umask(0o022)
    try:
        server = EmbeddedRedis(tmp_path / "redis", persist=True)
        server.start()
        try:
            from redis import Redis

            client = Redis.from_url(server.url)
            client.set("session:x", "y")
            client.close()
        finally:
            server.stop()
    finally:
        os.umask(previous)
    files = [tmp_path / "redis", *(tmp_path / "redis").rglob("*")]
    assert any("appendonly" in p.name for p in files), files
    for path in files:
        assert _mode(path) & 0o077 == 0, (path, oct(_mode(path)))
