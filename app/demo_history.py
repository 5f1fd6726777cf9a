"""Realistic past conversations for the demo destination, so the dashboard is alive on first run.

More visitors in the evening and at weekends; every channel; answers quick when an office is on
duty and waiting for the next opening when nobody is. The past is answered and resolved, as it
would be after a season of work; only a handful of this evening's visitors wait (``EVENING``), so
an adviser logs in to what an evening looks like, not to a backlog.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.metrics import duty_seconds, hour_of_week, local_day
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Destination,
    Direction,
    Message,
    Office,
    ResponseTurn,
    Role,
    User,
)
from app.rollups import day_changed
from rota import Schedule, loads_toml

QUESTIONS = {
    "fr": [
        "Le phare se visite-t-il ce soir ?",
        "À quelle heure est la marée haute demain ?",
        "Reste-t-il une chambre pour ce soir ?",
        "Où louer un vélo près du port ?",
        "Le bac pour Saint-Clair circule-t-il dimanche ?",
        "J'ai perdu mon sac sur la plage.",
    ],
    "en": [
        "Is the lighthouse open tonight?",
        "When is high tide tomorrow?",
        "Any hotel room left for tonight?",
        "Where can I hire a bike?",
    ],
    "de": ["Gibt es heute Abend noch ein Restaurant mit Meerblick?", "Wo kann man parken?"],
    "es": ["¿Hay eventos este fin de semana?", "¿La playa es segura para niños?"],
    "nl": ["Is de markt morgen open?", "Kan ik een fiets huren?"],
}
ANSWERS = {
    "fr": "Bonjour, oui : nous vous envoyons les détails.",
    "en": "Hello, yes: here are the details.",
}
# Who waits when the adviser logs in: (minutes ago, account, name, handle, language, text,
# e-mail subject). Two chats from the last minutes, an X mention, an e-mail from earlier on.
EVENING = (
    (3, "chat-port-argent", "Inès", "", "fr",
     "Bonsoir ! Le dernier bac pour Saint-Clair part à quelle heure ce soir ?", ""),
    (7, "chat-saint-clair", "Tom", "", "en",
     "Hi, is there a pharmacy still open tonight in Saint-Clair? My son has an earache.", ""),
    (24, "x-les-salines", "Lena", "@lena_unterwegs", "en",
     "@SalinesTourisme is the salt marsh walk still on tomorrow morning with this wind?", ""),
    (96, "mail-port-argent", "Julia Weber", "julia.weber@example.de", "de",
     "Guten Abend, wir kommen am Samstag mit zwei Kindern (6 und 9) an. Gibt es noch Plätze "
     "für die Leuchtturmführung am Sonntag? Viele Grüße, Julia Weber",
     "Leuchtturmführung am Sonntag"),
)  # fmt: skip
CHANNEL_SHARE = {"webchat": 0.6, "email": 0.25, "twitter": 0.15}
TYPICAL_DELAY = {"webchat": 90.0, "email": 2 * 3600.0, "twitter": 25 * 60.0}


def visitors_per_hour(local: datetime) -> float:
    """Most write between 18:00 and 23:00, and at weekends."""
    hour = local.hour
    base = (
        0.05 if hour < 8 else 0.6 if hour < 12 else 0.8 if hour < 18 else 1.6 if hour < 23 else 0.3
    )
    return base * (1.6 if local.weekday() >= 5 else 1.0)


async def generate(
    session: AsyncSession,
    days: int,
    now: datetime,
    seed: int = 2026,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Adds ``days`` of answered history before ``now``, then the handful of conversations
    waiting at ``now``; returns how many conversations it wrote."""
    rng = random.Random(seed)  # noqa: S311 - invented demo data, not secrets
    destination = (await session.exec(select(Destination))).first()
    assert destination is not None and destination.id is not None
    zone = ZoneInfo(destination.timezone)
    schedule = Schedule(loads_toml(destination.rota_toml)) if destination.rota_toml else None
    accounts = (
        await session.exec(select(Account).where(Account.destination_id == destination.id))
    ).all()
    by_channel: dict[str, list[Account]] = {}
    for account in accounts:
        by_channel.setdefault(account.channel, []).append(account)
    advisers = (await session.exec(select(User).where(User.role == Role.ADVISER))).all()
    office_advisers: dict[int, list[User]] = {}
    for adviser in advisers:
        if adviser.office_id is not None:
            office_advisers.setdefault(adviser.office_id, []).append(adviser)
    office_ids = {o.slug: o.id for o in (await session.exec(select(Office))).all()}
    written = 0
    start_day = (now - timedelta(days=days)).astimezone(zone).date()
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        for hour in range(24):
            local = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
            count = _poisson(rng, visitors_per_hour(local))
            for _ in range(count):
                at = (local + timedelta(seconds=rng.randrange(3600))).astimezone(UTC)
                if at >= now:
                    continue
                channel = rng.choices(list(CHANNEL_SHARE), weights=list(CHANNEL_SHARE.values()))[0]
                candidates = by_channel.get(channel, [])
                if not candidates:
                    continue
                account = rng.choice(candidates)
                written += await _conversation(
                    session,
                    rng,
                    destination.id,
                    destination.timezone,
                    account,
                    at,
                    now,
                    schedule,
                    office_ids,
                    office_advisers,
                )
        await day_changed(session, destination.id, day.isoformat())
        await session.commit()
        if progress:
            progress(1)
    if days:
        written += await open_evening(
            session, destination.id, destination.timezone, accounts, schedule, now
        )
        await day_changed(session, destination.id, now.astimezone(zone).date().isoformat())
        await session.commit()
    return written


async def open_evening(
    session: AsyncSession,
    destination_id: int,
    timezone: str,
    accounts: Sequence[Account],
    schedule: Schedule | None,
    now: datetime,
) -> int:
    """The conversations waiting at ``now``: open, unassigned, in the queue of the office the
    rota gives them to, like any message that arrived while nobody was online."""
    by_key = {a.key: a for a in accounts}
    office_ids = {
        o.slug: o.id
        for o in (
            await session.exec(select(Office).where(Office.destination_id == destination_id))
        ).all()
    }
    stamp = int(now.timestamp())  # a second run adds its own evening beside the first
    written = 0
    for minutes, key, name, handle, language, text, subject in EVENING:
        account = by_key.get(key)
        if account is None or account.id is None:
            continue
        at = now - timedelta(minutes=minutes)
        route = schedule.route(account.key, at) if schedule else None
        office_id = account.office_id
        if route is not None:
            office_id = office_ids.get(route.office or route.next_office or "") or office_id
        external = handle or f"demo-evening-{stamp}-{minutes}"
        contact = (
            await session.exec(
                select(Contact).where(
                    Contact.destination_id == destination_id,
                    Contact.channel == account.channel,
                    Contact.external_id == external,
                )
            )
        ).first() or Contact(
            destination_id=destination_id,
            channel=account.channel,
            external_id=external,
            name=name,
            handle=handle,
            language=language,
            created_at=at,
        )
        session.add(contact)
        await session.flush()
        conversation = Conversation(
            destination_id=destination_id,
            account_id=account.id,
            contact_id=contact.id or 0,
            office_id=office_id,
            channel=account.channel,
            thread_key=f"demo-evening-{stamp}-{minutes}",
            subject=subject,
            status=ConversationStatus.OPEN,
            unread=1,
            created_at=at,
            last_message_at=at,
            waiting_since=at,
            preview=text[:200],
        )
        session.add(conversation)
        await session.flush()
        session.add(
            Message(
                conversation_id=conversation.id or 0,
                account_id=account.id,
                direction=Direction.IN,
                author_kind=AuthorKind.VISITOR,
                external_id=f"demo-evening-{stamp}-{minutes}:1",
                text=text,
                created_at=at,
            )
        )
        session.add(
            ResponseTurn(
                conversation_id=conversation.id or 0,
                account_id=account.id,
                channel=account.channel,
                office_on_duty_id=office_id,
                first=True,
                started_at=at,
                hour_of_week=hour_of_week(at, timezone),
                local_day=local_day(at, timezone),
            )
        )
        written += 1
    return written


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


async def _conversation(
    session: AsyncSession,
    rng: random.Random,
    destination_id: int,
    timezone: str,
    account: Account,
    at: datetime,
    now: datetime,
    schedule: Schedule | None,
    office_ids: dict[str, int | None],
    office_advisers: dict[int, list[User]],
) -> int:
    language = rng.choices(list(QUESTIONS), weights=[5, 3, 1, 1, 1])[0]
    route = schedule.route(account.key, at) if schedule else None
    office_id = account.office_id
    start_answering = at
    if route is not None:
        slug = route.office or route.next_office
        office_id = office_ids.get(slug or "") or account.office_id
        if route.office is None:
            start_answering = route.next_at or at + timedelta(hours=10)
    delay = rng.lognormvariate(math.log(TYPICAL_DELAY[account.channel]), 0.8)
    answered = start_answering + timedelta(seconds=delay)
    staff = office_advisers.get(office_id, [])
    if answered >= now or not staff:
        # Still waiting at ``now``: the history is what was answered; what waits now is the
        # evening's own handful, not a random backlog.
        return 0
    visitor_id = f"demo-{rng.getrandbits(48):012x}"
    contact = Contact(
        destination_id=destination_id,
        channel=account.channel,
        external_id=visitor_id,
        name=rng.choice(["Ana", "Tom", "Lena", "Marc", "Julia", "Pieter", "Sofía", "Hugo"]),
        language=language,
        created_at=at,
    )
    session.add(contact)
    await session.flush()
    adviser = rng.choice(staff)
    question = rng.choice(QUESTIONS[language])
    conversation = Conversation(
        destination_id=destination_id,
        account_id=account.id or 0,
        contact_id=contact.id or 0,
        office_id=office_id,
        assignee_id=adviser.id,
        channel=account.channel,
        thread_key=visitor_id,
        subject=question if account.channel == "email" else "",
        status=ConversationStatus.RESOLVED,
        unread=0,
        created_at=at,
        last_message_at=answered,
        waiting_since=None,
        preview=question,
    )
    session.add(conversation)
    await session.flush()
    session.add(
        Message(
            conversation_id=conversation.id or 0,
            account_id=account.id or 0,
            direction=Direction.IN,
            author_kind=AuthorKind.VISITOR,
            external_id=f"{visitor_id}:1",
            text=question,
            created_at=at,
        )
    )
    session.add(
        Message(
            conversation_id=conversation.id or 0,
            account_id=account.id or 0,
            direction=Direction.OUT,
            author_kind=AuthorKind.ADVISER,
            author_user_id=adviser.id,
            text=ANSWERS.get(language, ANSWERS["en"]),
            created_at=answered,
            delivery_status=DeliveryStatus.SENT,
        )
    )
    turn = ResponseTurn(
        conversation_id=conversation.id or 0,
        account_id=account.id or 0,
        channel=account.channel,
        office_on_duty_id=office_id,
        first=True,
        started_at=at,
        hour_of_week=hour_of_week(at, timezone),
        local_day=local_day(at, timezone),
        answered_at=answered,
        responder_id=adviser.id,
        responder_office_id=adviser.office_id,
        wall_seconds=(answered - at).total_seconds(),
        duty_seconds=duty_seconds(schedule, account.key, at, answered),
    )
    session.add(turn)
    return 1
