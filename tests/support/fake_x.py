"""A local fake of the X API v2, shaped like the real recorded responses in
``shared/corpus/x-api/``: mentions with since_id and pagination, DM events, posting tweets and
DMs, rate-limit headers — and on demand 429s, 503s, 401s, malformed bodies, errors in a 200."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "x-api"


def recorded_mentions() -> list[dict[str, Any]]:
    """The tweets of the real recorded mentions page."""
    data = json.loads((CORPUS / "test_client_get_users_mentions.json").read_text())
    body: dict[str, Any] = data["interactions"][0]["response"]["body"]
    return list(body["data"])


@dataclass
class FakeX:
    tweets: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    dm_events: list[dict[str, Any]] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    failures: list[tuple[int, Any]] = field(default_factory=list)  # (status, body) served next
    remaining: int = 450
    page_size: int = 5
    ids: Any = field(default_factory=lambda: itertools.count(1900000000000000000))
    url: str = ""

    def add_mention(self, text: str, author: str = "4242", username: str = "visitor", conversation: str | None = None,
                    tweet_id: str | None = None) -> str:  # fmt: skip
        tweet_id = tweet_id or str(next(self.ids))
        self.users[author] = {"id": author, "username": username, "name": username.title()}
        self.tweets.append(
            {"id": tweet_id, "text": text, "author_id": author, "conversation_id": conversation or tweet_id,
             "created_at": "2026-07-18T19:14:00.000Z", "edit_history_tweet_ids": [tweet_id]}
        )  # fmt: skip
        return tweet_id

    def add_dm(self, text: str, sender: str = "4242") -> str:
        event_id = str(next(self.ids))
        self.dm_events.append(
            {"id": event_id, "event_type": "MessageCreate", "text": text, "sender_id": sender,
             "created_at": "2026-07-18T19:20:00.000Z", "dm_conversation_id": f"{sender}-1"}
        )  # fmt: skip
        return event_id

    def _headers(self) -> dict[str, str]:
        self.remaining = max(0, self.remaining - 1)
        return {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }

    def _failure(self) -> Response | None:
        if not self.failures:
            return None
        status, body = self.failures.pop(0)
        headers = self._headers()
        if status == 429:
            headers["x-rate-limit-remaining"] = "0"
            headers["x-rate-limit-reset"] = str(int(body))
            return JSONResponse({"title": "Too Many Requests", "status": 429}, 429, headers=headers)
        if isinstance(body, str):
            return Response(body, status, headers=headers, media_type="application/json")
        return JSONResponse(body, status, headers=headers)

    def _page(self, items: list[dict[str, Any]], request: Request) -> Response:
        size = min(int(request.query_params.get("max_results", self.page_size)), self.page_size)
        start = int(request.query_params.get("pagination_token", "p0")[1:] or 0)
        chunk = items[start : start + size]
        if not chunk:
            return JSONResponse({"meta": {"result_count": 0}}, headers=self._headers())
        authors = {str(i.get("author_id") or i.get("sender_id")) for i in chunk}
        meta: dict[str, Any] = {
            "result_count": len(chunk),
            "newest_id": chunk[0]["id"],
            "oldest_id": chunk[-1]["id"],
        }
        if start + size < len(items):
            meta["next_token"] = f"p{start + size}"
        body = {"data": chunk, "meta": meta,
                "includes": {"users": [self.users[a] for a in authors if a in self.users]}}  # fmt: skip
        return JSONResponse(body, headers=self._headers())

    async def mentions(self, request: Request) -> Response:
        self.requests.append(("GET", request.url.path, dict(request.query_params)))
        if (failure := self._failure()) is not None:
            return failure
        since = int(request.query_params.get("since_id", "0"))
        items = sorted(
            (t for t in self.tweets if int(t["id"]) > since), key=lambda t: -int(t["id"])
        )
        return self._page(items, request)

    async def dms(self, request: Request) -> Response:
        self.requests.append(("GET", request.url.path, dict(request.query_params)))
        if (failure := self._failure()) is not None:
            return failure
        return self._page(sorted(self.dm_events, key=lambda e: -int(e["id"])), request)

    async def create_tweet(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("POST", request.url.path, {k: str(v) for k, v in body.items()}))
        if (failure := self._failure()) is not None:
            return failure
        tweet_id = str(next(self.ids))
        self.posted.append({"id": tweet_id, **body})
        return JSONResponse(
            {"data": {"id": tweet_id, "text": body.get("text", "")}}, 201, headers=self._headers()
        )

    async def create_dm(self, request: Request) -> Response:
        body = await request.json()
        participant = request.path_params["participant"]
        self.requests.append(("POST", request.url.path, {k: str(v) for k, v in body.items()}))
        if (failure := self._failure()) is not None:
            return failure
        event_id = str(next(self.ids))
        self.posted.append({"dm_to": participant, "id": event_id, **body})
        return JSONResponse(
            {"data": {"dm_conversation_id": f"{participant}-1", "dm_event_id": event_id}},
            201,
            headers=self._headers(),
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/2/users/{user_id}/mentions", self.mentions),
                Route("/2/dm_events", self.dms),
                Route("/2/tweets", self.create_tweet, methods=["POST"]),
                Route(
                    "/2/dm_conversations/with/{participant}/messages",
                    self.create_dm,
                    methods=["POST"],
                ),
            ]
        )


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


def start(fake: FakeX, port: int) -> tuple[_Server, threading.Thread]:
    server = _Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}"
    return server, thread
