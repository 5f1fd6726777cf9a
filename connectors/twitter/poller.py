"""Reading the mentions timeline and the DM events into the sink, cursor after ingest.

Mentions: ``since_id`` = the newest id stored, pages followed through ``next_token`` until
they run out, then delivered oldest first. DM events have no ``since_id``: they come newest
first and are paged until the last event id stored shows up; the first page is a probe of one
event (reads are paid per item, and in the usual poll that one is the event we already have).

What was read but not yet stored is kept in memory: after an inbox failure it is stored on the
next poll without reading it again, and after a failure in the middle of paging the next poll
continues from the page token it had reached. The cursor moves past an item only once
``sink.ingest`` returned for it (and for everything older in the batch).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base import CursorStore, InboundMessage, InboundSink, StatusNote
from connectors.twitter.api import Answer, ApiError, Failure, RateLimit
from connectors.twitter.config import XAccountConfig
from connectors.twitter.mapping import (
    MalformedPage,
    Page,
    direct_message,
    is_retweet,
    item_id,
    mention,
    page,
)

log = logging.getLogger(__name__)

USER_FIELDS = ["username", "name", "verified", "verified_type", "public_metrics",
               "profile_image_url"]  # fmt: skip
MEDIA_FIELDS = ["url", "preview_image_url", "type", "alt_text", "width", "height", "variants"]
MENTION_PARAMS: dict[str, Any] = {
    "expansions": [
        "author_id",
        "referenced_tweets.id",
        "in_reply_to_user_id",
        "referenced_tweets.id.author_id",
        "attachments.media_keys",
    ],
    "tweet_fields": [
        "author_id",
        "conversation_id",
        "created_at",
        "in_reply_to_user_id",
        "referenced_tweets",
        "lang",
        "entities",
        "note_tweet",
        "withheld",
        "attachments",
    ],
    "user_fields": USER_FIELDS,
    "media_fields": MEDIA_FIELDS,
}
DM_PARAMS: dict[str, Any] = {
    "event_types": "MessageCreate",
    "dm_event_fields": [
        "id",
        "text",
        "event_type",
        "created_at",
        "sender_id",
        "dm_conversation_id",
        "attachments",
        "referenced_tweets",
    ],
    "expansions": ["sender_id", "attachments.media_keys", "referenced_tweets.id"],
    "user_fields": USER_FIELDS,
    "media_fields": MEDIA_FIELDS,
    "tweet_fields": ["author_id", "created_at", "lang", "entities", "note_tweet", "withheld"],
}
PAGE_SIZE = 100
DM_PROBE = 1
MAX_PAGES = 20  # the mentions timeline holds the newest 800 anyway

Fetch = Callable[..., Awaitable[Answer]]


@dataclass(slots=True)
class Paging:
    """How far a read got before it failed: resumed from ``token`` on the next poll."""

    start: str | None  # the cursor it started from
    token: str
    items: dict[int, dict[str, Any]]
    context: Page


@dataclass(slots=True)
class Timeline:
    """One polled endpoint: its cursor, what was read but not stored yet, its schedule."""

    name: str
    cursor_key: str
    due: float = 0.0  # epoch seconds of its next poll
    failures: int = 0
    state: str = "starting"  # polling | rate_limited | error | off
    detail: str = ""
    note: StatusNote | None = None  # ``detail``, coded for the accounts page
    backlog: list[tuple[int, InboundMessage | None]] = field(default_factory=list)
    paging: Paging | None = None


def _merge(into: Page, other: Page) -> None:
    into.users.update(other.users)
    into.tweets.update(other.tweets)
    into.media.update(other.media)
    into.errors.extend(other.errors)


class Poller:
    def __init__(
        self,
        config: XAccountConfig,
        *,
        fetch_mentions: Fetch,
        fetch_dms: Fetch,
        count: Callable[[str, int], None],
        received: Callable[[], None],
        now: Callable[[], datetime],
    ) -> None:
        self.config = config
        self._now = now  # when an item was read: its arrival time
        self._fetch_mentions = fetch_mentions
        self._fetch_dms = fetch_dms
        self._count = count
        self._received = received

    async def drain(self, timeline: Timeline, sink: InboundSink, cursors: CursorStore) -> None:
        """Stores the backlog oldest first, moving the cursor behind each stored item."""
        while timeline.backlog:
            number, message = timeline.backlog[0]
            if message is not None:
                await sink.ingest(message)
                self._received()
            await cursors.set(timeline.cursor_key, str(number))
            timeline.backlog.pop(0)

    async def _pages(
        self,
        timeline: Timeline,
        start: str | None,
        fetch: Fetch,
        sizes: Callable[[int], int],
        enough: Callable[[dict[int, dict[str, Any]], Page], bool],
    ) -> tuple[dict[int, dict[str, Any]], Page, RateLimit]:
        resume = timeline.paging if timeline.paging and timeline.paging.start == start else None
        timeline.paging = None
        items = resume.items if resume else {}
        context = resume.context if resume else Page(items=[])
        token = resume.token if resume else None
        limits = RateLimit(None, None, None)
        for number in range(MAX_PAGES):
            try:
                answer = await fetch(pagination_token=token, max_results=sizes(number))
                one = page(answer.body)
            except (ApiError, MalformedPage) as exc:
                # Resume from the token next time, unless X refused it (a stale token: 400).
                if token and not (isinstance(exc, ApiError) and exc.failure == Failure.REFUSED):
                    timeline.paging = Paging(start, token, items, context)
                if isinstance(exc, MalformedPage):
                    raise ApiError(Failure.MALFORMED, str(exc)) from exc
                raise
            limits = answer.limits
            self._count("items_today", len(one.items))
            _merge(context, one)
            for item in one.items:
                items[item_id(item)] = item
            token = one.next_token
            if token is None or enough(items, one):
                break
        else:
            log.warning("%s: stopped after %d pages", timeline.name, MAX_PAGES)
        return items, context, limits

    async def mentions(
        self, timeline: Timeline, sink: InboundSink, cursors: CursorStore
    ) -> RateLimit:
        await self.drain(timeline, sink, cursors)
        since = await cursors.get(timeline.cursor_key)
        backfill = self.config.backfill
        first_size = PAGE_SIZE if since else min(PAGE_SIZE, max(5, backfill))

        async def fetch(**paging: Any) -> Answer:
            return await self._fetch_mentions(since_id=since, **paging)

        items, context, limits = await self._pages(
            timeline,
            since,
            fetch,
            lambda n: first_size if n == 0 else PAGE_SIZE,
            lambda got, _: since is None and len(got) >= backfill,
        )
        numbers = sorted(items)
        keep = set(numbers if since else numbers[len(numbers) - backfill :] if backfill else [])
        for number in numbers:
            tweet = items[number]
            wanted = (
                number in keep
                and not is_retweet(tweet)
                and str(tweet.get("author_id")) != self.config.user_id
            )
            if not wanted:
                self._count("skipped", 1)
            message = mention(tweet, context, self.config.account, self._now()) if wanted else None
            timeline.backlog.append((number, message))
        await self.drain(timeline, sink, cursors)
        return limits

    async def direct_messages(
        self, timeline: Timeline, sink: InboundSink, cursors: CursorStore
    ) -> RateLimit:
        await self.drain(timeline, sink, cursors)
        last = await cursors.get(timeline.cursor_key)
        last_number = int(last) if last and last.isdigit() else None
        backfill = self.config.backfill
        first_size = DM_PROBE if last_number is not None else min(PAGE_SIZE, max(1, backfill))

        def reached(got: dict[int, dict[str, Any]], one: Page) -> bool:
            if last_number is None:
                return len(got) >= backfill
            return any(item_id(event) <= last_number for event in one.items)

        items, context, limits = await self._pages(
            timeline,
            last,
            self._fetch_dms,
            lambda n: first_size if n == 0 else PAGE_SIZE,
            reached,
        )
        numbers = sorted(n for n in items if last_number is None or n > last_number)
        if last_number is None:
            keep = set(numbers[len(numbers) - backfill :] if backfill else [])
        else:
            keep = set(numbers)
        for number in numbers:
            event = items[number]
            wanted = (
                number in keep
                and str(event.get("sender_id")) != self.config.user_id  # our own replies
                and event.get("event_type", "MessageCreate") == "MessageCreate"
            )
            if not wanted:
                self._count("skipped", 1)
            message = (
                direct_message(event, context, self.config.account, self._now()) if wanted else None
            )
            timeline.backlog.append((number, message))
        await self.drain(timeline, sink, cursors)
        return limits
