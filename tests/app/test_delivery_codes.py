"""A reply that failed says why as a code and its parameters — in the API, in the live
``message.status`` event, and in both languages' catalogs — so the adviser reads the reason in
their own language. Real server, Redis, SQLite and the local fake X API."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from app.i18n import LANGUAGES, catalog, placeholders
from app.inbox import Inbox
from app.models import AuthorKind, Conversation, DeliveryStatus, Direction, Message
from app.outbox import _coded
from app.privacy import erase_visitor
from app.services import Services
from connectors.base import DeliveryResult
from tests.app.test_assignment import online
from tests.app.test_email_channel import wait_for
from tests.app.test_privacy import EIGHT, mail, user
from tests.app.test_team_sending import MANAGER, sql
from tests.app.test_ws import recv_until
from tests.app.test_x_channel import configure, messages
from tests.conftest import login, office_login
from tests.support.fake_x import FakeX

DUPLICATE = "You are not allowed to create a Tweet with duplicate content."


async def test_a_failed_reply_carries_its_code_in_the_api_and_the_live_event(
    make_server: Any, fake: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_BEARER_TOKEN", "test-bearer")
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_OAUTH2_USER_TOKEN", "user-token")
    seed = make_server(x_api_base_url=fake.url)
    configure(seed)
    live = make_server(x_api_base_url=fake.url)
    fake.add_mention("@PortArgentOT le phare est ouvert ce soir ?", username="ana")
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as a:
        rows = wait_for(
            lambda: [r for r in a.get("/api/conversations").json() if r["channel"] == "twitter"]
        )
        conversation_id = rows[0]["id"]
        async with online(live, a) as ws:
            fake.fail(
                403, {"title": "Forbidden", "status": 403, "detail": DUPLICATE}, path="/2/tweets"
            )
            answer = a.post(
                f"/api/conversations/{conversation_id}/messages",
                json={"text": "Oui, jusqu'à 22 h !"},
            )
            assert answer.status_code == 201
            message_id = answer.json()["id"]
            assert (answer.json()["delivery_code"], answer.json()["delivery_params"]) == ("", {})

            failed = await recv_until(ws, "message.status", timeout=15)
            assert (failed["message_id"], failed["status"]) == (message_id, "failed")
            assert failed["code"] == "x.refused"
            assert failed["params"] == {"status": "403", "detail": DUPLICATE}
            assert failed["error"] == f"refused by X (403): {DUPLICATE}"  # English, for logs

            stored = next(m for m in messages(a, conversation_id) if m["id"] == message_id)
            assert stored["delivery_status"] == "failed"
            assert stored["delivery_code"] == "x.refused"
            assert stored["delivery_params"] == {"status": "403", "detail": DUPLICATE}
            # What the adviser reads, in each language, from the catalog the page carries.
            for language, start_ in (("fr", "X a refusé l'envoi (403)"), ("en", "X refused")):
                sentence = catalog(language)["delivery.x.refused"].format(
                    **stored["delivery_params"]
                )
                assert sentence.startswith(start_) and sentence.endswith(DUPLICATE)

            # Sent again: the reason is gone with the failure, live and stored.
            again = a.post(f"/api/messages/{message_id}/retry")
            assert again.status_code == 200
            assert (again.json()["delivery_code"], again.json()["delivery_params"]) == ("", {})
            pending = await recv_until(ws, "message.status")
            assert (pending["status"], pending["code"], pending["params"]) == ("pending", "", {})
            done = await recv_until(ws, "message.status", timeout=15)
            assert (done["status"], done["code"], done["params"], done["error"]) == (
                "sent",
                "",
                {},
                "",
            )
            sent = next(m for m in messages(a, conversation_id) if m["id"] == message_id)
            assert (sent["delivery_code"], sent["delivery_params"]) == ("", {})

        # A reply that failed before codes existed keeps its English reason, with no code.
        sql(
            live,
            "update message set delivery_status = 'FAILED', delivery_error = 'boom' where id = ?",
            message_id,
        )
        old = next(m for m in messages(a, conversation_id) if m["id"] == message_id)
        assert (old["delivery_error"], old["delivery_code"], old["delivery_params"]) == (
            "boom",
            "",
            {},
        )


async def test_erasing_the_visitor_erases_why_their_reply_failed(services: Services) -> None:
    # A refused recipient's parameters hold their address and the server's words about it.
    done = await Inbox(services).ingest(mail("mail-port-argent", "m1@example.org", "Bonjour"))
    refused = {"status": "550", "detail": "ana@example.org: 550 5.1.1 No such user"}
    async with services.db.session() as session:
        conversation = await session.get(Conversation, done.conversation_id)
        assert conversation is not None
        failed = Message(
            conversation_id=done.conversation_id, account_id=conversation.account_id,
            direction=Direction.OUT, author_kind=AuthorKind.ADVISER, text="Bonjour Ana",
            created_at=EIGHT, delivery_status=DeliveryStatus.FAILED,
            delivery_error=f"recipient refused: {refused['detail']}",
            delivery_code="smtp.recipient_refused", delivery_params=json.dumps(refused),
        )  # fmt: skip
        session.add(failed)
        await session.commit()
    manager = await user(services, MANAGER)
    assert (await erase_visitor(services, manager, done.conversation_id))["conversations"] == 1
    async with services.db.session() as session:
        erased = await session.get(Message, failed.id)
    assert erased is not None and erased.delivery_status == DeliveryStatus.FAILED
    assert (erased.delivery_error, erased.delivery_code, erased.delivery_params) == ("", "", "")


def test_a_failure_without_a_code_is_stored_as_unknown_with_its_english_reason() -> None:
    assert _coded(DeliveryResult(True, ("1",))) == ("", {})
    assert _coded(DeliveryResult(False, error="a new kind of trouble")) == (
        "unknown",
        {"detail": "a new kind of trouble"},
    )
    coded = DeliveryResult.failed("smtp.timeout", "the SMTP server timed out", server="smtp:587")
    assert _coded(coded) == ("smtp.timeout", {"server": "smtp:587"})
    assert hash(coded) == hash(
        DeliveryResult.failed("smtp.timeout", "the SMTP server timed out", server="smtp:587")
    )


# ---- every code a connector or the outbox can give has its sentence in both languages ------
ROOT = Path(__file__).resolve().parents[2]
NOT_PARAMS = {"retryable", "external_ids", "posted"}


def delivery_codes() -> dict[str, set[str]]:
    """Each code given in the source, with the parameters it is given with: every call of
    ``DeliveryResult.failed("code", …)``, and of X's helper ``_failed("reason", …)`` (code
    ``x.<reason>``, connectors/twitter/sending.py)."""
    codes: dict[str, set[str]] = {"unknown": {"detail"}}  # the outbox's, for a code-less failure
    for folder in ("connectors", "app"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                first, func = node.args[0], node.func
                if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
                    continue
                if isinstance(func, ast.Attribute) and func.attr == "failed":
                    code = first.value
                elif isinstance(func, ast.Name) and func.id == "_failed":
                    code = f"x.{first.value}"
                else:
                    continue
                params = {k.arg for k in node.keywords if k.arg and k.arg not in NOT_PARAMS}
                assert codes.setdefault(code, params) == params, (code, path)
    return codes


def test_every_delivery_code_is_said_in_french_and_english_with_its_parameters() -> None:
    codes = delivery_codes()
    assert {
        "smtp.timeout", "smtp.recipient_refused", "smtp.connection_failed", "tls.untrusted",
        "email.bad_address", "x.rate_limited", "x.refused", "x.too_long", "x.thread_cut",
        "empty", "no_connector", "crashed",
    } <= codes.keys()  # fmt: skip
    for language in LANGUAGES:
        sentences = {k for k in catalog(language) if k.startswith("delivery.")}
        assert sentences == {f"delivery.{code}" for code in codes}, language
        for code, params in codes.items():
            # Every placeholder is filled, and every parameter is said.
            assert placeholders(catalog(language)[f"delivery.{code}"]) == params, (code, language)
