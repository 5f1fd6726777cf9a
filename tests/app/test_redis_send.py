"""Redis commands written in the caller's step when the socket has room (app/redis_send.py),
against a real server — paused with SIGSTOP where a server that stops reading is needed."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app import redis_connect
from app.embedded_redis import EmbeddedRedis
from app.redis_send import QuickSend, quick


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path / "redis", persist=False) as running:
        yield running


@contextlib.asynccontextmanager
async def connection(server: EmbeddedRedis, timeout: float = 0.5) -> AsyncIterator[Any]:
    opened = quick(Connection)(
        host="127.0.0.1",
        port=server.port,
        password=server.password,
        socket_timeout=timeout,
        health_check_interval=30,
    )
    await opened.connect()
    try:
        yield opened
    finally:
        await opened.disconnect()


@contextlib.contextmanager
def paused(server: EmbeddedRedis) -> Iterator[None]:
    """The server stops reading its sockets (the kernel still takes what fits its buffers)."""
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


def sent_without_suspending(connection: Any, *args: Any) -> bool:
    """Whether sending the command completes in the caller's step (the coroutine never yields)."""
    step = connection.send_packed_command(connection.pack_command(*args))
    try:
        step.send(None)
    except StopIteration:
        return True
    step.close()
    return False


async def test_the_apps_pool_sends_with_the_quick_write(server: EmbeddedRedis) -> None:
    client = redis_connect.connect(server.url)
    try:
        assert await client.set("k", "v")
        pooled = await client.connection_pool.get_connection()
        try:
            assert isinstance(pooled, QuickSend) and isinstance(pooled, Connection)
        finally:
            await client.connection_pool.release(pooled)
        assert await client.get("k") == b"v"
    finally:
        await client.aclose()


async def test_a_command_with_room_is_written_in_the_callers_step(server: EmbeddedRedis) -> None:
    async with connection(server) as conn:
        assert sent_without_suspending(conn, "SET", "greeting", "bonjour")
        assert await conn.read_response() == b"OK"
        assert sent_without_suspending(conn, "GET", "greeting")
        assert await conn.read_response() == b"bonjour"


async def test_a_stopped_server_still_times_out_the_reply(server: EmbeddedRedis) -> None:
    # The write needs no wait, so no timeout: the read keeps the socket's.
    async with connection(server) as conn:
        with paused(server):
            assert sent_without_suspending(conn, "PING")
            with pytest.raises(RedisTimeoutError):
                await conn.read_response()


async def test_a_write_the_socket_cannot_take_waits_within_the_timeout(
    server: EmbeddedRedis,
) -> None:
    # Larger than the transport's high-water mark: redis-py's own write, bounded by the
    # timeout, and the connection dropped, as for any command half sent.
    big = b"x" * (64 * 1024 * 1024)
    async with connection(server) as conn:
        with paused(server):
            with pytest.raises(RedisTimeoutError):
                await conn.send_command("SET", "big", big)
            assert not conn.is_connected
        await conn.connect()
        assert sent_without_suspending(conn, "EXISTS", "big")
        assert await conn.read_response() == 0  # nothing of it was stored


async def test_a_closed_transport_is_a_connection_error(server: EmbeddedRedis) -> None:
    async with connection(server) as conn:
        conn._writer.transport.abort()
        with pytest.raises(RedisConnectionError):
            await conn.send_command("PING")
        assert not conn.is_connected
