"""XConnector: mentions and direct messages polled into the app, replies posted back.

Each timeline (mentions, DMs) keeps its own schedule: the poll interval, stretched when the
``x-rate-limit-*`` headers say the remaining requests would not last until the reset; a 429
waits for the reset time; server and network errors back off exponentially with jitter;
refused credentials are retried after seconds, doubling up to ``auth_max_backoff``. Each
timeline runs in a task of its own. Nothing raises out of ``run`` but cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from connectors.base import (
    Channel,
    ConnectorStatus,
    CursorStore,
    DeliveryResult,
    InboundSink,
    OutboundMessage,
    StatusNote,
)
from connectors.twitter.api import Answer, ApiError, Failure, RateLimit, call, make_client
from connectors.twitter.config import XAccountConfig
from connectors.twitter.poller import DM_PARAMS, MENTION_PARAMS, Poller, Timeline
from connectors.twitter.sending import Sender

log = logging.getLogger(__name__)

MENTIONS = "mentions"
DIRECT_MESSAGES = "direct messages"
DEFAULT_RESET_WAIT = 900.0  # a 429 without a reset header: X's windows are 15 minutes


def _hhmm(epoch: float) -> str:
    return f"{datetime.fromtimestamp(epoch, UTC):%H:%M} UTC"


class XConnector:
    """One X account: ``run(sink, cursors)`` until cancelled, ``send(reply)``, ``status``."""

    channel = Channel.TWITTER

    def __init__(
        self,
        config: XAccountConfig,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.config = config
        self.account = config.account
        self.status = ConnectorStatus()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._day = ""
        self._reader = make_client(config, bearer=config.bearer_token.get_secret_value())
        user = config.user_context
        # Without user credentials, posting tries the app's token and X's refusal is reported.
        writer_bearer = config.oauth2_user_token if user == "oauth2" else config.bearer_token
        self._writer = make_client(config, bearer=writer_bearer.get_secret_value())
        self._user_auth = user == "oauth1"  # tweepy: OAuth 1.0a signs, a bearer is sent as is
        self.timelines = {MENTIONS: Timeline(MENTIONS, "since_id")}
        if config.direct_messages:
            self.timelines[DIRECT_MESSAGES] = Timeline(DIRECT_MESSAGES, "dm_last_id")
            if user is None:
                dms = self.timelines[DIRECT_MESSAGES]
                dms.state, dms.detail = "off", "off: no user credentials (OAuth 1.0a or 2.0)"
                dms.note = StatusNote("x.no_user_credentials", scope=DIRECT_MESSAGES)
                dms.due = float("inf")
        self._poller = Poller(
            config,
            fetch_mentions=self._fetch_mentions,
            fetch_dms=self._fetch_dms,
            count=self._count,
            received=self._received,
            now=lambda: datetime.fromtimestamp(self._clock(), UTC),
        )
        self._sender = Sender(
            self._writer, user_auth=self._user_auth, request=self._request, count=self._count
        )

    def __repr__(self) -> str:
        return f"XConnector(account={self.account!r}, handle={self.config.handle!r})"

    # ---- requests ----------------------------------------------------------------
    async def _request(self, method: Callable[..., Any], **kwargs: Any) -> Answer:
        self._count("requests_today", 1)
        return await call(method, within=self.config.request_timeout, **kwargs)

    async def _fetch_mentions(self, **params: Any) -> Answer:
        params = {k: v for k, v in params.items() if v is not None}
        method = functools.partial(self._reader.get_users_mentions, self.config.user_id)
        return await self._request(method, **MENTION_PARAMS, **params)

    async def _fetch_dms(self, **params: Any) -> Answer:
        params = {k: v for k, v in params.items() if v is not None}
        method = self._writer.get_direct_message_events
        return await self._request(method, user_auth=self._user_auth, **DM_PARAMS, **params)

    async def verify(self) -> str:
        """The @handle the user credentials belong to (GET /2/users/me); raises ApiError."""
        answer = await self._request(self._writer.get_me, user_auth=self._user_auth)
        data = answer.body.get("data")
        return f"@{data.get('username', '')}" if isinstance(data, dict) else ""

    # ---- receiving -------------------------------------------------------------
    async def run(self, sink: InboundSink, cursors: CursorStore) -> None:
        """Each timeline in a task of its own: a hung or failing mentions request never holds
        up direct messages, nor the other way round."""
        tasks = [
            asyncio.create_task(self._run_timeline(t, sink, cursors), name=f"x-{t.name}")
            for t in self.timelines.values()
        ]
        try:
            await asyncio.gather(*tasks)  # the first failure (a bug) ends the account's run
        finally:
            await end_tasks(tasks)
            self.status.state = "stopped"

    async def _run_timeline(
        self, timeline: Timeline, sink: InboundSink, cursors: CursorStore
    ) -> None:
        while timeline.due != float("inf"):  # a timeline that is off never runs
            wait = timeline.due - self._clock()
            if wait > 0:
                await self._sleep(wait)
                continue
            await self._poll(timeline, sink, cursors)
            self._summarise()

    async def poll_once(self, sink: InboundSink, cursors: CursorStore) -> float:
        """Polls every timeline that is due, side by side; returns the seconds until the next
        one is."""
        due = [t for t in self.timelines.values() if t.due <= self._clock()]
        await asyncio.gather(*(self._poll(t, sink, cursors) for t in due))
        self._summarise()
        next_due = min(t.due for t in self.timelines.values())
        if next_due == float("inf"):
            return self.config.max_backoff
        return max(1.0, next_due - self._clock())

    async def _poll(self, timeline: Timeline, sink: InboundSink, cursors: CursorStore) -> None:
        """One read of one timeline, its outcome written into the timeline's schedule."""
        read = self._poller.mentions if timeline.name == MENTIONS else self._poller.direct_messages
        try:
            limits = await read(timeline, sink, cursors)
        except ApiError as exc:
            self._failed(timeline, exc)
        except Exception as exc:  # the inbox: keep what was read, store it next time
            log.warning("%s on %s: the inbox refused: %r", timeline.name, self.account, exc)
            self._back_off(
                timeline,
                f"inbox unavailable ({type(exc).__name__})",
                "x.inbox_unavailable",
                {"error": type(exc).__name__},
            )
        else:
            self._succeeded(timeline, limits)

    def _succeeded(self, timeline: Timeline, limits: RateLimit) -> None:
        now = self._clock()
        timeline.failures = 0
        delay = self.config.poll_interval
        timeline.state, timeline.detail = "polling", f"polling every {delay:g} s"
        timeline.note = StatusNote("x.polling", {"seconds": f"{delay:g}"}, timeline.name)
        if limits.remaining is not None and limits.reset is not None:
            left = max(0.0, limits.reset - now)
            paced = left if limits.remaining <= 0 else left / limits.remaining
            if paced > delay:
                delay = paced
                timeline.detail = (
                    f"polling every {delay:.0f} s to stay within X's rate limit "
                    f"({limits.remaining} requests left until {_hhmm(limits.reset)})"
                )
                timeline.note = StatusNote(
                    "x.paced",
                    {
                        "seconds": f"{delay:.0f}",
                        "left": str(limits.remaining),
                        "until": _hhmm(limits.reset),
                    },
                    timeline.name,
                )
        timeline.due = now + delay

    def _failed(self, timeline: Timeline, exc: ApiError) -> None:
        now = self._clock()
        self.status.last_error_at = datetime.fromtimestamp(now, UTC)
        if exc.failure == Failure.RATE_LIMITED:
            reset = exc.limits.reset or now + DEFAULT_RESET_WAIT
            timeline.state, timeline.detail = "rate_limited", f"rate-limited until {_hhmm(reset)}"
            timeline.note = StatusNote("x.rate_limited", {"until": _hhmm(reset)}, timeline.name)
            timeline.due = max(reset, now + 1)
        elif exc.failure == Failure.AUTH:
            self._auth_refused(timeline, exc)
        elif exc.failure == Failure.REFUSED:
            self._back_off(
                timeline,
                f"X refused the request ({exc.status}): {exc.reason}",
                "x.refused",
                {"status": str(exc.status), "answer": exc.reason},
            )
        else:
            self._back_off(
                timeline,
                f"X API unavailable ({exc.reason})",
                "x.unavailable",
                {"reason": exc.reason},
            )

    def _auth_refused(self, timeline: Timeline, exc: ApiError) -> None:
        """Refused credentials: retried after a few seconds, doubling up to a few minutes, so
        fixed tokens are picked up soon; the status says when the next try is."""
        now = self._clock()
        timeline.failures += 1
        ceiling = min(
            self.config.auth_max_backoff,
            self.config.auth_backoff * 2 ** min(timeline.failures - 1, 16),
        )
        delay = self._jitter(ceiling / 2, ceiling)
        at = now + delay
        timeline.state = "error"
        timeline.detail = (
            f"credentials revoked or not allowed ({exc.status}): check the account's "
            f"tokens and app permissions — X says: {exc.reason}; retrying at {_hhmm(at)}"
        )
        timeline.note = StatusNote(
            "x.credentials_retry",
            {
                "status": str(exc.status),
                "answer": exc.reason,
                "retry": _hhmm(at),
                "at": datetime.fromtimestamp(at, UTC).isoformat(),
            },
            timeline.name,
        )
        timeline.due = at

    def _back_off(self, timeline: Timeline, reason: str, code: str, params: dict[str, str]) -> None:
        now = self._clock()
        self.status.last_error_at = datetime.fromtimestamp(now, UTC)
        timeline.failures += 1
        ceiling = min(
            self.config.max_backoff, self.config.poll_interval * 2 ** min(timeline.failures, 16)
        )
        delay = self._jitter(ceiling / 2, ceiling)
        timeline.state = "error"
        timeline.detail = f"{reason}; retrying at {_hhmm(now + delay)}"
        timeline.note = StatusNote(code, {**params, "retry": _hhmm(now + delay)}, timeline.name)
        timeline.due = now + delay

    def _summarise(self) -> None:
        timelines = list(self.timelines.values())
        states = [t.state for t in timelines]
        for state in ("error", "rate_limited", "polling"):
            if state in states:
                self.status.state = state
                break
        self.status.detail = "; ".join(f"{t.name}: {t.detail}" for t in timelines)
        self.status.notes = [t.note for t in timelines if t.note is not None]

    # ---- sending -----------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> DeliveryResult:
        """A reply tweet (a numbered thread if asked) or a DM; never raises."""
        result = await self._sender.send(message)
        if not result.ok:
            self._count("send_failures", 1)
        return result

    # ---- actions on X ------------------------------------------------------------
    async def like(self, tweet_id: str, on: bool = True) -> DeliveryResult:
        """Likes (or unlikes) a tweet as the account; never raises."""
        return await self._sender.like(self.config.user_id, tweet_id, on)

    async def hide_reply(self, tweet_id: str, hidden: bool = True) -> DeliveryResult:
        """Hides (or shows again) a reply to one of the account's tweets; never raises."""
        return await self._sender.hide(tweet_id, hidden)

    async def receives_dm(self, user_id: str) -> bool | None:
        """Whether the person accepts the account's direct messages (X's ``receives_your_dm``,
        seen with the account's user token); None when X does not say. Never raises."""
        if not user_id.isdigit():
            return None
        method = functools.partial(
            self._writer.get_user, id=user_id, user_fields=["receives_your_dm"]
        )
        try:
            answer = await self._request(method, user_auth=self._user_auth)
        except ApiError:
            return None
        data = answer.body.get("data")
        value = data.get("receives_your_dm") if isinstance(data, dict) else None
        return value if isinstance(value, bool) else None

    # ---- status ------------------------------------------------------------------
    def _received(self) -> None:
        self.status.last_message_at = datetime.fromtimestamp(self._clock(), UTC)
        self._count("received", 1)

    def _count(self, name: str, amount: int) -> None:
        today = datetime.fromtimestamp(self._clock(), UTC).date().isoformat()
        if today != self._day:  # requests and items read are counted per UTC day
            self._day = today
            self.status.counters["requests_today"] = 0
            self.status.counters["items_today"] = 0
        self.status.counters[name] = self.status.counters.get(name, 0) + amount


async def end_tasks(tasks: list[asyncio.Task[None]], resend: float = 0.2) -> None:
    """Cancels ``tasks`` until every one has ended, even while this is cancelled itself.

    One cancellation is not enough: on Python 3.11, ``asyncio.wait_for`` (under redis-py, in
    the inbox a timeline writes to) drops one that lands as a reply arrives, and the timeline
    would then poll on, unseen, after its account was stopped. The caller's own cancellation
    is carried on by its ``finally``."""
    pending = [task for task in tasks if not task.done()]
    while pending:
        for task in pending:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(pending, timeout=resend)
        pending = [task for task in pending if not task.done()]
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.debug("timeline %s had failed", task.get_name(), exc_info=task.exception())
