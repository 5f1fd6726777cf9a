"""Who of the advisers is here: connected (a live inbox socket), their chosen status (online or
away), and who is viewing which conversation. Ephemeral Redis state only, never SQL.

- *Connected*: the adviser's sockets (one per tab) refresh an entry of ``keys.online`` every
  30 s; it goes when the last one closes, or lapses by itself if a worker dies without a goodbye.
- *Chosen status*: "away" means nothing new is assigned to them (their open conversations stay,
  alerts keep working). Kept a day, so it outlives a reload but not a forgotten weekend.
- *Viewing*: a sorted set per conversation, refreshed by the inbox every 20 s, lapsing after 60 s.

Every change is told to the destination's staff as an ephemeral signal (``Hub.signal``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from app import keys, socket_presence
from app.events import AudienceFields, PresenceChanged, Viewing
from app.models import User
from app.services import Services

Status = Literal["online", "away", "offline"]
Chosen = Literal["online", "away"]

CONNECTED_TTL = 90  # seconds: the adviser's socket refreshes its entry every 30 s
STATUS_TTL = 24 * 3600  # a chosen status outlives a reload, not a forgotten day
VIEWING_TTL = 60  # seconds: the inbox says it still views every 20 s


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# ---- connected ---------------------------------------------------------------------------


def _sockets(user: User) -> tuple[str, str, str]:
    """The adviser's socket count, the destination's online set, and their member in it."""
    assert user.id is not None
    return (
        keys.adviser_sockets(user.destination_id, user.id),
        keys.online(user.destination_id),
        str(user.id),
    )


async def connect(services: Services, user: User) -> None:
    """One more inbox socket of the adviser is open (a second tab counts too)."""
    expiry = services.clock.now().timestamp() + CONNECTED_TTL
    await socket_presence.opened(services.redis, *_sockets(user), expiry, CONNECTED_TTL)


async def still_connected(services: Services, user: User) -> None:
    """A frame or ping from an open socket: the adviser is still here."""
    expiry = services.clock.now().timestamp() + CONNECTED_TTL
    await socket_presence.still_open(services.redis, *_sockets(user), expiry, CONNECTED_TTL)


async def disconnect(services: Services, user: User) -> bool:
    """One inbox socket of the adviser ended; True when it was their last, on every worker."""
    return await socket_presence.closed(services.redis, *_sockets(user))


async def online_advisers(services: Services, destination_id: int, now: datetime) -> set[int]:
    """Advisers with a live inbox, whatever status they chose."""
    members: Any = await services.redis.zrangebyscore(
        keys.online(destination_id), now.timestamp(), "+inf"
    )
    return {int(m) for m in members}


# ---- chosen status ---------------------------------------------------------------------------


async def chosen(
    services: Services, destination_id: int, user_ids: Iterable[int]
) -> dict[int, Chosen]:
    """Each adviser's chosen status; "online" unless they said "away" within the last day."""
    ids = list(user_ids)
    if not ids:
        return {}
    values: Any = await services.redis.mget([keys.presence(destination_id, i) for i in ids])
    return {
        i: "away" if v is not None and _text(v) == "away" else "online"
        for i, v in zip(ids, values, strict=True)
    }


async def statuses(
    services: Services, destination_id: int, user_ids: Iterable[int]
) -> dict[int, Status]:
    """What colleagues see: "offline" without a live inbox, else the status they chose."""
    ids = list(user_ids)
    connected = await online_advisers(services, destination_id, services.clock.now())
    choices = await chosen(services, destination_id, ids)
    return {i: choices[i] if i in connected else "offline" for i in ids}


async def available(services: Services, destination_id: int, now: datetime) -> set[int]:
    """Advisers who may be handed new conversations: connected and not away."""
    connected = await online_advisers(services, destination_id, now)
    choices = await chosen(services, destination_id, connected)
    return {i for i in connected if choices[i] == "online"}


async def choose(services: Services, user: User, status: Chosen) -> None:
    """Stores the adviser's chosen status and tells the staff."""
    assert user.id is not None
    await services.redis.set(keys.presence(user.destination_id, user.id), status, ex=STATUS_TTL)
    connected = await online_advisers(services, user.destination_id, services.clock.now())
    await announce(services, user, status if user.id in connected else "offline")


async def announce(services: Services, user: User, status: Status) -> None:
    """Signals the adviser's status to every adviser and manager of the destination."""
    assert user.id is not None
    await services.hub.signal(
        user.destination_id,
        PresenceChanged(
            conversation_id=0,
            office_id=user.office_id or 0,
            staff=True,
            user_id=user.id,
            name=user.name,
            status=status,
        ),
    )


# ---- viewing -----------------------------------------------------------------------------------


async def view(services: Services, destination_id: int, conversation_id: int, user_id: int) -> None:
    """The adviser has the conversation open (or still has: the inbox repeats it every 20 s)."""
    expiry = services.clock.now().timestamp() + VIEWING_TTL
    key = keys.viewers(destination_id, conversation_id)
    await services.redis.zadd(key, {str(user_id): expiry})
    # The set outlives its last member by a little: an abandoned conversation leaves nothing.
    await services.redis.expire(key, VIEWING_TTL * 2)


async def unview(
    services: Services, destination_id: int, conversation_id: int, user_id: int
) -> None:
    await services.redis.zrem(keys.viewers(destination_id, conversation_id), str(user_id))


async def viewer_ids(services: Services, destination_id: int, conversation_id: int) -> list[int]:
    """Who has the conversation open now (the one whose view lapses first comes first)."""
    key = keys.viewers(destination_id, conversation_id)
    now = services.clock.now().timestamp()
    await services.redis.zremrangebyscore(key, "-inf", now)
    members: Any = await services.redis.zrangebyscore(key, now, "+inf")
    return [int(_text(m)) for m in members]


async def signal_viewing(
    services: Services, audience: AudienceFields, user: User, *, active: bool
) -> None:
    assert user.id is not None
    await services.hub.signal(
        user.destination_id,
        Viewing(**audience, user_id=user.id, name=user.name, active=active),
    )
