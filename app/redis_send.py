"""Redis commands sent without a task of their own when the socket has room for them.

redis-py bounds a command's write by its ``socket_timeout`` with ``asyncio.wait_for``. On Python
3.11 that call wraps the write in a new task, and the command leaves only when the event loop
gets to that task, behind every callback ready before it. A busy worker sends about nine
commands per chat message and its reply (the rate limit, the block list, the live events, the
session…); through the app's pool each paid about 8 µs of CPU for that task (69 against 62 µs
a ``GET``), and waited its turn on the loop.

A write can only wait when the connection's transport is full: ``drain`` suspends once its
buffer passes the high-water mark. When the command fits below it, :class:`QuickSend` writes it
and drains in the caller's own step (the drain cannot suspend then). Otherwise, or when the
connection is not open yet, redis-py's own path runs, timeout included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError


def packed(command: bytes | str | Iterable[bytes]) -> list[bytes]:
    """The command's chunks, as redis-py's ``send_packed_command`` takes them."""
    if isinstance(command, str):
        return [command.encode()]
    if isinstance(command, bytes):
        return [command]
    return list(command)


def writer_with_room(connection: AbstractConnection, size: int) -> asyncio.StreamWriter | None:
    """The connection's stream writer when ``size`` more bytes keep its transport at or under
    the high-water mark (so draining cannot suspend), else None."""
    writer: asyncio.StreamWriter | None = getattr(connection, "_writer", None)
    if writer is None or writer.transport.is_closing():
        return None
    try:
        _low, high = writer.transport.get_write_buffer_limits()
        buffered = writer.transport.get_write_buffer_size()
    except (AttributeError, NotImplementedError):  # a transport that cannot say: redis-py's way
        return None
    return writer if buffered + size <= high else None


class QuickSend(AbstractConnection):
    """Mixed into redis-py's connection class of a pool (:func:`quick`)."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        chunks = packed(command)
        size = sum(len(chunk) for chunk in chunks)
        if self.is_connected and check_health:
            await self.check_health()  # type: ignore[no-untyped-call]  # a PING when due
        writer = writer_with_room(self, size) if self.is_connected else None
        if writer is None:
            await super().send_packed_command(chunks, check_health=check_health)
            return
        try:
            writer.writelines(chunks)
            await writer.drain()
        except (OSError, TypeError, AttributeError) as exc:
            # A transport lost meanwhile (TypeError and AttributeError: what some Pythons raise
            # for it, as redis-py notes): the connection is dropped, as redis-py does.
            await self.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while writing to socket: {exc}.") from exc
        except BaseException:
            await self.disconnect(nowait=True)  # part of the command may have left
            raise


_QUICK: dict[type[Any], type[Any]] = {}


def quick(connection_class: type[Any]) -> type[Any]:
    """``connection_class`` with :class:`QuickSend`'s write (made once per class)."""
    if issubclass(connection_class, QuickSend):
        return connection_class
    if connection_class not in _QUICK:
        _QUICK[connection_class] = type(
            f"Quick{connection_class.__name__}", (QuickSend, connection_class), {}
        )
    return _QUICK[connection_class]
