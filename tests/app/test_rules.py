"""The keyword rules' API and page over a real server: managing rules, who may do what, the
trial, and bad input refused with a readable reason (never a 500, nothing stored)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import select

from app.inbox import Inbox
from app.models import Destination, Label, Office, Role, Rule, User
from app.security import hash_password
from app.services import Services
from tests.app.test_rules_ingest import OFFICE_HOURS, chat
from tests.conftest import LiveServer, login, office_login


def boss_of(live: LiveServer) -> Any:
    return next(x for x in live.logins.values() if x.email.startswith("manager@"))


async def ids(services: Services) -> dict[str, int]:
    """Offices, advisers and a label of the demo, and another destination's office and label."""
    async with services.db.session() as session:
        offices = {o.slug: o.id for o in (await session.exec(select(Office))).all()}
        users = {u.name: u.id for u in (await session.exec(select(User))).all()}
        label = Label(destination_id=1, name="Marées", key="marees", created_at=OFFICE_HOURS)
        elsewhere = Destination(slug="ailleurs", name="Ailleurs", timezone="Europe/Paris")
        session.add_all([label, elsewhere])
        await session.flush()
        assert elsewhere.id is not None
        far_office = Office(destination_id=elsewhere.id, slug="loin", name="Loin")
        far_label = Label(
            destination_id=elsewhere.id, name="Loin", key="loin", created_at=OFFICE_HOURS
        )
        session.add_all([far_office, far_label])
        await session.flush()
        far_user = User(destination_id=elsewhere.id, office_id=far_office.id, email="x@loin.example",
                        name="Far", password_hash="x", role=Role.ADVISER)  # fmt: skip
        chief = User(destination_id=1, office_id=offices["saint-clair"], name="Chef SC",
                     email="chef@saint-clair.example", role=Role.OFFICE_MANAGER,
                     password_hash=hash_password("chef-password-123"))  # fmt: skip
        session.add_all([far_user, chief])
        await session.commit()
        return {
            **offices,
            **users,
            "label": label.id or 0,
            "far_office": far_office.id or 0,
            "far_label": far_label.id or 0,
            "far_user": far_user.id or 0,
        }


async def test_a_destination_manager_creates_tries_switches_on_reorders_and_deletes(
    live: LiveServer, services: Services
) -> None:
    known = await ids(services)
    await Inbox(services).ingest(chat("v1", "À quelle heure est la marée ?"))
    await Inbox(services).ingest(chat("v2", "hello"))
    boss = boss_of(live)
    with login(live.url, boss.email, boss.password) as client:
        assert client.get("/api/rules").json() == []
        made = client.post("/api/rules", json={
            "name": "Marées", "words": ["marée", " tide ", "", "Gezeiten", "MAREE"],
            "label_id": known["label"], "office_id": known["les-salines"],
        })  # fmt: skip
        assert made.status_code == 201, made.text
        rule = made.json()
        # Trimmed, blank lines and folded duplicates dropped; off until switched on.
        assert rule["words"] == ["marée", "tide", "Gezeiten"]
        assert (rule["active"], rule["position"], rule["matched"], rule["editable"]) == (
            False,
            0,
            0,
            True,
        )
        second = client.post(
            "/api/rules", json={"name": "Réclamation", "words": ["réclamation"], "priority": True}
        ).json()
        assert second["position"] == 1
        tried = client.post("/api/rules/try", json={"words": rule["words"]}).json()
        assert (tried["matched"], tried["conversations"], tried["days"]) == (1, 2, 30)
        assert tried["examples"][0]["snippet"] == "À quelle heure est la marée ?"
        on = client.patch(f"/api/rules/{rule['id']}", json={"active": True})
        assert on.status_code == 200 and on.json()["active"] is True
        moved = client.patch(f"/api/rules/{second['id']}", json={"position": 0})
        assert moved.json()["position"] == 0
        assert [r["name"] for r in client.get("/api/rules").json()] == ["Réclamation", "Marées"]
        # null takes the label off; the office still routes.
        off = client.patch(f"/api/rules/{rule['id']}", json={"label_id": None})
        assert off.status_code == 200 and off.json()["label_id"] is None
        assert client.delete(f"/api/rules/{rule['id']}").status_code == 204
        assert client.delete(f"/api/rules/{rule['id']}").status_code == 404
        assert client.patch(f"/api/rules/{rule['id']}", json={"active": True}).status_code == 404
        page = client.get("/rules")
        assert page.status_code == 200 and 'data-testid="rules-page"' in page.text
        # State changes need the CSRF header.
        del client.headers["X-CSRF-Token"]
        assert (
            client.post(
                "/api/rules", json={"name": "x", "words": ["x"], "priority": True}
            ).status_code
            == 403
        )
        assert client.post("/api/rules/try", json={"words": ["x"]}).status_code == 403


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("empty name", {"name": "  ", "words": ["a"], "priority": True}, "rules.error.name_empty"),
    ("long name", {"name": "n" * 101, "words": ["a"], "priority": True}, "rules.error.name_too_long"),
    ("no words", {"name": "n", "words": [], "priority": True}, "rules.error.words_empty"),
    ("blank words", {"name": "n", "words": [" ", "\n"], "priority": True}, "rules.error.words_empty"),
    ("a star alone", {"name": "n", "words": ["*"], "priority": True}, "rules.error.word_empty"),
    ("long word", {"name": "n", "words": ["w" * 101], "priority": True}, "rules.error.word_too_long"),
    ("51 words", {"name": "n", "words": [f"w{i}" for i in range(51)], "priority": True}, "rules.error.too_many_words"),
    ("no action", {"name": "n", "words": ["a"]}, "rules.error.no_action"),
    ("no action, nulls", {"name": "n", "words": ["a"], "label_id": None, "priority": False}, "rules.error.no_action"),
    ("unknown label", {"name": "n", "words": ["a"], "label_id": 999999}, "rules.error.unknown_label"),
    ("far label", {"name": "n", "words": ["a"], "label_id": "far_label"}, "rules.error.unknown_label"),
    ("unknown office", {"name": "n", "words": ["a"], "office_id": 999999}, "rules.error.unknown_office"),
    ("far office", {"name": "n", "words": ["a"], "office_id": "far_office"}, "rules.error.unknown_office"),
    ("unknown adviser", {"name": "n", "words": ["a"], "adviser_id": 999999}, "rules.error.unknown_adviser"),
    ("far adviser", {"name": "n", "words": ["a"], "adviser_id": "far_user"}, "rules.error.unknown_adviser"),
    ("manager as adviser", {"name": "n", "words": ["a"], "adviser_id": "Sophie Lefèvre"}, "rules.error.adviser_without_office"),
    ("adviser of another office", {"name": "n", "words": ["a"], "office_id": "saint-clair", "adviser_id": "Camille Martin"}, "rules.error.adviser_not_of_office"),
    ("folded duplicate", {"name": "  MAREES ", "words": ["a"], "priority": True}, "rules.error.name_taken"),
    ("name not text", {"name": 7, "words": ["a"], "priority": True}, "error.invalid_input"),
    ("words not a list", {"name": "n", "words": "a", "priority": True}, "error.invalid_input"),
    ("huge id", {"name": "n", "words": ["a"], "office_id": 2**70}, "error.invalid_input"),
    ("priority not a boolean", {"name": "n", "words": ["a"], "priority": "yes"}, "error.invalid_input"),
    ("unknown field", {"name": "n", "words": ["a"], "priority": True, "regex": ".*"}, "error.invalid_input"),
]  # fmt: skip


async def test_bad_rules_are_refused_readably_and_nothing_is_stored(
    live: LiveServer, services: Services
) -> None:
    known = await ids(services)
    boss = boss_of(live)
    with login(live.url, boss.email, boss.password) as client:
        client.headers["accept-language"] = "fr"
        first = client.post(
            "/api/rules", json={"name": "Marées", "words": [".*(", "a+b", "[x]"], "priority": True}
        )
        assert first.status_code == 201
        assert first.json()["words"] == [
            ".*(",
            "a+b",
            "[x]",
        ]  # stored as written, matched literally
        for what, body, code in BAD:
            body = {
                k: known.get(v, v) if isinstance(v, str) and k.endswith("_id") else v
                for k, v in body.items()
            }
            if what == "manager as adviser":
                body["adviser_id"] = known["Sophie Lefèvre"]
            if what == "adviser of another office":
                body["office_id"], body["adviser_id"] = (
                    known["saint-clair"],
                    known["Camille Martin"],
                )
            answer = client.post("/api/rules", json=body)
            assert answer.status_code == 422, (what, answer.text)
            assert answer.json()["code"] == code, what
            assert answer.json()["detail"] and answer.json()["detail"] != code, what
            if what in ("no action", "folded duplicate"):
                continue  # a change keeps the rule's priority; its own name is not a duplicate
            changed = client.patch(f"/api/rules/{first.json()['id']}", json=body)
            assert changed.status_code == 422, (what, changed.text)
        bad_position = client.patch(f"/api/rules/{first.json()['id']}", json={"position": -1})
        assert bad_position.status_code == 422
        assert client.post("/api/rules/try", json={"words": ["*"]}).status_code == 422
        assert client.post("/api/rules/try", json={"words": "x"}).status_code == 422
        assert client.patch("/api/rules/99999999999999999999", json={}).status_code == 422
        rules = client.get("/api/rules").json()
        assert [(r["name"], r["words"], r["priority"], r["active"]) for r in rules] == [
            ("Marées", [".*(", "a+b", "[x]"], True, False)
        ]
        refused = client.post("/api/rules", json={"name": "", "words": ["a"], "priority": True})
        assert refused.json()["detail"] == "Donnez un nom à la règle."


async def test_who_may_read_and_manage_rules(live: LiveServer, services: Services) -> None:
    known = await ids(services)
    boss = boss_of(live)
    with login(live.url, boss.email, boss.password) as client:
        theirs = client.post(
            "/api/rules", json={"name": "SC", "words": ["plage"], "office_id": known["saint-clair"]}
        ).json()
        other = client.post(
            "/api/rules", json={"name": "PA", "words": ["port"], "office_id": known["port-argent"]}
        ).json()
        label_only = client.post(
            "/api/rules", json={"name": "L", "words": ["l"], "label_id": known["label"]}
        ).json()
    async with services.db.session() as session:
        far = Rule(destination_id=2, name="Far", key="far", words='["x"]', priority=True,
                   created_at=OFFICE_HOURS, updated_at=OFFICE_HOURS)  # fmt: skip
        session.add(far)
        await session.commit()
        far_id = far.id
    with login(live.url, "chef@saint-clair.example", "chef-password-123") as chief:
        listed = {r["name"]: r["editable"] for r in chief.get("/api/rules").json()}
        assert listed == {"SC": True, "PA": False, "L": False}
        assert chief.get("/rules").status_code == 200
        assert chief.patch(f"/api/rules/{theirs['id']}", json={"active": True}).status_code == 200
        nathan = {"adviser_id": known["Nathan Moreau"], "office_id": None}
        assert chief.patch(f"/api/rules/{theirs['id']}", json=nathan).status_code == 200
        for rule in (other, label_only):
            assert chief.patch(f"/api/rules/{rule['id']}", json={"active": True}).status_code == 403
            assert chief.delete(f"/api/rules/{rule['id']}").status_code == 403
        # Not to another office, nor destination-wide.
        away = chief.patch(
            f"/api/rules/{theirs['id']}",
            json={"adviser_id": None, "office_id": known["port-argent"]},
        )
        assert away.status_code == 403
        assert (
            chief.post(
                "/api/rules", json={"name": "X", "words": ["x"], "priority": True}
            ).status_code
            == 403
        )
        assert (
            chief.post(
                "/api/rules", json={"name": "Y", "words": ["y"], "office_id": known["saint-clair"]}
            ).status_code
            == 201
        )
        assert chief.patch(f"/api/rules/{far_id}", json={"active": True}).status_code == 404
        assert chief.delete(f"/api/rules/{theirs['id']}").status_code == 204
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        assert client.get("/api/rules").status_code == 403
        assert (
            client.post(
                "/api/rules", json={"name": "Z", "words": ["z"], "priority": True}
            ).status_code
            == 403
        )
        assert client.post("/api/rules/try", json={"words": ["z"]}).status_code == 403
        assert client.patch(f"/api/rules/{other['id']}", json={"active": True}).status_code == 403
        assert client.get("/rules").status_code == 403
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get("/api/rules").status_code == 401
        assert anonymous.get("/rules").status_code == 303


@pytest.mark.parametrize("words", [["\ud800"], ["a\x00b"], ["\u202e tide"], ["'\"<script>"]])
async def test_odd_words_are_stored_or_refused_never_a_500(
    live: LiveServer, services: Services, words: list[str]
) -> None:
    boss = boss_of(live)
    with login(live.url, boss.email, boss.password) as client:
        body = {"name": "Odd", "words": words, "priority": True}
        answer = client.post(
            "/api/rules", content=_json(body), headers={"content-type": "application/json"}
        )
        assert answer.status_code in (201, 422), answer.text
        tried = client.post(
            "/api/rules/try",
            content=_json({"words": words}),
            headers={"content-type": "application/json"},
        )
        assert tried.status_code in (200, 422), tried.text


def _json(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()  # lone surrogates as \ud800 escapes, as a browser may send
