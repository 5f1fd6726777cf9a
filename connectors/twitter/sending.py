"""Posting an adviser's reply: a reply tweet, a numbered thread, or a direct message.

Failures come back as a readable :class:`DeliveryResult`: retryable for 429, 5xx and network
errors (X refuses duplicate content, so a retry of a post that did go out fails safely), not
for other 4xx, nor for a thread cut in the middle (its first parts are out: never again).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import tweepy

from connectors.base import DeliveryResult, OutboundMessage
from connectors.twitter.api import Answer, ApiError, Failure
from connectors.twitter.text import LIMIT, split_thread, weighted_length

DM_LIMIT = 10_000  # characters in one direct message

Request = Callable[..., Awaitable[Answer]]


def describe(exc: ApiError) -> str:
    if exc.failure == Failure.RATE_LIMITED:
        if exc.limits.reset:
            until = datetime.fromtimestamp(exc.limits.reset, UTC)
            return f"X rate limit reached until {until:%H:%M} UTC"
        return "X rate limit reached"
    if exc.failure in (Failure.AUTH, Failure.REFUSED):
        return f"refused by X ({exc.status}): {exc.reason}"
    if exc.failure == Failure.MALFORMED:
        return f"X's answer could not be read ({exc.reason})"
    return f"X unavailable ({exc.reason})"


def _failed(
    reason: str, error: str, *, retryable: bool = False, posted: tuple[str, ...] = (), **params: str
) -> DeliveryResult:
    # The code is x.<reason>, spelt out only here: tests/app/test_i18n.py takes every "x.…"
    # literal of this package for a connector status code (connector.x.*), and these are
    # delivery codes (delivery.x.*, checked by tests/app/test_delivery_codes.py).
    code = f"x.{reason}"
    return DeliveryResult.failed(code, error, retryable=retryable, external_ids=posted, **params)


def refused(exc: ApiError) -> DeliveryResult:
    """The failure of a request X did not accept (nothing of it was posted)."""
    retryable = exc.retryable and exc.failure != Failure.MALFORMED
    error = describe(exc)
    if exc.failure == Failure.RATE_LIMITED:
        if exc.limits.reset:
            until = datetime.fromtimestamp(exc.limits.reset, UTC).isoformat()
            return _failed("rate_limited", error, retryable=retryable, until=until)
        return _failed("rate_limited_no_time", error, retryable=retryable)
    status = str(exc.status or "")
    # A 403 on a post is as often X refusing its content (a duplicate) as the account's tokens:
    # one code, and X's own words say which.
    if exc.failure in (Failure.AUTH, Failure.REFUSED):
        return _failed("refused", error, retryable=retryable, status=status, detail=exc.reason)
    if exc.failure == Failure.MALFORMED:
        return _failed("malformed", error, retryable=retryable, detail=exc.reason)
    return _failed("unavailable", error, retryable=retryable, detail=exc.reason)


class Sender:
    def __init__(
        self,
        client: tweepy.Client,
        *,
        user_auth: bool,
        request: Request,
        count: Callable[[str, int], None],
    ) -> None:
        self._client = client
        self._user_auth = user_auth
        self._request = request
        self._count = count

    async def like(self, user_id: str, tweet_id: str, on: bool) -> DeliveryResult:
        """Likes (``on``) or unlikes a tweet as the account ``user_id``."""
        if not tweet_id.isdigit():
            return _failed("not_a_tweet", f"not a tweet id: {tweet_id[:40]!r}")
        # tweepy's like() would first ask X who the token belongs to: the account's id is known.
        if on:
            route = f"/2/users/{user_id}/likes"
            call = partial(self._client.request, "POST", route, json={"tweet_id": tweet_id})
        else:
            call = partial(self._client.request, "DELETE", f"/2/users/{user_id}/likes/{tweet_id}")
        try:
            await self._post(call)
        except ApiError as exc:
            return refused(exc)
        return DeliveryResult(True)

    async def hide(self, tweet_id: str, hidden: bool) -> DeliveryResult:
        """Hides (or shows again) a reply in a conversation the account started."""
        if not tweet_id.isdigit():
            return _failed("not_a_tweet", f"not a tweet id: {tweet_id[:40]!r}")
        route = f"/2/tweets/{tweet_id}/hidden"
        call = partial(self._client.request, "PUT", route, json={"hidden": hidden})
        try:
            await self._post(call)
        except ApiError as exc:
            return refused(exc)
        return DeliveryResult(True)

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if not message.text.strip():
            return DeliveryResult.failed("empty", "an empty reply cannot be posted")
        if message.thread_key.startswith("dm:"):
            # "dm:<user id>", or "dm:<user id>#<n>" for an older DM conversation with the same
            # person after another one moved to DM (app.x_actions): the same participant.
            participant = message.thread_key[3:].split("#", 1)[0]
            return await self._direct_message(participant, message.text)
        return await self._tweets(message)

    async def _post(self, method: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
        answer = await self._request(method, user_auth=self._user_auth, **kwargs)
        data = answer.body.get("data")
        if not isinstance(data, dict):
            raise ApiError(Failure.MALFORMED, "no 'data' in X's answer")
        return data

    async def _direct_message(self, participant: str, text: str) -> DeliveryResult:
        if not participant.isdigit():
            return _failed(
                "not_a_user", f"not an X user id: {participant[:40]!r}", user=participant[:40]
            )
        if len(text) > DM_LIMIT:
            return _failed(
                "dm_too_long",
                f"too long for a DM: {len(text)}/{DM_LIMIT}",
                count=str(len(text)),
                limit=str(DM_LIMIT),
            )
        try:
            data = await self._post(
                self._client.create_direct_message, participant_id=participant, text=text
            )
        except ApiError as exc:
            return refused(exc)
        self._count("sent", 1)
        event = str(data.get("dm_event_id") or "")
        return DeliveryResult(True, external_ids=(f"dm:{event}",) if event else ())

    async def _tweets(self, message: OutboundMessage) -> DeliveryResult:
        length = weighted_length(message.text)
        if length > LIMIT and message.metadata.get("split") != "1":
            return _failed(
                "too_long",
                f"too long for X: {length}/{LIMIT} characters (shorten it, or post a thread)",
                count=str(length),
                limit=str(LIMIT),
            )
        reply_to = message.reply_to_external_id or None
        if reply_to is None and message.thread_key.startswith("conv:"):
            reply_to = message.thread_key[5:] or None  # the conversation's first tweet
        parts = split_thread(message.text)
        posted: list[str] = []
        for part in parts:
            try:
                data = await self._post(
                    self._client.create_tweet, text=part, in_reply_to_tweet_id=reply_to
                )
            except ApiError as exc:
                if posted:  # the first parts are out: say so, never post them twice
                    return _failed(
                        "thread_cut",
                        f"thread cut after {len(posted)} of {len(parts)} parts: {describe(exc)}",
                        posted=tuple(posted),
                        count=str(len(posted)),
                        total=str(len(parts)),
                        detail=describe(exc),
                    )
                return refused(exc)
            reply_to = str(data.get("id") or "")
            if not reply_to:
                return _failed(
                    "no_id", "X accepted the post but gave no id for it", posted=tuple(posted)
                )
            posted.append(reply_to)
        self._count("sent", len(posted))
        return DeliveryResult(True, external_ids=tuple(posted))
