"""Quarantine: what a connector could not read, kept whole until a manager acts on it.

A connector hands over the raw bytes with a coded reason (``quarantine.<code>`` in the
catalogs, filled with ``params``; the English ``reason`` is for logs). On /accounts a manager
sees the items of the accounts they may see, newest first, downloads the raw bytes, retries one
(the channel's parser reads the bytes again, the inbox ingests the result: after a parser fix
the mail goes in) or dismisses it. A retried or dismissed item is marked ``resolved_at``, never
deleted here: the retention sweep (app.privacy) removes old rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.i18n import Translator, catalog
from app.models import Account, Office, Quarantine, Role, User
from app.services import Services
from connectors.base import InboundMessage, IngestResult

log = logging.getLogger(__name__)

LISTED = 200  # items shown on the page at most (the newest)
Parser = Callable[[Quarantine, Account, Services], InboundMessage]


class QuarantineError(Exception):
    """A refusal on a quarantined item: ``code`` for the catalogs, an HTTP ``status``."""

    def __init__(self, code: str, status: int = 422, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params


@dataclass(frozen=True, slots=True)
class Item:
    """One waiting item as the page lists it."""

    row: Quarantine
    account: Account


async def keep(
    services: Services,
    account_key: str,
    raw: bytes,
    reason: str,
    code: str = "",
    params: Mapping[str, str] | None = None,
) -> None:
    """Stores what a connector could not read; the reason is logged (never the bytes)."""
    log.warning("quarantined a message on %s: %s", account_key, reason)
    async with services.db.session() as session:
        session.add(
            Quarantine(
                account_key=account_key,
                reason=reason[:500],
                raw=raw,
                at=services.clock.now(),
                code=code[:64],
                params=json.dumps({k: str(v)[:300] for k, v in (params or {}).items()}),
            )
        )
        await session.commit()


def may_manage(user: User, account: Account) -> bool:
    """Managers only: an office manager their office's accounts, a destination manager all."""
    if account.destination_id != user.destination_id:
        return False
    if user.role == Role.DESTINATION_MANAGER:
        return True
    return user.role == Role.OFFICE_MANAGER and account.office_id == user.office_id


def accounts_of(user: User) -> Any:
    """The query of the accounts ``user`` manages (none for an adviser)."""
    query = select(Account).where(Account.destination_id == user.destination_id)
    if user.role == Role.OFFICE_MANAGER:
        return query.where(Account.office_id == user.office_id)
    if user.role != Role.DESTINATION_MANAGER:
        return query.where(col(Account.id).is_(None))
    return query


def offices_of(user: User) -> SelectOfScalar[Office]:
    """The query of the offices ``user`` manages (their accounts, and where they may add a
    chat widget): a destination manager's every office, an office manager's own, none for
    anyone else."""
    query = select(Office).where(Office.destination_id == user.destination_id)
    if user.role == Role.OFFICE_MANAGER:
        return query.where(Office.id == user.office_id)
    if user.role != Role.DESTINATION_MANAGER:
        return query.where(col(Office.id).is_(None))
    return query.order_by(col(Office.name), col(Office.id))


async def waiting(session: AsyncSession, user: User) -> list[Item]:
    """The unresolved items of the accounts ``user`` manages, newest first."""
    accounts = {a.key: a for a in (await session.exec(accounts_of(user))).all()}
    if not accounts:
        return []
    rows = (
        await session.exec(
            select(Quarantine)
            .where(col(Quarantine.account_key).in_(list(accounts)))
            .where(col(Quarantine.resolved_at).is_(None))
            .order_by(col(Quarantine.at).desc(), col(Quarantine.id).desc())
            .limit(LISTED)
        )
    ).all()
    return [Item(row, accounts[row.account_key]) for row in rows]


async def check_item(session: AsyncSession, user: User, item_id: int) -> Item:
    """The item if ``user`` manages its account; 404 otherwise (never reveal it exists)."""
    row = await session.get(Quarantine, item_id)
    if row is not None:
        account = (
            await session.exec(select(Account).where(Account.key == row.account_key))
        ).first()
        if account is not None and may_manage(user, account):
            return Item(row, account)
    raise QuarantineError("quarantine.not_found", 404)


def params_of(row: Quarantine) -> dict[str, str]:
    try:
        data = json.loads(row.params or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def describe(t: Translator, row: Quarantine) -> str:
    """The reason in the reader's language; the English reason when its code is unknown."""
    key = f"quarantine.{row.code}"
    if row.code and key in catalog(t.language):
        try:
            return t(key, **params_of(row))
        except (KeyError, IndexError, ValueError):  # a parameter missing from an old row
            pass
    return t("quarantine.other", reason=row.reason)


def content_type(account: Account) -> tuple[str, str]:
    """The raw bytes' media type and file extension, by channel."""
    if account.channel == "email":
        return "message/rfc822", "eml"
    if account.channel == "twitter":
        return "application/json", "json"
    return "application/octet-stream", "bin"


def _email(row: Quarantine, account: Account, services: Services) -> InboundMessage:
    from connectors.email.config import MailboxConfig
    from connectors.email.parse import parse_message

    if not row.raw.strip():
        raise QuarantineError("quarantine.retry_empty")
    try:
        settings = json.loads(account.settings or "{}")
    except ValueError:
        settings = {}
    cap = settings.get("attachment_cap") if isinstance(settings, dict) else None
    if not isinstance(cap, int) or cap < 0:
        cap = MailboxConfig.model_fields["attachment_cap"].default
    # Arrived when it was quarantined: routing and figures use that, not the retry's time.
    return parse_message(
        row.raw,
        account=account.key,
        received_at=row.at,
        now=services.clock.now(),
        attachment_cap=cap,
    )


PARSERS: dict[str, Parser] = {"email": _email}


async def retry(services: Services, user: User, item_id: int) -> IngestResult:
    """Reads the bytes again with the channel's parser and ingests them.

    In: the item is resolved and the conversation exists. Still unreadable: QuarantineError
    with the parser's complaint, and the item stays as it was."""
    from app.inbox import Inbox, UnknownAccountError  # the inbox imports more than we need

    async with services.db.session() as session:
        item = await check_item(session, user, item_id)
    if item.row.resolved_at is not None:
        raise QuarantineError("quarantine.already_resolved", 409)
    parser = PARSERS.get(item.account.channel)
    if parser is None:
        raise QuarantineError("quarantine.retry_unsupported")
    try:
        inbound = parser(item.row, item.account, services)
    except QuarantineError:
        raise
    except Exception as exc:
        log.info("quarantined item %s still unreadable: %s", item_id, exc)
        raise QuarantineError(
            "quarantine.retry_failed", error=f"{type(exc).__name__}: {exc}"[:300]
        ) from None
    try:
        result = await Inbox(services).ingest(inbound)
    except UnknownAccountError:
        raise QuarantineError("quarantine.retry_failed", error="unknown account") from None
    await _resolve(services, item_id)
    log.info("quarantined item %s retried by user %s: message %s", item_id, user.id, result)
    return result


async def dismiss(services: Services, user: User, item_id: int) -> None:
    """Takes the item off the list (kept until the retention sweep)."""
    async with services.db.session() as session:
        await check_item(session, user, item_id)
    await _resolve(services, item_id)


async def _resolve(services: Services, item_id: int) -> None:
    async with services.db.session() as session:
        row = await session.get(Quarantine, item_id)
        if row is not None and row.resolved_at is None:
            row.resolved_at = services.clock.now()
            session.add(row)
            await session.commit()
