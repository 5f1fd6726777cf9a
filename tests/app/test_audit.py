"""The audit log: every manager's read of visitor data (export, profile) and erasure is
recorded with who, what, when and from where; the destination manager reads it at /audit,
filtered and paged, and exports it as CSV; nobody else can — over a real server and database."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlmodel import col, select

from app import audit
from app.inbox import Inbox
from app.models import Account, AuditEntry, Conversation, Role, User
from app.security import hash_password
from app.services import Services
from tests.app.test_visitor_data import chat
from tests.conftest import LiveServer, login, office_login


def manager(live: LiveServer) -> tuple[str, str]:
    found = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    return found.email, found.password


async def entries(services: Services) -> list[AuditEntry]:
    async with services.db.session() as session:
        return list((await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all())


async def add_office_manager(services: Services) -> tuple[str, str]:
    async with services.db.session() as session:
        office = (await session.exec(select(Account).where(Account.key == "chat-port-argent"))).one()  # fmt: skip
        session.add(
            User(destination_id=1, office_id=office.office_id, name="Boss PA",
                 role=Role.OFFICE_MANAGER, email="boss@port-argent.example",
                 password_hash=hash_password("boss-password-12"))
        )  # fmt: skip
        await session.commit()
    return "boss@port-argent.example", "boss-password-12"


async def test_every_managers_read_and_erasure_is_recorded(
    live: LiveServer, services: Services
) -> None:
    now = services.clock.now()
    inbox = Inbox(services)
    cid = (await inbox.ingest(chat("v-audit", "Bonjour, je suis Ana", now))).conversation_id
    other = (await inbox.ingest(chat("v-other", "Hello", now))).conversation_id
    async with services.db.session() as session:
        contact_id = (await session.get(Conversation, cid)).contact_id  # type: ignore[union-attr]
    boss = await add_office_manager(services)
    adviser = office_login(live, "port-argent")

    with login(live.url, adviser.email, adviser.password) as client:
        assert client.get(f"/api/contacts/{contact_id}").status_code == 200  # daily work
        assert client.get(f"/api/conversations/{cid}/visitor-data").status_code == 403
    assert await entries(services) == []

    with login(live.url, *boss) as client:
        assert client.get(f"/api/contacts/{contact_id}").status_code == 200
        assert client.get(f"/api/conversations/{cid}/visitor-data").status_code == 200
        # A correction answers with the profile: a read too.
        assert (
            client.patch(f"/api/contacts/{contact_id}", json={"name": "Ana L."}).status_code == 200
        )
    with login(live.url, *manager(live)) as client:
        me = client.get("/api/me").json()
        assert client.get(f"/api/conversations/{other}/visitor-data").status_code == 200
        assert (
            client.get("/api/contacts/999999").status_code == 404
        )  # nothing read, nothing recorded
        assert client.post(f"/api/conversations/{other}/erase-visitor").status_code == 200

    rows = await entries(services)
    assert [(e.action, e.conversation_id, e.contact_id, e.detail) for e in rows] == [
        ("profile", None, contact_id, ""),
        ("export", cid, contact_id, ""),
        ("profile", None, contact_id, "corrected"),
        ("export", other, rows[3].contact_id, ""),
        ("erase", other, rows[3].contact_id, "1 conversation(s)"),
    ]
    assert rows[3].contact_id is not None
    assert [e.actor_id for e in rows][3:] == [me["id"], me["id"]]
    assert rows[0].actor_id == rows[1].actor_id == rows[2].actor_id != me["id"]
    assert all(e.ip == "127.0.0.1" and e.destination_id == 1 for e in rows)
    assert all(e.at.tzinfo is not None and abs(e.at - now) < timedelta(minutes=5) for e in rows)


async def test_a_read_that_cannot_be_recorded_is_refused(
    live: LiveServer, services: Services
) -> None:
    cid = (await Inbox(services).ingest(chat("v-x", "Bonjour", services.clock.now()))).conversation_id  # fmt: skip
    async with services.db.session() as session:
        contact_id = (await session.get(Conversation, cid)).contact_id  # type: ignore[union-attr]
        await session.exec(text("DROP TABLE audit_entry"))  # type: ignore[call-overload]
        await session.commit()
    with login(live.url, *manager(live)) as client:
        for path in (f"/api/conversations/{cid}/visitor-data", f"/api/contacts/{contact_id}"):
            refused = client.get(path, headers={"accept-language": "en"})
            assert refused.status_code == 503, path
            assert "could not be recorded" in refused.json()["detail"]
            assert "Bonjour" not in refused.text


async def test_the_audit_page_is_the_destination_managers_filtered_paged_and_csv(
    live: LiveServer, services: Services
) -> None:
    now = services.clock.now()
    async with services.db.session() as session:
        boss = (await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))).one()  # fmt: skip
        for n in range(55):
            audit.add(session, 1, "profile", now - timedelta(minutes=n), actor_id=boss.id,
                      contact_id=n, ip="10.0.0.1")  # fmt: skip
        audit.add(session, 1, "visitor_erase", now - timedelta(days=3), conversation_id=7,
                  detail="=HYPERLINK(\"x\")", ip="10.0.0.2")  # fmt: skip
        audit.add(session, 1, "export", now - timedelta(days=40), actor_id=boss.id)
        await session.commit()
    office_boss = await add_office_manager(services)
    adviser = office_login(live, "port-argent")
    for who in (office_boss, (adviser.email, adviser.password)):
        with login(live.url, *who) as client:
            assert client.get("/audit").status_code == 403
            assert client.get("/audit.csv").status_code == 403
    assert httpx.get(f"{live.url}/audit").status_code == 303

    with login(live.url, *manager(live)) as client:
        first = client.get("/audit")
        assert first.status_code == 200
        assert first.text.count('data-testid="audit-entry"') == 50
        assert 'data-testid="audit-next"' in first.text
        second = client.get("/audit", params={"page": 2})
        assert second.text.count('data-testid="audit-entry"') == 7
        mine = client.get("/audit", params={"actor": "visitor"})
        assert mine.text.count('data-testid="audit-entry"') == 1 and "Le visiteur" in mine.text
        only = client.get("/audit", params={"action": "export"})
        assert only.text.count('data-testid="audit-entry"') == 1
        day = (now - timedelta(days=3)).astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
        period = client.get("/audit", params={"from": day, "to": day})
        assert period.text.count('data-testid="audit-entry"') == 1
        assert client.get("/audit", params={"from": "2026-13-45"}).status_code == 422
        assert client.get("/audit", params={"action": "drop table"}).status_code == 422
        assert client.get("/audit", params={"actor": "x"}).status_code == 422
        for bad in (
            {"from": "9999-12-31"},
            {"to": "0001-01-01"},
            {"from": "\uff12\uff10\uff12\uff16-07-21"},  # full-width digits
            {"from": "2026-07-21T00:00"},
            {"actor": "\u00b2"},  # a digit to str.isdigit, not to int()
            {"actor": "9" * 40},
        ):
            assert client.get("/audit", params=bad).status_code == 422, bad
            assert client.get("/audit.csv", params=bad).status_code == 422, bad
        for page in ("9" * 5000, "0", "-3", "\u00b3"):  # out of range or not a page: the first
            assert client.get("/audit", params={"page": page}).status_code == 200, page

        exported = client.get("/audit.csv", params={"actor": "visitor"})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")  # fmt: skip
        table = list(csv.reader(io.StringIO(exported.text)))
        assert table[0][:4] == ["at_utc", "actor_id", "actor", "action"]
        assert len(table) == 2 and table[1][3] == "visitor_erase" and table[1][4] == "7"
        assert table[1][6] == '\'=HYPERLINK("x")'  # never a formula in a spreadsheet
        assert table[1][0].endswith("+00:00")
        everything = list(csv.reader(io.StringIO(client.get("/audit.csv").text)))
        assert len(everything) == 1 + 57
