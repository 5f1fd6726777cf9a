"""Blocks: a manager stops an abusive sender (a chat visitor, an e-mail address, an X account)
or an IP address, for a while or for good.

The ``Block`` table is the record. Redis mirrors a destination's active blocks in one hash
(field → expiry in epoch seconds, "0" for never) so that the chat socket asks, before accepting,
in one round trip (:func:`refusal`); a hash without its ``synced`` field (a Redis restarted
empty) is rebuilt from SQL on the next look. A blocked chat visitor or address is refused; a
blocked e-mail address or X account still has its messages stored, straight into spam
(:func:`sender_block`, called by the ingest), so nothing is ever lost.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, or_
from sqlalchemy import select as select_core
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db, keys
from app.models import Account, Block, Conversation, Role, User
from app.services import Services

log = logging.getLogger(__name__)

Duration = Literal["1h", "24h", "7d", "30d", "permanent"]
DURATIONS: dict[str, timedelta | None] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "permanent": None,
}
Refusal = Literal["visitor_blocked", "ip_blocked"]
BLOCKED_CLOSE = 4451  # the close code of a socket refused by a block (docs/api.md)
SYNCED = "synced"  # a field every mirrored hash holds: its absence means "rebuild from SQL"
IPV6_PREFIX = 64  # one household or phone gets a /64: blocking one address alone stops nothing


def blocks_key(destination_id: int) -> str:
    """Hash of a destination's active blocks: field (:func:`contact_field`, :func:`ip_field`)
    → expiry in epoch seconds, "0" when permanent."""
    return keys.blocks(destination_id)


def contact_field(channel: str, external_id: str) -> str:
    return f"c:{channel}:{external_id}"


def ip_subject(ip: str) -> str | None:
    """What is blocked for an address: the IPv4 address itself, an IPv6 address's /64 network
    (an IPv4-mapped IPv6 address is its IPv4 address); None when ``ip`` is not an address."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def is_proxy(ip: str, trusted: str) -> bool:
    """Whether ``ip`` is one of the trusted proxies (``CONCIERGE_TRUSTED_PROXIES``: addresses or
    networks, comma-separated): every visitor would share it, so it is never blocked."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    for entry in trusted.split(","):
        entry = entry.strip()
        if entry == "*":
            return True
        try:
            if entry and address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def ip_field(subject: str) -> str:
    return f"ip:{subject}"


def _field(block: Block) -> str:
    return (
        ip_field(block.value) if block.kind == "ip" else contact_field(block.channel, block.value)
    )


def active(now: datetime) -> ColumnElement[bool]:
    """Blocks in force at ``now``: not lifted, not expired."""
    return and_(
        col(Block.lifted_at).is_(None),
        or_(col(Block.expires_at).is_(None), col(Block.expires_at) > now),
    )


KEEP_ENDED = timedelta(days=30)  # how long a lifted or expired block is kept (it names someone)


async def forget_ended(session: AsyncSession, destination_id: int, now: datetime) -> None:
    """Deletes the destination's blocks that ended (lifted or expired) over ``KEEP_ENDED`` ago,
    in the caller's transaction: they hold addresses, and stop nothing any more."""
    long_ago = now - KEEP_ENDED
    await session.exec(
        delete(Block).where(
            col(Block.destination_id) == destination_id,
            or_(col(Block.lifted_at) < long_ago, col(Block.expires_at) < long_ago),
        )
    )


# --- the socket's question: one Redis round trip --------------------------------------------

_outage = {"since": 0.0}  # when Redis last failed us (0: it answers): one log line per outage


async def refusal(
    services: Services, account: Account, visitor_id: str | None, ip: str
) -> Refusal | None:
    """Why a chat socket must be refused (a blocked visitor, a blocked address), or None.

    One Redis round trip; fails open (None) with one log line per outage when Redis is down,
    since refusing every visitor would be worse than letting a blocked one in for a while."""
    key = blocks_key(account.destination_id)
    subject = ip_subject(ip)
    fields = [SYNCED, ip_field(subject) if subject else "", ""]
    if visitor_id:
        fields[2] = contact_field("webchat", visitor_id)
    try:
        found = await services.redis.hmget(key, fields)
        if found[0] is None:  # an empty Redis (restarted, flushed): the record is in SQL
            mirrored = await resync(services, account.destination_id)
            found = [b"1", *(mirrored.get(f) if f else None for f in fields[1:])]
    except Exception as exc:  # Redis (or, rebuilding, SQL) down: a chat is worth more
        if not _outage["since"]:
            log.warning("blocks not checked (Redis unavailable, letting sockets in): %s", exc)
        _outage["since"] = time.monotonic()
        return None
    _outage["since"] = 0.0
    now = services.clock.now().timestamp()

    def in_force(value: bytes | str | None) -> bool:
        if value is None:
            return False
        expiry = float(value)
        return expiry == 0 or expiry > now

    if fields[2] and in_force(found[2]):
        return "visitor_blocked"
    if fields[1] and in_force(found[1]):
        return "ip_blocked"
    return None


async def resync(services: Services, destination_id: int) -> dict[str, str]:
    """Rewrites the destination's Redis mirror from the active blocks in SQL (the record), and
    returns it. Called after every block and lift, and when the mirror went missing."""
    now = services.clock.now()
    async with services.db.session() as session:
        rows = (
            await session.exec(
                select(Block).where(Block.destination_id == destination_id, active(now))
            )
        ).all()
    mirror = {SYNCED: "1"}
    for block in rows:
        expiry = "0" if block.expires_at is None else repr(block.expires_at.timestamp())
        field = _field(block)
        # Two blocks of one subject: the longer one holds.
        if mirror.get(field) != "0" and (
            field not in mirror or expiry == "0" or float(expiry) > float(mirror[field])
        ):
            mirror[field] = expiry
    key = blocks_key(destination_id)
    async with services.redis.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        pipe.hset(key, mapping={k: v for k, v in mirror.items()})  # typed for redis-py
        await pipe.execute()
    return mirror


# --- the ingest's question: in its own transaction, from SQL ---------------------------------


def _sender_block(by_address: bool) -> Select[int | None, str]:
    """Built once per form (see app.repository): every visitor message asks."""
    subjects = [and_(col(Block.kind) == "contact", col(Block.channel) == bindparam("channel"),
                     col(Block.value) == bindparam("value"))]  # fmt: skip
    if by_address:
        subjects.append(and_(col(Block.kind) == "ip", col(Block.value) == bindparam("ip")))
    now: Any = bindparam("now")  # typed by the column it is compared with
    return (
        select_core(col(Block.id), col(Block.kind))
        .where(col(Block.destination_id) == bindparam("d"), or_(*subjects), active(now))
        .limit(1)
    )


_SENDER, _SENDER_OR_IP = _sender_block(False), _sender_block(True)


@dataclass(frozen=True, slots=True)
class SenderBlock:
    """A block in force on a message's sender: what the ingest logs of it."""

    id: int
    kind: str  # contact | ip


async def sender_block(
    session: AsyncSession,
    destination_id: int,
    channel: str,
    external_id: str,
    ip: str,
    now: datetime,
) -> SenderBlock | None:
    """The block in force on this sender (or, for a chat message, on its address), if any:
    read past the ORM (every message asks, and nearly all find none)."""
    subject = ip_subject(ip) if ip else None
    params: dict[str, Any] = {
        "d": destination_id,
        "channel": channel,
        "value": external_id,
        "now": now,
    }
    statement = _SENDER
    if subject:
        statement, params["ip"] = _SENDER_OR_IP, subject
    found = await db.plain_rows(session, statement, params)
    return SenderBlock(*found[0]) if found else None


# --- what managers see -----------------------------------------------------------------------


class BlockOut(BaseModel):
    id: int
    kind: str  # contact | ip
    channel: str
    label: str
    reason: str
    conversation_id: int | None
    created_by_name: str
    created_at: datetime
    expires_at: datetime | None


def may_manage(user: User) -> bool:
    return user.active and user.role in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER)


def may_see_block(user: User, block: Block, conversation: Conversation | None) -> bool:
    """A destination manager sees the destination's blocks; an office manager those they made
    and those of conversations they may read (a block names a visitor)."""
    if block.destination_id != user.destination_id or not may_manage(user):
        return False
    if user.role == Role.DESTINATION_MANAGER or block.created_by == user.id:
        return True
    if conversation is None:
        return False
    return conversation.office_id == user.office_id or conversation.assignee_id == user.id


def blocks_out(rows: Sequence[Block], names: dict[int, str]) -> list[BlockOut]:
    return [
        BlockOut(
            id=b.id or 0,
            kind=b.kind,
            channel=b.channel,
            label=b.label,
            reason=b.reason,
            conversation_id=b.conversation_id,
            created_by_name=names.get(b.created_by or 0, ""),
            created_at=b.created_at,
            expires_at=b.expires_at,
        )
        for b in rows
    ]
