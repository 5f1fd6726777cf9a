"""XConnector: mentions and direct messages polled into the app, replies posted back.

The cursors (the newest mention id, the newest DM event id) advance only after the sink holds
each message, oldest first; what is already stored is never read again (reads are paid per
item). The poll interval follows the rate-limit headers; a 429 waits for the reset time; server
and network errors back off exponentially with jitter; revoked credentials wait long, with a
clear status. Nothing here raises out of ``run`` but cancellation.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from connectors.base import (
    Channel,
    ConnectorStatus,
    CursorStore,
    DeliveryResult,
    InboundSink,
    OutboundMessage,
)
from connectors.twitter.api import make_client, rate_limit
from connectors.twitter.config import XAccountConfig
from connectors.twitter.mapping import MalformedResponse, direct_message, mention, page
from connectors.twitter.text import LIMIT, split_thread, weighted_length

log = logging.getLogger(__name__)

MENTION_PARAMS: dict[str, Any] = {
    "max_results": 100,
    "expansions": ["author_id", "referenced_tweets.id", "in_reply_to_user_id"],
    "tweet_fields": [
        "conversation_id",
        "created_at",
        "in_reply_to_user_id",
        "referenced_tweets",
        "lang",
    ],
    "user_fields": ["username", "name"],
}
DM_PARAMS: dict[str, Any] = {
    "max_results": 100,
    "event_types": "MessageCreate",
    "dm_event_fields": [
        "id",
        "text",
        "event_type",
        "created_at",
        "sender_id",
        "dm_conversation_id",
    ],
    "expansions": ["sender_id"],
    "user_fields": ["username", "name"],
}
MAX_PAGES = 50


class RateLimited(Exception):
    def __init__(self, reset: float) -> None:
        super().__init__(reset)
        self.reset = reset


class XConnector:
    channel = Channel.TWITTER

    def __init__(
        self,
        config: XAccountConfig,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.account = config.account
        self.status = ConnectorStatus()
        self._client = make_client(config)
        self._sleep = sleep
        self._clock = clock
        self._failures = 0
        self._day = ""
        self.next_delay = config.poll_interval

    def __repr__(self) -> str:
        return f"XConnector(account={self.account!r}, handle={self.config.handle!r})"

    # ---- receiving -------------------------------------------------------------
    async def run(self, sink: InboundSink, cursors: CursorStore) -> None:
        while True:
            self.next_delay = await self.poll_once(sink, cursors)
            await self._sleep(self.next_delay)

    async def poll_once(self, sink: InboundSink, cursors: CursorStore) -> float:
        """One round of polling; returns how long to wait before the next one."""
        try:
            remaining, reset = await self._poll_mentions(sink, cursors)
            if self.config.direct_messages:
                remaining_dm, reset_dm = await self._poll_dms(sink, cursors)
                if remaining_dm is not None and (remaining is None or remaining_dm < remaining):
                    remaining, reset = remaining_dm, reset_dm
        except RateLimited as exc:
            until = datetime.fromtimestamp(exc.reset, UTC)
            self._set("rate_limited", f"rate-limited until {until:%H:%M} UTC", error=True)
            return max(1.0, exc.reset - self._clock())
        except (tweepy.Unauthorized, tweepy.Forbidden):
            self._set(
                "error",
                "credentials revoked or not allowed: check the account's tokens",
                error=True,
            )
            return self.config.max_backoff
        except (
            tweepy.TwitterServerError,
            requests.RequestException,
            MalformedResponse,
            tweepy.HTTPException,
        ) as exc:
            self._failures += 1
            delay = min(
                self.config.max_backoff, self.config.poll_interval * 2 ** min(self._failures, 10)
            )
            self._set("error", f"X API unavailable ({type(exc).__name__}); retrying", error=True)
            return random.uniform(delay / 2, delay)  # noqa: S311 - jitter, not crypto
        self._failures = 0
        self._set("polling", f"polling every {self.config.poll_interval:g} s")
        if remaining == 0 and reset is not None:
            return max(self.config.poll_interval, reset - self._clock())
        return self.config.poll_interval

    async def _call(
        self, method: Callable[..., requests.Response], *args: Any, **kwargs: Any
    ) -> Any:
        self._count("requests_today")
        try:
            response = await asyncio.to_thread(method, *args, **kwargs)
        except tweepy.TooManyRequests as exc:
            reset = getattr(exc, "reset_time", None) or rate_limit(exc.response)[1]
            raise RateLimited(float(reset or self._clock() + 900)) from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise MalformedResponse("the response is not JSON") from exc
        return body, rate_limit(response)

    async def _poll_mentions(
        self, sink: InboundSink, cursors: CursorStore
    ) -> tuple[int | None, int | None]:
        since = await cursors.get("since_id")
        params = dict(MENTION_PARAMS)
        if since:
            params["since_id"] = since
        collected: dict[str, Any] = {}
        users: dict[str, dict[str, Any]] = {}
        limits: tuple[int | None, int | None] = (None, None)
        token = None
        for _ in range(MAX_PAGES):
            if token:
                params["pagination_token"] = token
            body, limits = await self._call(
                self._client.get_users_mentions, self.config.user_id, **params
            )
            items, page_users, meta = page(body)
            users.update(page_users)
            for tweet in items:
                collected[str(tweet["id"])] = tweet
            token = meta.get("next_token")
            if not token:
                break
        self._count("items_today", len(collected))
        for tweet_id in sorted(collected, key=int):  # oldest first: the cursor only moves forward
            await sink.ingest(mention(collected[tweet_id], users, self.account))
            await cursors.set("since_id", tweet_id)
            self._received()
        return limits

    async def _poll_dms(
        self, sink: InboundSink, cursors: CursorStore
    ) -> tuple[int | None, int | None]:
        last = await cursors.get("dm_last_id")
        params = dict(DM_PARAMS)
        collected: dict[str, Any] = {}
        users: dict[str, dict[str, Any]] = {}
        limits: tuple[int | None, int | None] = (None, None)
        token = None
        reached = False
        for _ in range(MAX_PAGES):  # newest first, no since_id: page until the last one we have
            if token:
                params["pagination_token"] = token
            body, limits = await self._call(
                self._client.get_direct_message_events, user_auth=self._user_auth, **params
            )
            items, page_users, meta = page(body)
            users.update(page_users)
            for event in items:
                if last is not None and int(event["id"]) <= int(last):
                    reached = True
                    break
                collected[str(event["id"])] = event
            token = meta.get("next_token")
            if reached or not token:
                break
        self._count("items_today", len(collected))
        for event_id in sorted(collected, key=int):
            event = collected[event_id]
            if (
                str(event.get("sender_id", "")) != self.config.user_id
                and event.get("event_type", "MessageCreate") == "MessageCreate"
            ):
                await sink.ingest(direct_message(event, users, self.account))
                self._received()
            await cursors.set("dm_last_id", event_id)
        return limits

    # ---- sending -----------------------------------------------------------------
    @property
    def _user_auth(self) -> bool:
        return bool(self.config.consumer_key.get_secret_value())

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        length = weighted_length(message.text)
        if message.thread_key.startswith("dm:"):
            return await self._post_dm(message.thread_key[3:], message.text)
        if length > LIMIT and message.metadata.get("split") != "1":
            return DeliveryResult(
                ok=False,
                error=f"too long for X: {length}/{LIMIT} characters (shorten it, or post a thread)",
                retryable=False,
            )
        parts = split_thread(message.text) if length > LIMIT else [message.text]
        posted: list[str] = []
        reply_to = message.reply_to_external_id or None
        for part in parts:
            result = await self._post(
                self._client.create_tweet,
                text=part,
                in_reply_to_tweet_id=reply_to,
                user_auth=self._user_auth,
            )
            if isinstance(result, DeliveryResult):
                if posted:  # the first parts are out: say so, never post them twice
                    return DeliveryResult(
                        False,
                        tuple(posted),
                        f"thread cut after {len(posted)} parts: {result.error}",
                    )
                return result
            reply_to = str(result.get("data", {}).get("id", ""))
            posted.append(reply_to)
        self._count("sent")
        return DeliveryResult(ok=True, external_ids=tuple(posted))

    async def _post_dm(self, participant: str, text: str) -> DeliveryResult:
        result = await self._post(
            self._client.create_direct_message,
            participant_id=participant,
            text=text,
            user_auth=self._user_auth,
        )
        if isinstance(result, DeliveryResult):
            return result
        self._count("sent")
        event = str(result.get("data", {}).get("dm_event_id", ""))
        return DeliveryResult(ok=True, external_ids=(f"dm:{event}",) if event else ())

    async def _post(
        self, method: Callable[..., requests.Response], **kwargs: Any
    ) -> dict[str, Any] | DeliveryResult:
        try:
            response = await asyncio.to_thread(method, **kwargs)
            body = response.json()
        except tweepy.TooManyRequests:
            return DeliveryResult(False, error="X rate limit reached: will retry", retryable=True)
        except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
            return DeliveryResult(
                False, error=f"refused by X ({exc.response.status_code}): {_reason(exc)}"
            )
        except tweepy.TwitterServerError:
            return DeliveryResult(False, error="X is unavailable: will retry", retryable=True)
        except tweepy.HTTPException as exc:
            return DeliveryResult(
                False, error=f"refused by X ({exc.response.status_code}): {_reason(exc)}"
            )
        except (requests.RequestException, ValueError) as exc:
            return DeliveryResult(
                False, error=f"could not reach X ({type(exc).__name__}): will retry", retryable=True
            )
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            return DeliveryResult(
                False, error="X answered without the posted item", retryable=False
            )
        return body

    # ---- status ------------------------------------------------------------------
    def _set(self, state: str, detail: str, *, error: bool = False) -> None:
        self.status.state = state
        self.status.detail = detail
        if error:
            self.status.last_error_at = datetime.now(UTC)

    def _received(self) -> None:
        self.status.last_message_at = datetime.now(UTC)
        self._count("received")

    def _count(self, name: str, amount: int = 1) -> None:
        today = datetime.fromtimestamp(self._clock(), UTC).date().isoformat()
        if today != self._day:  # requests and items read are counted per UTC day
            self._day = today
            self.status.counters["requests_today"] = 0
            self.status.counters["items_today"] = 0
        self.status.counters[name] = self.status.counters.get(name, 0) + amount


def _reason(exc: tweepy.HTTPException) -> str:
    messages = list(getattr(exc, "api_messages", []) or []) + list(
        getattr(exc, "api_errors", []) or []
    )
    return "; ".join(str(m)[:200] for m in messages)[:300] or "no reason given"
