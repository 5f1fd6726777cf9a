"""What an anonymous socket may cost before any work is done for it.

The chat widget is public: anyone can open sockets to it. Three checks, each one Redis script
before the handshake's work (no database read, no token issued, nothing accepted):

- **token buckets** per IP address (every connection, with or without a visitor token) and per
  IP and per widget (new chats, i.e. tokens issued). A bucket holds ``burst`` admissions and
  refills at ``per_minute``: a hotel's Wi-Fi lets a crowd in at once, a script is held to the
  refill rate. An attempt refused by a limit takes nothing from any bucket (looked at first,
  counted only once every check has admitted it), so refusals cannot themselves keep real
  visitors out; an attempt refused as invalid (unknown widget, bad token) is counted, so
  invalid attempts cannot cost the database without end;
- **tabs**: how many sockets one visitor token holds open, on every worker;
- **frame size**: the largest frame the protocol can need, given to the websocket server so a
  larger one is refused from its header, before it is buffered.

The buckets read Redis's clock (``TIME``), so every worker meters alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from app import keys
from app.settings import Settings

# KEYS: the buckets; ARGV: burst and per-minute refill of each, in KEYS' order, then "dry".
# Admits (1) only when every bucket holds a whole token, and only then (and not dry) takes one
# from each; refusing (0) writes nothing. A bucket's hash: t = tokens, at = when (ms) counted.
_TAKE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local levels = {}
for i, key in ipairs(KEYS) do
  local burst = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i]) / 60000
  local state = redis.call('HMGET', key, 't', 'at')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then
    tokens = burst
  else
    tokens = math.min(burst, tokens + math.max(0, ms - at) * rate)
  end
  if tokens < 1 then
    return 0
  end
  levels[i] = tokens
end
if ARGV[2 * #KEYS + 1] == "1" then
  return 1
end
for i, key in ipairs(KEYS) do
  local burst = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i]) / 60000
  redis.call('HSET', key, 't', tostring(levels[i] - 1), 'at', ms)
  local full_in = math.ceil((burst - levels[i] + 1) / math.max(rate, 1e-9))
  redis.call('PEXPIRE', key, math.min(full_in, 86400000) + 1000)
end
return 1
"""

# KEYS[1]: the count; ARGV: cap, TTL (s). Counts one more socket unless the cap is reached.
_OPEN_TAB = """
local n = redis.call('INCR', KEYS[1])
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

_CLOSE_TAB = """
if redis.call('DECR', KEYS[1]) <= 0 then
  redis.call('DEL', KEYS[1])
end
return 1
"""

# A tab's count outlives a worker that died with sockets open by this long at most; every
# frame of an open socket (the widget pings) renews it (:meth:`SocketGuard.tab_alive`).
TAB_TTL = 120
ENVELOPE_BYTES = 1024  # a message frame's JSON around its text: type, client_id, quotes
BYTES_PER_CHAR = 6  # the worst a character costs in a JSON string: a "\u001f" escape


def frame_max_bytes(max_message_chars: int, adviser_frame_chars: int) -> int:
    """The largest websocket frame either socket can legitimately need, in bytes: a visitor's
    message of ``max_message_chars`` characters, each escaped at worst, plus its envelope; an
    adviser's frame of ``adviser_frame_chars`` characters of up to 4 UTF-8 bytes."""
    return max(max_message_chars * BYTES_PER_CHAR + ENVELOPE_BYTES, adviser_frame_chars * 4)


@dataclass(frozen=True, slots=True)
class Bucket:
    """One limit: ``scope`` names it, ``subject`` is who is metered (an IP, a widget)."""

    scope: str
    subject: str
    burst: int
    per_minute: float


class SocketGuard:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._take = redis.register_script(_TAKE)
        self._open_tab = redis.register_script(_OPEN_TAB)
        self._close_tab = redis.register_script(_CLOSE_TAB)

    async def admit(self, *buckets: Bucket, dry: bool = False) -> bool:
        """True, taking one token from each bucket (none when ``dry``: a look before the
        work), when every one has a token left; False, taking nothing, otherwise."""
        args: list[Any] = []
        for bucket in buckets:
            args += [max(1, bucket.burst), max(0.0, bucket.per_minute)]
        args.append("1" if dry else "0")
        admitted: Any = await self._take(
            keys=[keys.admission(b.scope, b.subject) for b in buckets], args=args
        )
        return bool(admitted)

    async def open_tab(self, destination_id: int, visitor_key: str, cap: int) -> bool:
        """Counts one more socket of a visitor token; False (nothing counted) at the cap."""
        opened: Any = await self._open_tab(
            keys=[keys.visitor_tabs(destination_id, visitor_key)], args=[cap, TAB_TTL]
        )
        return bool(opened)

    async def tab_alive(self, destination_id: int, visitor_key: str) -> None:
        """An open socket spoke: its count is still true."""
        await self.redis.expire(keys.visitor_tabs(destination_id, visitor_key), TAB_TTL)

    async def close_tab(self, destination_id: int, visitor_key: str) -> None:
        await self._close_tab(keys=[keys.visitor_tabs(destination_id, visitor_key)])


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options that bound what a socket costs (``concierge run`` passes them): the
    largest frame the protocol needs, and a short grace for open requests and sockets on
    shutdown (each socket is told 1012 at once; a handler still busy after it is cancelled),
    and no per-message compression: the frames are short JSON, which deflate hardly shrinks,
    while each compressed socket keeps a zlib state each way (tens of KiB) and compresses
    every event it is sent on the worker's one core (bench/idle_sockets.py,
    bench/chat_latency.py)."""
    from app.web.ws import MAX_FRAME  # the adviser socket's own bound, in characters

    return {
        "ws_max_size": frame_max_bytes(settings.max_message_chars, MAX_FRAME),
        "ws_per_message_deflate": False,
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }
