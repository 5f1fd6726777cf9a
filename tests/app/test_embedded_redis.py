import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError

from app.embedded_redis import EmbeddedRedis, EmbeddedRedisError, find_server_binary


def test_a_real_server_starts_persists_and_stops(tmp_path: Path) -> None:
    assert Path(find_server_binary()).exists()
    with EmbeddedRedis(tmp_path) as server:
        client = Redis.from_url(server.url)
        client.set("kept", "yes")
        info = client.info("persistence")
        assert info["aof_enabled"] == 1
        client.close()
        port = server.port
    # Stopped: nothing listens any more.
    with pytest.raises(Exception):  # noqa: B017
        Redis(port=port, socket_connect_timeout=0.5).ping()
    # Started again on the same directory, the data is still there.
    with EmbeddedRedis(tmp_path) as server:
        client = Redis.from_url(server.url)
        assert client.get("kept") == b"yes"
        client.close()


def test_the_server_refuses_clients_without_the_password(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, persist=False) as server:
        client = Redis(port=server.port)
        with pytest.raises(Exception, match=r"(?i)auth"):
            client.ping()
        client.close()


def test_a_port_in_use_gives_a_clear_error(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "a", persist=False) as first:
        clash = EmbeddedRedis(tmp_path / "b", port=first.port, persist=False)
        with pytest.raises(EmbeddedRedisError):
            clash.start(timeout=3)


def test_a_killed_server_is_restarted_on_its_port_with_its_password_and_data(
    tmp_path: Path,
) -> None:
    server = EmbeddedRedis(tmp_path)
    server.start()
    server.supervise()
    try:
        client = Redis.from_url(server.url, socket_connect_timeout=0.5)
        client.set("kept", "yes")  # written to the append-only file before the reply
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        began = time.monotonic()
        while time.monotonic() - began < 10:
            with contextlib.suppress(RedisError):
                # restarts counts a restart once its server answered: a client may be quicker
                if server.restarts == 1 and client.ping():
                    break
            time.sleep(0.05)
        back = time.monotonic() - began
        assert back < 5, f"answered again after {back:.1f} s"
        assert server.restarts == 1
        # Same port and password (the client above reconnects as it is), same data, and the
        # killed server was reaped: no defunct process is left behind.
        assert client.get("kept") == b"yes"
        assert not Path(f"/proc/{first}").exists()
        client.close()
    finally:
        server.stop()
    # Stopped on purpose: not started again.
    time.sleep(0.5)
    with pytest.raises(RedisError):
        Redis(port=server.port, socket_connect_timeout=0.5).ping()
