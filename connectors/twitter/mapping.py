"""X API v2 JSON → InboundMessage. Pure, and tolerant: missing expansions (a suspended or
deleted author, a deleted quoted tweet), withheld tweets, unknown fields and an ``errors``
array beside the data never break a page; an item that cannot be read is skipped (None)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.base import Author, Channel, InboundMessage

log = logging.getLogger(__name__)

TWITTER_EPOCH_MS = 1288834974657  # snowflake ids carry their creation time
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_NOT_A_LANGUAGE = {"und", "zxx", "art"}  # undetermined, no text, constructed


class MalformedPage(ValueError):
    """A 2xx whose body is not the page X documents."""


@dataclass(slots=True)
class Page:
    items: list[dict[str, Any]]
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def next_token(self) -> str | None:
        token = self.meta.get("next_token")
        return token if isinstance(token, str) and token else None


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def page(body: dict[str, Any]) -> Page:
    """One page; an empty page has no ``data`` key at all, only ``meta.result_count: 0``.

    A page that is nothing but ``errors`` (the account itself suspended or not found) is
    refused, so the cursor stays where it is and the status says why.
    """
    if "data" in body and not isinstance(body["data"], list):
        raise MalformedPage("'data' is not a list")
    errors = _dicts(body.get("errors"))
    if "data" not in body and "meta" not in body and errors:
        detail = errors[0].get("detail") or errors[0].get("title") or "error"
        raise MalformedPage(f"X answered only errors: {str(detail)[:200]}")
    for error in errors:  # deleted, withheld or suspended referenced items, beside the data
        log.info("X API partial error: %s", str(error.get("detail") or error)[:200])
    includes = body.get("includes") if isinstance(body.get("includes"), dict) else {}
    assert isinstance(includes, dict)
    meta = body.get("meta")
    return Page(
        items=[i for i in _dicts(body.get("data")) if _snowflake(i.get("id")) is not None],
        users={str(u.get("id")): u for u in _dicts(includes.get("users"))},
        tweets={str(t.get("id")): t for t in _dicts(includes.get("tweets"))},
        meta=meta if isinstance(meta, dict) else {},
        errors=errors,
    )


def _snowflake(value: object) -> int | None:
    if isinstance(value, str) and value.isdigit() and len(value) <= 25:
        return int(value)
    return None


def item_id(item: dict[str, Any]) -> int:
    """The numeric id of an item :func:`page` kept (ids grow with time)."""
    value = _snowflake(item.get("id"))
    assert value is not None
    return value


def _when(value: object, snowflake: int) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.utcoffset() is not None:
            return parsed
    return datetime.fromtimestamp(((snowflake >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


def _author(user_id: str, users: dict[str, dict[str, Any]], fallback: str) -> Author:
    user = users.get(user_id, {})  # absent: suspended, deleted, or the expansion was dropped
    username = user.get("username")
    return Author(
        external_id=user_id or fallback,
        name=str(user.get("name") or "")[:200],
        handle=f"@{username}" if isinstance(username, str) and username else "",
    )


def _language(value: object) -> str:
    if isinstance(value, str) and _LANGUAGE.match(value) and value not in _NOT_A_LANGUAGE:
        return value
    return ""


def _references(tweet: dict[str, Any], kind: str) -> list[str]:
    return [
        str(ref["id"])
        for ref in _dicts(tweet.get("referenced_tweets"))
        if ref.get("type") == kind and _snowflake(ref.get("id")) is not None
    ]


def _text(item: dict[str, Any]) -> str:
    note = item.get("note_tweet")  # a long post: ``text`` holds only its first 280
    if isinstance(note, dict) and isinstance(note.get("text"), str) and note["text"]:
        return str(note["text"])
    text = item.get("text")
    return text if isinstance(text, str) and text else "(no text)"


def is_retweet(tweet: dict[str, Any]) -> bool:
    return bool(_references(tweet, "retweeted"))


def mention(tweet: dict[str, Any], page_: Page, account: str) -> InboundMessage:
    """A mention as an inbound message: one X conversation is one Concierge conversation."""
    tweet_id = str(tweet["id"])
    conversation = str(tweet.get("conversation_id") or tweet_id)
    author_id = str(tweet.get("author_id") or "")
    lang = _language(tweet.get("lang"))
    metadata = {"tweet_id": tweet_id, "conversation_id": conversation, "lang": lang}
    replied_to = _references(tweet, "replied_to")
    if replied_to:
        metadata["in_reply_to_tweet_id"] = replied_to[0]
    if tweet.get("in_reply_to_user_id"):
        metadata["in_reply_to_user_id"] = str(tweet["in_reply_to_user_id"])
    quoted = _references(tweet, "quoted")
    if quoted:
        metadata["quoted_tweet_id"] = quoted[0]
        original = page_.tweets.get(quoted[0])
        if original is None:  # deleted, withheld, or from a protected account
            metadata["quoted_text"] = "(unavailable)"
        else:
            metadata["quoted_text"] = _text(original)[:1000]
            quoted_author = _author(str(original.get("author_id") or ""), page_.users, "")
            if quoted_author.handle:
                metadata["quoted_author"] = quoted_author.handle
    withheld = tweet.get("withheld")
    if isinstance(withheld, dict):
        countries = withheld.get("country_codes")
        codes = ",".join(str(c) for c in countries) if isinstance(countries, list) else ""
        metadata["withheld"] = codes or "yes"
    entities = tweet.get("entities")
    if isinstance(entities, dict):
        links = [str(u.get("expanded_url")) for u in _dicts(entities.get("urls"))]
        if any(links):
            metadata["links"] = " ".join(link for link in links if link and link != "None")
    author = _author(author_id, page_.users, f"unknown:{tweet_id}")
    return InboundMessage(
        channel=Channel.TWITTER,
        account=account,
        external_id=tweet_id,
        thread_key=f"conv:{conversation}",
        author=Author(author.external_id, author.name, author.handle, lang),
        text=_text(tweet),
        received_at=_when(tweet.get("created_at"), item_id(tweet)),
        references=tuple(dict.fromkeys((*replied_to, conversation))) if replied_to else (),
        metadata=metadata,
    )


def direct_message(event: dict[str, Any], page_: Page, account: str) -> InboundMessage:
    """A DM: one Concierge conversation per participant, whatever X's conversation ids."""
    event_id = str(event["id"])
    sender = str(event.get("sender_id") or "")
    metadata = {"dm_event_id": event_id}
    if event.get("dm_conversation_id"):
        metadata["dm_conversation_id"] = str(event["dm_conversation_id"])
    attachments = event.get("attachments")
    if isinstance(attachments, dict) and attachments.get("media_keys"):
        metadata["media_keys"] = ",".join(str(k) for k in attachments["media_keys"])
    return InboundMessage(
        channel=Channel.TWITTER,
        account=account,
        external_id=f"dm:{event_id}",
        thread_key=f"dm:{sender or 'unknown'}",
        author=_author(sender, page_.users, f"unknown:dm:{event_id}"),
        text=_text(event),
        received_at=_when(event.get("created_at"), item_id(event)),
        metadata=metadata,
    )
