from pathlib import Path

import pytest
from redis import Redis

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
