"""The weekly report e-mailed to every manager on Monday (app/weekly_report.py).

One worker at a time (a Redis lease) looks every ``PASS_SECONDS``: in each destination where it
is Monday and past ``CONCIERGE_WEEKLY_REPORT_HOUR`` (07:00 by default, the destination's time),
each active manager gets the report of the week that ended at midnight, as they may read it (a
destination manager the whole destination, an office manager their office's part), in their
language: an HTML e-mail with a plain-text part and the PDF attached, sent through the SMTP
server of the mailbox replies to visitors leave from (:func:`app.offline.mailbox_for`: their
office's, else the destination's first).

Never twice: a Redis key per destination, week and recipient is claimed (SET NX) before sending
and kept for ``KEEP_SECONDS`` once the mail has gone, whichever worker or restart comes next. A
failure (no mailbox, a refused connection, a 4xx or 5xx reply) is logged with its reason, the
claim is released and the next pass tries again; a worker that dies between the server's
acceptance and the mark leaves a claim that lapses after ``CLAIM_SECONDS`` (then it is sent
again: better twice than never). A whole Monday without a running worker sends nothing: that
week's report is still on /dashboard/weekly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from app import keys, leadership, outage, weekly_report
from app.connector_registry import ConfigurationError, connector_for
from app.i18n import LANGUAGES, Translator
from app.models import Destination, Role, User
from app.offline import mailbox_for
from app.services import Services
from app.weekly_report import Week, WeeklyReport
from connectors.email.compose import one_line
from connectors.email.config import MailboxConfig
from connectors.email.connector import EmailConnector
from connectors.email.smtp import send_mail

log = logging.getLogger(__name__)

PASS_SECONDS = 60.0
LEASE_SECONDS = 600
CLAIM_SECONDS = 15 * 60
KEEP_SECONDS = 90 * 24 * 3600


@dataclass
class Outcome:
    """What one pass did."""

    sent: int = 0
    failed: int = 0


def due(now: datetime, timezone: str, hour: int) -> Week | None:
    """The week whose report is due now in ``timezone``: Monday from ``hour`` on, else None."""
    local = now.astimezone(ZoneInfo(timezone))
    if local.weekday() != 0 or local.hour < hour:
        return None
    return Week.last_complete(now, timezone)


def language(services: Services, user: User) -> str:
    return user.language if user.language in LANGUAGES else services.settings.default_language


def compose(
    services: Services,
    config: MailboxConfig,
    user: User,
    report: WeeklyReport,
    t: Translator,
    now: datetime,
) -> EmailMessage:
    """The e-mail: plain text, the same as HTML, and the PDF attached."""
    from app.web.weekly_report_pages import document  # the page's own rendering

    link = f"{services.settings.base_url}/dashboard/weekly?week={report.week.label}"
    intro = t("weekly.mail.intro", name=user.name)
    mail = EmailMessage()
    mail["From"] = formataddr((one_line(config.display_name), config.address))
    mail["To"] = formataddr((one_line(user.name), one_line(user.email)))
    mail["Subject"] = one_line(weekly_report.title(report, t))
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid(domain=config.address.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic answer to it
    body = weekly_report.text(report, t)
    mail.set_content(f"{intro}\n\n{body}\n{t('weekly.open_online')}: {link}\n")
    mail.add_alternative(document(report, t, intro=intro, link=link), subtype="html")
    mail.add_attachment(
        weekly_report.pdf(report, t),
        maintype="application",
        subtype="pdf",
        filename=f"{report.filename}.pdf",
    )
    mail["Content-Language"] = t.language  # after the parts: they take Content-* headers along
    return mail


async def _config(services: Services, destination_id: int, office_id: int) -> MailboxConfig:
    """The SMTP side of the mailbox the report leaves from; ValueError saying why not."""
    async with services.db.session() as session:
        mailbox = await mailbox_for(session, destination_id, office_id)
    if mailbox is None:
        raise ValueError("no active mailbox to send it from")
    try:
        connector = connector_for(services, mailbox)
    except ConfigurationError as exc:
        raise ValueError(f"the mailbox {mailbox.key} cannot be used: {exc}") from None
    if not isinstance(connector, EmailConnector):
        raise ValueError(f"the mailbox {mailbox.key} has no e-mail connector")
    return connector.config


async def send_one(
    services: Services, destination: Destination, user: User, week: Week, now: datetime
) -> bool:
    """Sends ``user`` their report of ``week`` unless it went already; whether it went now."""
    assert destination.id is not None and user.id is not None
    key = keys.weekly_report_sent(destination.id, week.label, user.id)
    if not await services.redis.set(key, "sending", nx=True, ex=CLAIM_SECONDS):
        return False  # sent already, or being sent by another pass
    try:
        config = await _config(services, destination.id, user.office_id or 0)
        t = Translator(language(services, user))
        async with services.db.session() as session:
            report = await weekly_report.build(session, user, week)
        mail = compose(services, config, user, report, t, now)
        result = await send_mail(config, mail)
        if not result.ok:
            raise ValueError(result.error or "the SMTP server refused it")
    except Exception as exc:
        await services.redis.delete(key)
        log.warning(
            "weekly report %s for user %s (%s) not sent, tried again next pass: %s",
            week.label, user.id, destination.slug, exc,
        )  # fmt: skip
        raise
    await services.redis.set(key, "sent", ex=KEEP_SECONDS)
    log.info("weekly report %s sent to user %s (%s)", week.label, user.id, destination.slug)
    return True


async def recipients(services: Services, destination_id: int) -> list[User]:
    """The destination's active managers; an office manager without an office has no part."""
    async with services.db.session() as session:
        found = (
            await session.exec(
                select(User)
                .where(
                    User.destination_id == destination_id,
                    col(User.active).is_(True),
                    col(User.role).in_([Role.DESTINATION_MANAGER, Role.OFFICE_MANAGER]),
                )
                .order_by(col(User.id))
            )
        ).all()
    return [u for u in found if u.role == Role.DESTINATION_MANAGER or u.office_id is not None]


async def _hold_lease(services: Services, worker: str) -> bool:
    return await leadership.holds(services.redis, keys.weekly_report_lease(), worker, LEASE_SECONDS)


async def send_pass(services: Services, worker: str) -> Outcome:
    """One look at every destination by the worker holding the lease; what it sent."""
    outcome = Outcome()
    if not services.settings.weekly_report or not await _hold_lease(services, worker):
        return outcome
    now = services.clock.now()
    async with services.db.session() as session:
        destinations = list((await session.exec(select(Destination))).all())
    for destination in destinations:
        week = due(now, destination.timezone, services.settings.weekly_report_hour)
        if week is None or destination.id is None:
            continue
        for user in await recipients(services, destination.id):
            try:
                if await send_one(services, destination, user, week, now):
                    outcome.sent += 1
            except Exception:  # logged with its reason in send_one; the others still go
                outcome.failed += 1
    return outcome


async def keep_sending(services: Services, worker: str) -> None:
    """Forever: a pass every ``PASS_SECONDS`` (app.main's lifespan runs it in every worker)."""
    while True:
        try:
            await send_pass(services, worker)
        except Exception as exc:  # must outlive a passing database or Redis error
            if not outage.quiet(exc, "weekly report"):
                log.exception("weekly report pass failed")
        await asyncio.sleep(PASS_SECONDS)
