"""X API v2 JSON → InboundMessage. Pure, and tolerant: missing expansions (a suspended or
deleted author, a deleted quoted tweet), withheld tweets, unknown fields and an ``errors``
array beside the data never break a page; an item that cannot be read is skipped (None)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.base import Attachment, Author, Channel, InboundMessage

log = logging.getLogger(__name__)

TWITTER_EPOCH_MS = 1288834974657  # snowflake ids carry their creation time
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_NOT_A_LANGUAGE = {"und", "zxx", "art"}  # undetermined, no text, constructed
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")
_VERIFIED_TYPES = {"blue", "business", "government"}
# A link X adds for a post's own photo or video (it is shown as an attachment instead).
_MEDIA_LINK = re.compile(r"^https://(?:x|twitter)\.com/\w+/status/\d+/(?:photo|video)/\d+$")
_PHOTO_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
                "webp": "image/webp"}  # fmt: skip


class MalformedPage(ValueError):
    """A 2xx whose body is not the page X documents."""


@dataclass(slots=True)
class Page:
    items: list[dict[str, Any]]
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)  # by media_key
    meta: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def missing(self, resource_id: str) -> bool:
        """X said this item could not be given (deleted, withheld, protected, suspended)."""
        return any(str(e.get("resource_id") or e.get("value")) == resource_id for e in self.errors)

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
        media={str(m.get("media_key")): m for m in _dicts(includes.get("media"))},
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
        profile=profile(user),
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
    return text if isinstance(text, str) and text else ""


def unescape(text: str) -> str:
    """A tweet's text as typed: X sends ``&``, ``<`` and ``>`` HTML-escaped (only those)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def tweet_url(tweet_id: str, username: str = "") -> str:
    """The tweet on X; without its author's username, X's own redirect by id."""
    if username and _USERNAME.match(username):
        return f"https://x.com/{username}/status/{tweet_id}"
    return f"https://x.com/i/web/status/{tweet_id}"


def profile(user: dict[str, Any]) -> dict[str, str]:
    """What the conversation header shows of an X user (strings only; {} when unknown)."""
    username = user.get("username")
    if not isinstance(username, str) or not _USERNAME.match(username):
        return {}
    metrics = user.get("public_metrics")
    followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
    verified = user.get("verified") is True or user.get("verified_type") in _VERIFIED_TYPES
    return {
        "name": str(user.get("name") or "")[:200],
        "username": username,
        "verified": "1" if verified else "",
        "followers": str(followers) if isinstance(followers, int) and followers >= 0 else "",
        "url": f"https://x.com/{username}",
    }


def _entities(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The URL entities of the text shown: a long post's own when it is a note tweet."""
    note = item.get("note_tweet")
    holder = note if isinstance(note, dict) and note.get("text") else item
    entities = holder.get("entities")
    return _dicts(entities.get("urls")) if isinstance(entities, dict) else []


def _is_media_link(entity: dict[str, Any]) -> bool:
    expanded = str(entity.get("expanded_url") or "")
    return bool(entity.get("media_key")) or bool(_MEDIA_LINK.match(expanded))


def expand(text: str, urls: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """The text with each t.co link replaced by the address it stands for, and those links;
    links to the post's own photos and videos are dropped (they are attachments)."""
    links: list[dict[str, str]] = []
    for entity in urls:
        short = entity.get("url")
        if not isinstance(short, str) or not short.startswith("https://t.co/"):
            continue
        # Whole links only: https://t.co/abc must not eat into https://t.co/abcd.
        whole = re.compile(re.escape(short) + r"(?![A-Za-z0-9])")
        if _is_media_link(entity):
            text = "".join(whole.split(text))
            continue
        expanded = entity.get("unwound_url") or entity.get("expanded_url")
        if not isinstance(expanded, str) or not expanded.startswith(("http://", "https://")):
            continue
        display = entity.get("display_url")
        links.append(
            {
                "url": short,
                "expanded": expanded,
                "display": display if isinstance(display, str) else expanded,
            }
        )
        # str.replace semantics (no backslash escapes in ``expanded``), whole links only.
        text = expanded.join(whole.split(text))
    # A removed media link leaves the space before it: trim what ends the text.
    return re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE).strip(), links


def quoted_tweet(quoted_id: str, page_: Page) -> dict[str, Any]:
    """The quoted tweet, or only its id when X cannot give it (deleted, withheld, protected)."""
    original = page_.tweets.get(quoted_id)
    if original is None or isinstance(original.get("withheld"), dict) or page_.missing(quoted_id):
        return {"id": quoted_id, "unavailable": True}
    author_id = str(original.get("author_id") or "")
    user = page_.users.get(author_id, {}) if not page_.missing(author_id) else {}
    username = user.get("username") if isinstance(user.get("username"), str) else ""
    text, _ = expand(unescape(_text(original)), _entities(original))
    return {
        "id": quoted_id,
        "url": tweet_url(quoted_id, str(username)),
        "text": text[:1000],
        "author": f"@{username}" if username else "",
    }


def _media(item: dict[str, Any], page_: Page) -> tuple[Attachment, ...]:
    """The post's photos, videos and GIFs, listed with where they can be seen on X."""
    attachments = item.get("attachments")
    keys = attachments.get("media_keys") if isinstance(attachments, dict) else None
    out: list[Attachment] = []
    for key in keys if isinstance(keys, list) else []:
        media = page_.media.get(str(key))
        if media is None:  # deleted since, or the expansion was not given
            continue
        kind = str(media.get("type") or "photo")
        url = str(media.get("url") or "")
        content_type = _PHOTO_TYPES.get(url.rsplit(".", 1)[-1].lower(), "image/jpeg")
        if kind in ("video", "animated_gif"):
            video = _best_video(media)
            url, content_type = (video, "video/mp4") if video else ("", content_type)
        url = url or str(media.get("preview_image_url") or "")
        if not url.startswith("https://"):
            continue
        name = url.rsplit("/", 1)[-1].split("?", 1)[0] or f"{kind}-{key}"
        out.append(Attachment(name[:200], content_type, 0, None, url))
    return tuple(out)


def _best_video(media: dict[str, Any]) -> str:
    variants = [
        v
        for v in _dicts(media.get("variants"))
        if v.get("content_type") == "video/mp4" and isinstance(v.get("url"), str)
    ]
    variants.sort(key=lambda v: int(v["bit_rate"]) if isinstance(v.get("bit_rate"), int) else 0)
    return str(variants[-1]["url"]) if variants else ""


def is_retweet(tweet: dict[str, Any]) -> bool:
    return bool(_references(tweet, "retweeted"))


def mention(
    tweet: dict[str, Any], page_: Page, account: str, now: datetime | None = None
) -> InboundMessage:
    """A mention as an inbound message: one X conversation is one Concierge conversation.

    ``now`` is when it was read (the current time when not given): the message's arrival
    time. The tweet's own ``created_at`` (which can be years old, or ahead of our clock) is
    only its ``sent_at``.
    """
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
    withheld = tweet.get("withheld")
    if isinstance(withheld, dict):
        countries = withheld.get("country_codes")
        codes = ",".join(str(c) for c in countries) if isinstance(countries, list) else ""
        metadata["withheld"] = codes or "yes"
    author = _author(author_id, page_.users, f"unknown:{tweet_id}")
    text, links = expand(unescape(_text(tweet)), _entities(tweet))
    details: dict[str, Any] = {"url": tweet_url(tweet_id, author.handle.removeprefix("@"))}
    if lang:
        details["lang"] = lang
    if links:
        details["links"] = links
    quoted = _references(tweet, "quoted")
    if quoted:
        metadata["quoted_tweet_id"] = quoted[0]
        details["quoted"] = quoted_tweet(quoted[0], page_)
    return InboundMessage(
        channel=Channel.TWITTER,
        account=account,
        external_id=tweet_id,
        thread_key=f"conv:{conversation}",
        author=Author(author.external_id, author.name, author.handle, lang, author.profile),
        text=text,
        received_at=now or datetime.now(UTC),
        references=tuple(dict.fromkeys((*replied_to, conversation))) if replied_to else (),
        attachments=_media(tweet, page_),
        metadata=metadata,
        sent_at=_when(tweet.get("created_at"), item_id(tweet)),
        details=details,
    )


def direct_message(
    event: dict[str, Any], page_: Page, account: str, now: datetime | None = None
) -> InboundMessage:
    """A DM: one Concierge conversation per participant, whatever X's conversation ids.

    ``thread_key`` is ``dm:<sender id>``: the app tells DMs from public tweets by that prefix.
    """
    event_id = str(event["id"])
    sender = str(event.get("sender_id") or "")
    metadata = {"dm_event_id": event_id}
    details: dict[str, Any] = {"dm": True}
    dm_conversation = str(event.get("dm_conversation_id") or "")
    if dm_conversation:
        metadata["dm_conversation_id"] = dm_conversation
        details["url"] = f"https://x.com/messages/{dm_conversation}"
    attachments = _media(event, page_)
    # A DM's referenced tweets carry no type: each is a tweet shared in the message.
    shared = [
        str(ref["id"])
        for ref in _dicts(event.get("referenced_tweets"))
        if _snowflake(ref.get("id")) is not None
    ]
    if shared:  # a tweet shared in the DM: shown like a quoted tweet
        details["quoted"] = quoted_tweet(shared[0], page_)
    text, links = expand(_text(event), _entities(event))
    if links:
        details["links"] = links
    return InboundMessage(
        channel=Channel.TWITTER,
        account=account,
        external_id=f"dm:{event_id}",
        thread_key=f"dm:{sender or 'unknown'}",
        author=_author(sender, page_.users, f"unknown:dm:{event_id}"),
        text=text,
        received_at=now or datetime.now(UTC),
        attachments=attachments,
        metadata=metadata,
        sent_at=_when(event.get("created_at"), item_id(event)),
        details=details,
    )
