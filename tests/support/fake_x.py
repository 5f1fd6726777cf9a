"""A local fake of the X API v2 for tests and benchmarks, shaped like the real recorded responses
in ``shared/corpus/x-api/`` (and seeded from them): the mentions timeline with since_id,
pagination_token and max_results, DM events, posting tweets and DMs, ``/2/users/me``, the
``x-rate-limit-*`` headers, fields and expansions as requested (only those), ``errors`` beside
the data for deleted tweets and suspended users — and on demand 429s with a reset time, 5xx,
401/403, slow answers, malformed or cut JSON, an error object inside a 200.

Every request is recorded (method, path, query, JSON body, kind of credentials).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "x-api"
ME = "1072250532645998596"  # the account of the recorded DM cassette
TWEET_DEFAULT = {"id", "text", "edit_history_tweet_ids"}
USER_DEFAULT = {"id", "name", "username"}
DM_DEFAULT = {"id", "event_type", "text"}
MEDIA_DEFAULT = {"media_key", "type"}
LIMITS = {"mentions": 450, "dm_events": 300, "tweets": 200, "dm_post": 200, "me": 75,
          "likes": 50, "hide": 50, "user": 900}  # fmt: skip
TWITTER_EPOCH_MS = 1288834974657


def recorded(name: str) -> list[dict[str, Any]]:
    """The request/response pairs of one recorded cassette."""
    return list(json.loads((CORPUS / f"{name}.json").read_text())["interactions"])


def recorded_mentions() -> list[dict[str, Any]]:
    """The tweets of the real recorded mentions page."""
    return list(recorded("test_client_get_users_mentions")[0]["response"]["body"]["data"])


def snowflake_time(tweet_id: str) -> str:
    ms = (int(tweet_id) >> 22) + TWITTER_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    body: dict[str, Any] | None
    auth: str  # "bearer:<token>" | "oauth1" | ""


@dataclass
class Scripted:
    status: int | None  # None: answer normally (after ``delay``)
    body: Any = None  # a dict is JSON; a str is sent as is (malformed, cut short)
    path: str = ""  # only for requests whose path contains this
    reset: float | None = None
    delay: float = 0.0


@dataclass
class FakeX:
    me: str = ME
    handle: str = "PortArgentOT"
    clock: Callable[[], float] = time.time
    strict_auth: bool = False  # refuse app-only bearer tokens where X wants a user context
    app_bearer: str = "test-bearer"
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    mentions: list[str] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    suspended: set[str] = field(default_factory=set)
    dm_events: list[dict[str, Any]] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    script: list[Scripted] = field(default_factory=list)
    windows: dict[str, list[float]] = field(default_factory=dict)  # kind → [remaining, reset]
    revoked: bool = False
    media: dict[str, dict[str, Any]] = field(default_factory=dict)  # by media_key
    likes: set[str] = field(default_factory=set)  # tweet ids the account likes
    hidden: set[str] = field(default_factory=set)  # replies the account hid
    dm_open: set[str] = field(default_factory=set)  # users who accept the account's DMs
    page_cap: int = 100  # the most items one page holds, whatever max_results says
    next_id: int = 1900000000000000000
    url: str = ""

    # ---- test controls ---------------------------------------------------------
    def new_id(self) -> str:
        self.next_id += 1 << 22  # snowflakes: later ids are larger
        return str(self.next_id)

    def now_iso(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def add_user(self, user_id: str, username: str, name: str = "", *, followers: int = 12,
                 verified: bool = False) -> None:  # fmt: skip
        self.users[user_id] = {"id": user_id, "name": name or username.title(), "username": username,
                               "created_at": "2019-03-01T10:00:00.000Z", "verified": verified,
                               "public_metrics": {"followers_count": followers, "following_count": 3,
                                                  "tweet_count": 40, "listed_count": 0},
                               "profile_image_url": f"https://pbs.twimg.com/profile_images/{user_id}/a_normal.jpg"}  # fmt: skip

    def add_media(self, kind: str = "photo", *, alt: str = "") -> str:
        """A photo, video or animated_gif as X describes it (a video has no ``url``, only a
        preview and its variants); its media_key."""
        key = f"{3 if kind == 'photo' else 7 if kind == 'video' else 16}_{self.new_id()}"
        item: dict[str, Any] = {"media_key": key, "type": kind, "width": 1200, "height": 800}
        if kind == "photo":
            item["url"] = f"https://pbs.twimg.com/media/F{key[-6:]}.jpg"
        else:
            item["preview_image_url"] = (
                f"https://pbs.twimg.com/ext_tw_video_thumb/{key[2:]}/pu/img/p.jpg"
            )
            item["variants"] = [
                {"content_type": "application/x-mpegURL", "url": f"https://video.twimg.com/{key[2:]}/pl.m3u8"},
                {"content_type": "video/mp4", "bit_rate": 256000, "url": f"https://video.twimg.com/{key[2:]}/480x270.mp4"},
                {"content_type": "video/mp4", "bit_rate": 2176000, "url": f"https://video.twimg.com/{key[2:]}/1280x720.mp4"},
            ]  # fmt: skip
        if alt:
            item["alt_text"] = alt
        self.media[key] = item
        return key

    def add_tweet(self, text: str, author: str = "4242", username: str = "visitor", *,
                  conversation: str | None = None, tweet_id: str | None = None, reply_to: str | None = None,
                  quote_of: str | None = None, lang: str = "fr", mention: bool = False,
                  media: list[str] | None = None, **extra: Any) -> str:  # fmt: skip
        tweet_id = tweet_id or self.new_id()
        if author not in self.users:
            self.add_user(author, username)
        refs = [{"type": "replied_to", "id": reply_to}] if reply_to else []
        refs += [{"type": "quoted", "id": quote_of}] if quote_of else []
        tweet: dict[str, Any] = {
            "id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id], "author_id": author,
            "conversation_id": conversation or tweet_id, "created_at": self.now_iso(), "lang": lang,
            "entities": {"mentions": [{"start": m.start(), "end": m.end(), "username": m.group()[1:]}
                                      for m in re.finditer(r"@\w+", text)]},
        }  # fmt: skip
        urls = [{"url": u, "expanded_url": f"https://example.org/{u[-6:]}"} for u in re.findall(r"https://t\.co/\w+", text)]  # fmt: skip
        if media:  # X appends one t.co link to the post's media, and lists the media
            short = f"https://t.co/m{tweet_id[-8:]}"
            tweet["text"] = f"{text} {short}"
            tweet["attachments"] = {"media_keys": media}
            urls.append({"url": short, "expanded_url": f"https://x.com/{username}/status/{tweet_id}/photo/1",
                         "display_url": f"pic.x.com/{tweet_id[-8:]}", "media_key": media[0]})  # fmt: skip
        if urls:
            tweet["entities"]["urls"] = urls
        if refs:
            tweet["referenced_tweets"] = refs
        if reply_to and reply_to in self.tweets:
            tweet["in_reply_to_user_id"] = self.tweets[reply_to]["author_id"]
        tweet.update(extra)
        self.tweets[tweet_id] = tweet
        if mention:
            self.mentions.append(tweet_id)
        return tweet_id

    def add_mention(self, text: str, author: str = "4242", username: str = "visitor", conversation: str | None = None,
                    tweet_id: str | None = None, **extra: Any) -> str:  # fmt: skip
        """A tweet mentioning the account; its id."""
        return self.add_tweet(text, author, username, conversation=conversation, tweet_id=tweet_id,
                              mention=True, **extra)  # fmt: skip

    def seed_recorded(self) -> list[str]:
        """The recorded mentions page's ten tweets, given authors (the cassette asked none)."""
        ids = []
        for n, tweet in enumerate(sorted(recorded_mentions(), key=lambda t: int(t["id"]))):
            ids.append(self.add_mention(tweet["text"], author=str(5000 + n % 4), username=f"visitor{n % 4}",
                                        tweet_id=tweet["id"], lang="en"))  # fmt: skip
            self.tweets[tweet["id"]]["created_at"] = snowflake_time(tweet["id"])
        return ids

    def add_dm(self, text: str, sender: str = "4242", username: str = "visitor", *,
               media: list[str] | None = None) -> str:  # fmt: skip
        event_id = self.new_id()
        if sender not in self.users:
            self.add_user(sender, username)
        other = sender if sender != self.me else "4242"
        self.dm_events.append(
            {"id": event_id, "event_type": "MessageCreate", "text": text, "sender_id": sender,
             "created_at": self.now_iso(), "dm_conversation_id": f"{other}-{self.me}"}
        )  # fmt: skip
        if media:
            self.dm_events[-1]["attachments"] = {"media_keys": media}
        return event_id

    def fail(self, status: int, body: Any = None, *, path: str = "", times: int = 1,
             reset: float | None = None) -> None:  # fmt: skip
        """The next ``times`` requests (to ``path``) answer ``status`` with ``body``."""
        self.script += [Scripted(status, body, path, reset) for _ in range(times)]

    def slow(self, seconds: float, *, path: str = "", times: int = 1) -> None:
        self.script += [Scripted(None, path=path, delay=seconds) for _ in range(times)]

    def calls(self, path_part: str, method: str = "GET") -> list[Recorded]:
        return [r for r in self.requests if path_part in r.path and r.method == method]

    # ---- serving -------------------------------------------------------------
    def _headers(self, kind: str, spend: bool = True) -> dict[str, str]:
        now = self.clock()
        window = self.windows.setdefault(kind, [LIMITS[kind], now + 900])
        if now >= window[1]:
            window[:] = [LIMITS[kind], now + 900]
        if spend:
            window[0] = max(0, window[0] - 1)
        return {"x-rate-limit-limit": str(LIMITS[kind]), "x-rate-limit-remaining": str(int(window[0])),
                "x-rate-limit-reset": str(int(window[1]))}  # fmt: skip

    async def _gate(self, request: Request, kind: str, body: dict[str, Any] | None,
                    user_only: bool = False) -> Response | None:  # fmt: skip
        """Records the request; a scripted, auth or rate-limit answer, or None to serve it."""
        header = request.headers.get("authorization", "")
        auth = "oauth1" if header.startswith("OAuth ") else "bearer:" + header[7:] if header.startswith("Bearer ") else ""  # fmt: skip
        self.requests.append(
            Recorded(request.method, request.url.path, dict(request.query_params), body, auth)
        )
        step = next((s for s in self.script if s.path in request.url.path), None)
        if step is not None:
            self.script.remove(step)
            await asyncio.sleep(step.delay)
        if not auth or self.revoked:
            return JSONResponse({"title": "Unauthorized", "type": "about:blank", "status": 401,
                                 "detail": "Unauthorized"}, 401)  # fmt: skip
        if user_only and self.strict_auth and auth == f"bearer:{self.app_bearer}":
            return JSONResponse({"title": "Unsupported Authentication", "status": 403, "type": "https://api.twitter.com/2/problems/unsupported-authentication",
                                 "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context]."}, 403)  # fmt: skip
        if step is not None and step.status is not None:
            headers = self._headers(kind)
            if step.status == 429:
                reset = step.reset if step.reset is not None else self.clock() + 900
                headers.update(
                    {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(reset))}
                )
                return JSONResponse({"title": "Too Many Requests", "detail": "Too Many Requests",
                                     "type": "about:blank", "status": 429}, 429, headers=headers)  # fmt: skip
            if isinstance(step.body, str):
                return Response(
                    step.body, step.status, headers=headers, media_type="application/json"
                )
            body_out = (
                step.body if step.body is not None else {"title": "Error", "status": step.status}
            )
            return JSONResponse(body_out, step.status, headers=headers)
        window = self.windows.get(kind)
        if window and window[0] <= 0 and self.clock() < window[1]:
            headers = self._headers(kind, spend=False)
            return JSONResponse({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                                 "status": 429}, 429, headers=headers)  # fmt: skip
        return None

    @staticmethod
    def _fields(request: Request, name: str, default: set[str]) -> set[str]:
        return default | set(filter(None, request.query_params.get(name, "").split(",")))

    def _page(self, request: Request, kind: str, items: list[dict[str, Any]], low: int, default: int,
              shape: Callable[[list[dict[str, Any]]], dict[str, Any]]) -> Response:  # fmt: skip
        raw = request.query_params.get("max_results", str(default))
        if not raw.isdigit() or not low <= int(raw) <= 100:
            return JSONResponse({"errors": [{"parameters": {"max_results": [raw]},
                                             "message": f"The `max_results` query parameter value [{raw}] is not between {low} and 100"}],
                                 "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                                 "type": "https://api.twitter.com/2/problems/invalid-request"}, 400)  # fmt: skip
        token = request.query_params.get("pagination_token")
        if token:  # our tokens carry the id the previous page stopped at: stable under new arrivals
            items = [i for i in items if int(i["id"]) < int(token, 16)]
        chunk = items[: min(int(raw), self.page_cap)]
        if not chunk:
            return JSONResponse({"meta": {"result_count": 0}}, headers=self._headers(kind))
        body = shape(chunk)
        body.setdefault("meta", {})["result_count"] = len(chunk)
        if len(items) > len(chunk):
            body["meta"]["next_token"] = format(int(chunk[-1]["id"]), "x")
        return JSONResponse(body, headers=self._headers(kind))

    def _expand(self, request: Request, ids: list[str], kind: str, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
        out, seen = [], set()
        for i in ids:
            if i in seen:
                continue
            seen.add(i)
            found = (
                (self.users.get(i) if i not in self.suspended else None)
                if kind == "user"
                else self.tweets.get(i)
            )
            if found is None:
                detail = (
                    f"User has been suspended: [{i}]."
                    if i in self.suspended
                    else f"Could not find {kind} with id: [{i}]."
                )
                errors.append({"value": i, "detail": detail, "title": "Forbidden" if i in self.suspended else "Not Found Error",
                               "resource_type": kind, "resource_id": i,
                               "type": "https://api.twitter.com/2/problems/resource-not-found"})  # fmt: skip
                continue
            keep = self._fields(request, f"{kind}.fields" if kind == "user" else "tweet.fields", USER_DEFAULT if kind == "user" else TWEET_DEFAULT)  # fmt: skip
            out.append({k: v for k, v in found.items() if k in keep})
        return out

    def _media(self, request: Request, keys: list[str]) -> list[dict[str, Any]]:
        keep = self._fields(request, "media.fields", MEDIA_DEFAULT)
        found = [self.media[k] for k in dict.fromkeys(keys) if k in self.media]
        return [{k: v for k, v in m.items() if k in keep} for m in found]

    def _tweets_page(self, request: Request, chunk: list[dict[str, Any]]) -> dict[str, Any]:
        expansions = set(request.query_params.get("expansions", "").split(","))
        implied = {"author_id", "in_reply_to_user_id"} & expansions  # an expansion shows its field
        implied |= {"referenced_tweets"} if "referenced_tweets.id" in expansions else set()
        keep = self._fields(request, "tweet.fields", TWEET_DEFAULT) | implied
        errors: list[dict[str, Any]] = []
        refs = (
            [r["id"] for t in chunk for r in t.get("referenced_tweets", [])]
            if "referenced_tweets.id" in expansions
            else []
        )
        included = self._expand(request, refs, "tweet", errors)
        user_ids = [t["author_id"] for t in chunk] if "author_id" in expansions else []
        user_ids += [
            t["in_reply_to_user_id"]
            for t in chunk
            if "in_reply_to_user_id" in expansions and "in_reply_to_user_id" in t
        ]
        user_ids += [
            self.tweets[i]["author_id"]
            for i in refs
            if i in self.tweets and "referenced_tweets.id.author_id" in expansions
        ]
        body: dict[str, Any] = {"data": [{k: v for k, v in t.items() if k in keep} for t in chunk],
                                "meta": {"newest_id": chunk[0]["id"], "oldest_id": chunk[-1]["id"]}}  # fmt: skip
        media_keys = (
            [k for t in chunk for k in t.get("attachments", {}).get("media_keys", [])]
            if "attachments.media_keys" in expansions
            else []
        )
        includes = {"users": self._expand(request, user_ids, "user", errors), "tweets": included,
                    "media": self._media(request, media_keys)}  # fmt: skip
        body["includes"] = {k: v for k, v in includes.items() if v}
        if errors:
            body["errors"] = errors
        return body

    async def get_mentions(self, request: Request) -> Response:
        if (early := await self._gate(request, "mentions", None)) is not None:
            return early
        since = int(request.query_params.get("since_id", "0"))
        items = sorted(
            (self.tweets[i] for i in self.mentions if int(i) > since), key=lambda t: -int(t["id"])
        )
        return self._page(
            request, "mentions", items, 5, 10, lambda c: self._tweets_page(request, c)
        )

    async def get_dm_events(self, request: Request) -> Response:
        if (early := await self._gate(request, "dm_events", None, user_only=True)) is not None:
            return early
        keep = self._fields(request, "dm_event.fields", DM_DEFAULT)

        def shape(chunk: list[dict[str, Any]]) -> dict[str, Any]:
            senders = (
                [e["sender_id"] for e in chunk]
                if "sender_id" in request.query_params.get("expansions", "")
                else []
            )
            errors: list[dict[str, Any]] = []
            body: dict[str, Any] = {
                "data": [{k: v for k, v in e.items() if k in keep} for e in chunk]
            }
            expansions = request.query_params.get("expansions", "").split(",")
            keys = [k for e in chunk for k in e.get("attachments", {}).get("media_keys", [])]
            includes = {
                "users": self._expand(request, senders, "user", errors),
                "media": self._media(
                    request, keys if "attachments.media_keys" in expansions else []
                ),
            }
            if any(includes.values()):
                body["includes"] = {k: v for k, v in includes.items() if v}
            return body

        items = sorted(self.dm_events, key=lambda e: -int(e["id"]))
        return self._page(request, "dm_events", items, 1, 100, shape)

    async def post_tweet(self, request: Request) -> Response:
        body = await request.json()
        if (early := await self._gate(request, "tweets", body, user_only=True)) is not None:
            return early
        reply = body.get("reply", {}).get("in_reply_to_tweet_id")
        tweet_id = self.add_tweet(body.get("text", ""), self.me, self.handle, reply_to=reply,
                                  conversation=self.tweets.get(reply or "", {}).get("conversation_id"))  # fmt: skip
        self.posted.append({"id": tweet_id, **body})
        return JSONResponse({"data": {"id": tweet_id, "text": body.get("text", ""), "edit_history_tweet_ids": [tweet_id]}},
                            201, headers=self._headers("tweets"))  # fmt: skip

    async def post_dm(self, request: Request) -> Response:
        body = await request.json()
        if (early := await self._gate(request, "dm_post", body, user_only=True)) is not None:
            return early
        participant = request.path_params["participant"]
        event_id = self.add_dm(body.get("text", ""), sender=self.me)
        self.dm_events[-1]["dm_conversation_id"] = f"{participant}-{self.me}"
        self.posted.append({"dm_to": participant, "id": event_id, **body})
        return JSONResponse({"data": {"dm_conversation_id": f"{participant}-{self.me}", "dm_event_id": event_id}},
                            201, headers=self._headers("dm_post"))  # fmt: skip

    async def get_user(self, request: Request) -> Response:
        """GET /2/users/:id; ``receives_your_dm`` (asked for, with a user token) from dm_open."""
        if (early := await self._gate(request, "user", None, user_only=True)) is not None:
            return early
        user_id = request.path_params["user_id"]
        if user_id not in self.users:
            return JSONResponse({"errors": [{"detail": f"Could not find user with id: [{user_id}].",
                                             "title": "Not Found Error", "resource_type": "user"}]})  # fmt: skip
        keep = self._fields(request, "user.fields", USER_DEFAULT)
        user = {k: v for k, v in self.users[user_id].items() if k in keep}
        if "receives_your_dm" in keep:
            user["receives_your_dm"] = user_id in self.dm_open
        return JSONResponse({"data": user}, headers=self._headers("user"))

    async def get_me(self, request: Request) -> Response:
        if (early := await self._gate(request, "me", None, user_only=True)) is not None:
            return early
        return JSONResponse({"data": {"id": self.me, "name": "Office de tourisme", "username": self.handle}},
                            headers=self._headers("me"))  # fmt: skip

    async def post_like(self, request: Request) -> Response:
        body = await request.json()
        if (early := await self._gate(request, "likes", body, user_only=True)) is not None:
            return early
        if request.path_params["user_id"] != self.me:
            return JSONResponse({"title": "Forbidden", "status": 403, "type": "about:blank",
                                 "detail": "You are not permitted to perform this action."}, 403)  # fmt: skip
        tweet_id = str(body.get("tweet_id", ""))
        if tweet_id not in self.tweets:
            return JSONResponse({"errors": [{"parameters": {"tweet_id": [tweet_id]}, "message": "The `tweet_id` query parameter value is not valid"}],
                                 "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                                 "type": "https://api.twitter.com/2/problems/invalid-request"}, 400)  # fmt: skip
        self.likes.add(tweet_id)
        return JSONResponse({"data": {"liked": True}}, headers=self._headers("likes"))

    async def delete_like(self, request: Request) -> Response:
        if (early := await self._gate(request, "likes", None, user_only=True)) is not None:
            return early
        self.likes.discard(request.path_params["tweet_id"])
        return JSONResponse({"data": {"liked": False}}, headers=self._headers("likes"))

    async def put_hidden(self, request: Request) -> Response:
        body = await request.json()
        if (early := await self._gate(request, "hide", body, user_only=True)) is not None:
            return early
        tweet = self.tweets.get(request.path_params["tweet_id"])
        root = self.tweets.get(str(tweet.get("conversation_id"))) if tweet else None
        if (
            tweet is None
            or root is None
            or root["author_id"] != self.me
            or tweet["id"] == root["id"]
        ):
            return JSONResponse({"title": "Forbidden", "status": 403, "type": "about:blank",
                                 "detail": "You cannot hide or unhide replies to conversations not authored by you."}, 403)  # fmt: skip
        hidden = body.get("hidden") is True
        (self.hidden.add if hidden else self.hidden.discard)(tweet["id"])
        return JSONResponse({"data": {"hidden": hidden}}, headers=self._headers("hide"))

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/2/users/me", self.get_me),
            Route("/2/users/{user_id}/mentions", self.get_mentions),
            Route("/2/users/{user_id}", self.get_user),
            Route("/2/dm_events", self.get_dm_events),
            Route("/2/tweets", self.post_tweet, methods=["POST"]),
            Route("/2/dm_conversations/with/{participant}/messages", self.post_dm, methods=["POST"]),
            Route("/2/users/{user_id}/likes", self.post_like, methods=["POST"]),
            Route("/2/users/{user_id}/likes/{tweet_id}", self.delete_like, methods=["DELETE"]),
            Route("/2/tweets/{tweet_id}/hidden", self.put_hidden, methods=["PUT"]),
        ])  # fmt: skip


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


def start(fake: FakeX, port: int) -> tuple[_Server, threading.Thread]:
    """Serves ``fake`` on 127.0.0.1:``port`` in a daemon thread; sets ``fake.url``."""
    config = uvicorn.Config(
        fake.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}"
    return server, thread
