"""X API v2 JSON → InboundMessage. Tolerant: missing expansions, deleted or withheld tweets and
unknown fields never break a page; what cannot be read is skipped with a reason."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from connectors.base import Author, Channel, InboundMessage

log = logging.getLogger(__name__)


class MalformedResponse(ValueError):
    """The API answered something that is not the JSON it documents."""


def page(body: Any) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any]]:
    """(items, users by id, meta) of one page; an empty page has no ``data`` key at all."""
    if not isinstance(body, dict):
        raise MalformedResponse("the response is not a JSON object")
    data = body.get("data", [])
    if not isinstance(data, list):
        raise MalformedResponse("'data' is not a list")
    raw_includes = body.get("includes")
    includes: dict[str, Any] = raw_includes if isinstance(raw_includes, dict) else {}
    users = {str(u.get("id")): u for u in includes.get("users", []) if isinstance(u, dict)}
    raw_meta = body.get("meta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    for error in body.get("errors", []) if isinstance(body.get("errors"), list) else []:
        # Deleted, withheld or suspended items come as errors beside the data.
        log.info("X API partial error: %s", str(error)[:200])
    return [item for item in data if isinstance(item, dict) and item.get("id")], users, meta


def _when(value: object) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.utcoffset() is not None:
                return parsed
        except ValueError:
            pass
    return datetime.now(UTC)


def _author(user_id: str, users: dict[str, dict[str, Any]]) -> Author:
    user = users.get(user_id, {})
    return Author(
        external_id=user_id or "unknown",
        name=str(user.get("name", ""))[:200],
        handle=f"@{user['username']}" if user.get("username") else "",
    )


def mention(
    tweet: dict[str, Any], users: dict[str, dict[str, Any]], account: str
) -> InboundMessage:
    tweet_id = str(tweet["id"])
    conversation = str(tweet.get("conversation_id") or tweet_id)
    replied_to = [
        str(ref.get("id"))
        for ref in tweet.get("referenced_tweets", []) or []
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id")
    ]
    quoted = [
        str(ref.get("id"))
        for ref in tweet.get("referenced_tweets", []) or []
        if isinstance(ref, dict) and ref.get("type") == "quoted" and ref.get("id")
    ]
    metadata = {
        "tweet_id": tweet_id,
        "conversation_id": conversation,
        "lang": str(tweet.get("lang", "")),
    }
    if quoted:
        metadata["quoted_tweet_id"] = quoted[0]
    return InboundMessage(
        channel=Channel.TWITTER,
        account=account,
        external_id=tweet_id,
        thread_key=f"conv:{conversation}",
        author=_author(str(tweet.get("author_id", "")), users),
        text=str(tweet.get("text", "")) or "(no text)",
        received_at=_when(tweet.get("created_at")),
        references=tuple(replied_to),
        metadata=metadata,
    )


def direct_message(
    event: dict[str, Any], users: dict[str, dict[str, Any]], account: str
) -> InboundMessage:
    sender = str(event.get("sender_id", ""))
    return InboundMessage(
        channel=Channel.TWITTER,
        account=account,
        external_id=f"dm:{event['id']}",
        thread_key=f"dm:{sender}",
        author=_author(sender, users),
        text=str(event.get("text", "")) or "(no text)",
        received_at=_when(event.get("created_at")),
        metadata={"dm_event_id": str(event["id"])},
    )
