"""Satisfaction surveys (app/surveys.py, app/survey_send.py): asked once when resolved, answered
once by the right visitor within its days, shown in the thread; X DMs only where they are open."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from app import actions, surveys
from app.actions import ActionError
from app.events import ActivityCreated, VisitorFrame
from app.models import (
    Activity,
    AuthorKind,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    Survey,
    User,
)
from app.services import Services
from tests.app.test_api_lists import open_chats
from tests.app.test_api_notes import user_named
from tests.app.test_inbox import capture_events
from tests.app.test_x_actions import World, world  # noqa: F401  (a fixture)
from tests.conftest import LiveServer

RESOLVED, OPEN = ConversationStatus.RESOLVED, ConversationStatus.OPEN


async def all_surveys(services: Services, conversation_id: int | None = None) -> list[Survey]:
    async with services.db.session() as session:
        query = select(Survey).order_by(Survey.id)  # type: ignore[arg-type]
        if conversation_id is not None:
            query = query.where(Survey.conversation_id == conversation_id)
        return list((await session.exec(query)).all())


async def answered_chat(services: Services, n: int = 1) -> tuple[list[int], User]:
    """``n`` chats of Port-Argent, each answered by Camille."""
    ids = await open_chats(services, n)
    camille = await user_named(services, "camille@port-argent.example")
    for cid in ids:
        await actions.take(services, camille, cid)
        await actions.reply(services, camille, cid, "Le phare ouvre à 10 h.")
    return ids, camille


async def test_asked_once_within_seven_days_however_often_resolved(services: Services) -> None:
    (cid,), camille = await answered_chat(services)
    await actions.set_status(services, camille, cid, RESOLVED)
    [first] = await all_surveys(services, cid)
    assert (first.via, first.channel, first.adviser_id) == ("widget", "webchat", camille.id)
    assert first.expires_at - first.sent_at == timedelta(days=7)
    frames = [e for e in await capture_events(services) if isinstance(e, VisitorFrame)]
    assert [(f.visitor_key, f.frame["type"], f.frame["survey"]["id"]) for f in frames] == [
        ("chat-port-argent:visitor-0", "survey", first.id)
    ]
    # Reopened and resolved again twice within the week: still the one question.
    for _ in range(2):
        await actions.set_status(services, camille, cid, OPEN)
        await actions.set_status(services, camille, cid, RESOLVED)
    assert len(await all_surveys(services, cid)) == 1
    # Eight days later, a new resolution is asked again.
    services.clock.set(services.clock.now() + timedelta(days=8))
    await actions.set_status(services, camille, cid, OPEN)
    await actions.set_status(services, camille, cid, RESOLVED)
    assert len(await all_surveys(services, cid)) == 2


async def test_none_without_a_persons_reply_nor_for_spam_or_erased(services: Services) -> None:
    silent, spam, erased = await open_chats(services, 3)
    camille = await user_named(services, "camille@port-argent.example")
    await actions.take(services, camille, silent)
    await actions.set_status(services, camille, silent, RESOLVED)  # nobody answered
    for cid in (spam, erased):
        await actions.take(services, camille, cid)
        await actions.reply(services, camille, cid, "Bonjour")
    # Spam and erased conversations cannot be resolved by an adviser: the hook itself refuses.
    async with services.db.session() as session:
        for cid, change in ((spam, {"spam": True}), (erased, {"thread_key": "erased:abc"})):
            row = await session.get(Conversation, cid)
            assert row is not None
            for name, value in change.items():
                setattr(row, name, value)
            await surveys.on_resolved(services, session, row, camille)
        await session.commit()
    assert await all_surveys(services) == []


async def test_an_answer_is_checked_recorded_once_and_shown_in_the_thread(
    services: Services,
) -> None:
    (cid,), camille = await answered_chat(services)
    await actions.set_status(services, camille, cid, RESOLVED)
    [survey] = await all_surveys(services, cid)
    assert survey.id is not None
    for rating in (0, 6, -1, "4.5", None, True, "cinq", 3.0):
        with pytest.raises(ActionError) as caught:
            surveys.check_answer(rating, "")
        assert caught.value.status == 422
    with pytest.raises(ActionError):
        surveys.check_answer(4, "x" * 1001)
    with pytest.raises(ActionError):
        surveys.check_answer(4, ["not", "text"])
    comment = "<b>Très bien</b>, merci !"
    await surveys.do_answer(services, survey.id, surveys.check_answer(4, comment))
    with pytest.raises(ActionError) as caught:
        await surveys.do_answer(services, survey.id, surveys.check_answer(1, "Non"))
    assert (caught.value.code, caught.value.status) == ("widget.error.survey_answered", 409)
    [stored] = await all_surveys(services, cid)
    assert (stored.rating, stored.comment) == (4, comment)
    async with services.db.session() as session:
        lines = (
            await session.exec(
                select(Activity).where(Activity.conversation_id == cid, Activity.kind == "survey")
            )
        ).all()
    assert [line.detail for line in lines] == [f"4\n{comment}"]
    events = await capture_events(services)
    assert any(isinstance(e, ActivityCreated) and e.activity.kind == "survey" for e in events)
    answered = [e for e in events if isinstance(e, VisitorFrame)][-1]
    assert answered.frame == {"type": "survey.answered", "id": survey.id}


async def test_an_expired_survey_takes_no_answer(services: Services) -> None:
    (cid,), camille = await answered_chat(services)
    await actions.set_status(services, camille, cid, RESOLVED)
    [survey] = await all_surveys(services, cid)
    services.clock.set(survey.expires_at + timedelta(seconds=1))
    with pytest.raises(ActionError) as caught:
        await surveys.do_answer(services, survey.id or 0, surveys.check_answer(5, ""))
    assert caught.value.status == 410
    [stored] = await all_surveys(services, cid)
    assert stored.rating is None and stored.answered_at is None


async def test_the_widget_answers_only_its_own_pending_survey(
    live: LiveServer, services: Services
) -> None:
    (cid, other), camille = await answered_chat(services, 2)
    await actions.set_status(services, camille, cid, RESOLVED)
    await actions.set_status(services, camille, other, RESOLVED)
    token, _ = services.visitor_tokens.issue("chat-port-argent", "visitor-0")
    stranger, _ = services.visitor_tokens.issue("chat-port-argent", "visitor-9")
    async with services.db.session() as session:
        account = await session.get(Conversation, cid)
        assert account is not None
    with httpx.Client(base_url=live.url, timeout=10) as client:

        def post(body: object, bearer: str = token, lang: str = "en") -> httpx.Response:
            return client.post(
                f"/api/visitor/survey?lang={lang}",
                json=body,
                headers={"Authorization": f"Bearer {bearer}"},
            )

        assert post({"rating": 4}, bearer="forged").status_code == 401
        refused = post({"rating": 7, "comment": "?"}, lang="de")
        assert refused.status_code == 422
        assert refused.json()["detail"] == "Bitte wählen Sie eine Bewertung von 1 bis 5."
        assert post({"rating": "4", "comment": 12}).status_code == 422
        assert post({"rating": 4}, bearer=stranger).status_code == 404  # no survey of theirs
        done = post({"rating": 4, "comment": "Parfait, merci"})
        assert done.status_code == 200, done.text
        again = post({"rating": 5})
        assert again.status_code == 404  # nothing pending any more
    rows = {s.conversation_id: s for s in await all_surveys(services)}
    assert (rows[cid].rating, rows[cid].comment) == (4, "Parfait, merci")
    assert rows[other].rating is None  # the other visitor's survey untouched
    async with services.db.session() as session:
        fields = await surveys.hello_fields(
            services, session, await _account(services, "chat-port-argent"), "visitor-1", "fr"
        )
        assert fields == {"survey": surveys.frame(rows[other])}
        done_fields = await surveys.hello_fields(
            services, session, await _account(services, "chat-port-argent"), "visitor-0", "fr"
        )
        assert done_fields == {}


async def _account(services: Services, key: str):  # type: ignore[no-untyped-def]
    from app.models import Account

    async with services.db.session() as session:
        return (await session.exec(select(Account).where(Account.key == key))).one()


async def _answer_by_hand(services: Services, cid: int, user: User) -> None:
    """An adviser's reply as stored once sent (X itself is not the subject here)."""
    async with services.db.session() as session:
        session.add(
            Message(
                conversation_id=cid,
                account_id=(await session.get(Conversation, cid)).account_id,  # type: ignore[union-attr]
                direction=Direction.OUT,
                author_kind=AuthorKind.ADVISER,
                author_user_id=user.id,
                text="Merci, à bientôt !",
                created_at=services.clock.now(),
                delivery_status=DeliveryStatus.SENT,
            )
        )
        await session.commit()


async def test_x_dm_with_the_link_only_when_dms_are_open(world: World) -> None:  # noqa: F811
    fake = world.fake
    closed = fake.add_mention("@PortArgentOT merci !", author="4242", username="ana")
    opened = fake.add_mention("@PortArgentOT super visite", author="5353", username="ben")
    fake.dm_open.add("5353")
    await world.poll()
    services = world.services
    for tweet in (closed, opened):
        message = await world.message(tweet)
        adviser = await world.adviser(message.conversation_id)
        await actions.take(services, adviser, message.conversation_id)
        await _answer_by_hand(services, message.conversation_id, adviser)
        await actions.set_status(services, adviser, message.conversation_id, RESOLVED)
    closed_cid = (await world.message(closed)).conversation_id
    opened_cid = (await world.message(opened)).conversation_id
    rows = {s.conversation_id: s for s in await all_surveys(services)}
    assert rows[closed_cid].via == "" and rows[opened_cid].via == "x"
    dms = [p for p in fake.posted if "dm_to" in p]
    assert [p["dm_to"] for p in dms] == ["5353"]  # nothing to the person who does not accept
    assert f"/survey/{surveys.links(services).token(rows[opened_cid].id or 0)}" in dms[0]["text"]
    assert all(
        "text" not in p or "/survey/" not in p["text"] for p in fake.posted if "dm_to" not in p
    )
    # The question sent is in the thread, as a system message.
    async with services.db.session() as session:
        kinds = (
            await session.exec(select(Message.kind).where(Message.conversation_id == opened_cid))
        ).all()
    assert "survey" in kinds


async def test_a_survey_link_is_signed_for_surveys_only(services: Services) -> None:
    links = surveys.links(services)
    token = links.token(42)
    assert links.read(token) == 42
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    visitor_token, _ = services.visitor_tokens.issue("chat-port-argent", "visitor-0")
    for bad in (tampered, visitor_token, "", "x" * 600, token + "."):
        with pytest.raises(surveys.SurveyLinkError) as caught:
            links.read(bad)
        assert caught.value.code == "visitor.survey.bad_link"
    old = surveys.SurveyLinks("test-secret-" + "x" * 40, valid_days=1)
    assert old.read(old.token(7)) == 7
    expired = surveys.SurveyLinks("test-secret-" + "x" * 40, valid_days=1)
    expired._max_age = -1  # a link older than its days
    with pytest.raises(surveys.SurveyLinkError) as caught:
        expired.read(token)
    assert caught.value.status == 410


async def test_an_x_dm_conversation_is_asked_in_its_own_dms(world: World) -> None:  # noqa: F811
    event = world.fake.add_dm("Bonjour, le musée est-il ouvert lundi ?", sender="6464")
    await world.poll()
    message = await world.message(f"dm:{event}")
    cid = message.conversation_id
    adviser = await world.adviser(cid)
    services = world.services
    await actions.take(services, adviser, cid)
    await _answer_by_hand(services, cid, adviser)
    await actions.set_status(services, adviser, cid, RESOLVED)
    [survey] = await all_surveys(services, cid)
    assert survey.via == "x"
    async with services.db.session() as session:
        [question] = (
            await session.exec(
                select(Message).where(Message.conversation_id == cid, Message.kind == "survey")
            )
        ).all()
    # Queued for the outbox like any reply: it leaves by the conversation's own DMs.
    assert question.delivery_status == DeliveryStatus.PENDING
    assert question.author_kind == AuthorKind.SYSTEM
    assert "/survey/" in question.text
    assert not [c for c in world.fake.requests if c.path.startswith("/2/users/6464")]
