"""An office receives live exactly what it may read by HTTP: every event kind, one rule."""

from __future__ import annotations

import asyncio
import json
import time
import types
import typing
from datetime import UTC, datetime
from typing import Any, Literal, get_args, get_origin

import httpx
import pytest
import websockets
from pydantic import BaseModel

from app import events
from app.models import Conversation, Role, User
from app.repository import can_see
from app.web.ws import adviser_accepts
from tests.app.test_session_end import cookie_of
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login

NOW = datetime(2026, 7, 21, 8, tzinfo=UTC)
A, B, C = 1, 2, 3  # offices of destination 1
AUDIENCE_FIELDS = set(events._Audience.model_fields)

# Kinds whose audience is not "who may read the conversation", each for a documented reason.
REMOVAL_NOTICES = {events.ConversationLeft}  # to the office a conversation left: nothing in it
NEVER_SENT = {events.SessionEnded}  # closes the sockets of a session; no socket receives it


def event_kinds() -> list[type[BaseModel]]:
    """Every kind of the ``Event`` union: a kind added later is covered without a new test."""
    union = get_args(events.Event)[0]
    return list(get_args(union))


def sample(annotation: Any) -> Any:
    """A value of any type the events use, private-looking where it is text."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return sample(get_args(annotation)[0])
    if origin is Literal:
        return get_args(annotation)[0]
    if origin in (typing.Union, types.UnionType):
        return sample(next(a for a in get_args(annotation) if a is not type(None)))
    if origin is list:
        return [sample(get_args(annotation)[0])]
    if origin is dict:
        return {"k": "secret visitor text"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return build(annotation)
    return {
        int: 7,
        str: "secret visitor text",
        bool: True,
        datetime: NOW,
    }[annotation]


def build(model: type[BaseModel], **given: Any) -> Any:
    values = {
        name: sample(field.annotation)
        for name, field in model.model_fields.items()
        if name not in given and name != "type"
    }
    return model(**{**values, **given})


def user(uid: int, office: int | None, role: Role = Role.ADVISER) -> User:
    return User(
        id=uid,
        destination_id=1,
        office_id=office,
        email=f"u{uid}@x.example",
        name=f"U{uid}",
        password_hash="",
        role=role,
    )


PEOPLE = {
    "office A": user(10, A),
    "office A manager": user(11, A, Role.OFFICE_MANAGER),
    "office B": user(20, B),
    "assignee from C": user(30, C),
    "office C": user(31, C),
    "destination manager": user(40, None, Role.DESTINATION_MANAGER),
}

# Where a conversation may stand: its office, and its assignee (none, or someone of C).
PLACES = [(A, None), (B, None), (A, 30), (B, 30), (C, None)]


@pytest.mark.parametrize("kind", event_kinds(), ids=lambda k: k.__name__)
@pytest.mark.parametrize("place", PLACES, ids=str)
def test_every_event_kind_reaches_exactly_who_may_read_it(
    kind: type[BaseModel], place: tuple[int, int | None]
) -> None:
    office, assignee = place
    conversation = Conversation(
        id=5,
        destination_id=1,
        account_id=1,
        contact_id=1,
        office_id=office,
        assignee_id=assignee,
        channel="webchat",
        thread_key="t",
        created_at=NOW,
        last_message_at=NOW,
    )
    event = build(kind, conversation_id=5, office_id=office, assignee_id=assignee, staff=False)
    for who, person in PEOPLE.items():
        receives = adviser_accepts(person)(event)
        if kind in NEVER_SENT:
            assert not receives, who
        elif kind in REMOVAL_NOTICES:
            # Addressed to the office the conversation left, which may no longer read it:
            # it must carry nothing but whom it is for.
            assert set(kind.model_fields) - AUDIENCE_FIELDS == {"type"}
        else:
            assert receives == can_see(person, conversation), (who, kind.__name__)


def test_a_previous_office_is_no_audience_any_more() -> None:
    """Nothing can address an event to the office a conversation used to be in."""
    for kind in event_kinds():
        assert "previous_office_id" not in kind.model_fields


def test_removal_notice_reaches_the_office_left_with_nothing_private() -> None:
    left = events.ConversationLeft(conversation_id=5, office_id=A)
    assert adviser_accepts(PEOPLE["office A"])(left)
    assert not adviser_accepts(PEOPLE["office B"])(left)
    frame = left.model_dump()
    assert set(frame) == AUDIENCE_FIELDS | {"type"}


def test_a_disabled_user_sees_nothing_by_http() -> None:
    person = user(10, A)
    person.active = False
    conversation = Conversation(
        id=5,
        destination_id=1,
        account_id=1,
        contact_id=1,
        office_id=A,
        channel="webchat",
        thread_key="t",
        created_at=NOW,
        last_message_at=NOW,
    )
    assert not can_see(person, conversation)


async def frames_for(ws: Any, timeout: float = 1.5) -> list[str]:
    """Every frame that arrives in ``timeout`` seconds, as sent."""
    found: list[str] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            found.append(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
    return found


def office_id(client: httpx.Client, slug_name: str) -> int:
    offices = client.get("/api/offices").json()
    return int(next(o["id"] for o in offices if slug_name in o["name"]))


async def test_reopened_after_transfer_the_offices_it_left_get_no_visitor_text(
    live: LiveServer,
) -> None:
    """Visitor writes (Port-Argent), the conversation goes to Saint-Clair, is resolved there, and
    the visitor writes again: rerouted to its account's office, Port-Argent. Saint-Clair, which
    may no longer read it, receives a bare removal notice; Les Salines nothing at all."""
    a = office_login(live, "port-argent")
    b = office_login(live, "saint-clair")
    c = office_login(live, "les-salines")
    with (
        login(live.url, a.email, a.password) as ca,
        login(live.url, b.email, b.password) as cb,
        login(live.url, c.email, c.password) as cc,
    ):
        url = f"{live.ws_url}/ws/adviser"
        async with (
            websockets.connect(url, additional_headers=cookie_of(ca)) as wa,
            websockets.connect(url, additional_headers=cookie_of(cb)) as wb,
            websockets.connect(url, additional_headers=cookie_of(cc)) as wc,
            websockets.connect(visitor_url(live)) as visitor,
        ):
            for ws in (wa, wb, wc, visitor):
                await recv_until(ws, "hello")
            await send_message(visitor, "first question", client_id="client-0001")
            created = await recv_until(wa, "message.created")
            cid = created["conversation_id"]
            saint_clair = office_id(ca, "Saint-Clair")
            moved = ca.post(f"/api/conversations/{cid}/transfer", json={"office_id": saint_clair})
            assert moved.status_code == 200, moved.text
            left = await recv_until(wa, "conversation.left")
            assert left["conversation_id"] == cid
            await recv_until(wb, "conversation.changed")
            done = cb.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
            assert done.status_code == 200, done.text

            secret = "the private second question"
            await send_message(visitor, secret, client_id="client-0002")
            created = await recv_until(wa, "message.created")
            assert created["message"]["text"] == secret
            seen_by_b = await frames_for(wb)
            assert not [f for f in seen_by_b if secret in f]
            assert not [f for f in await frames_for(wc, timeout=0.3) if secret in f]
            # Saint-Clair was told it left; by HTTP it cannot read it either.
            notices = [json.loads(f) for f in seen_by_b if '"conversation.left"' in f]
            assert len(notices) == 1
            left = notices[0]
            assert set(left) == {
                "type",
                "event_id",
                "conversation_id",
                "office_id",
                "assignee_id",
                "visitor_key",
                "staff",
            }
            assert cb.get(f"/api/conversations/{cid}").status_code == 404
            assert cc.get(f"/api/conversations/{cid}").status_code == 404
