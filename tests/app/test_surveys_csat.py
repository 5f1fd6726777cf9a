"""CSAT on the dashboard (app/csat.py): exact figures on a known set of surveys, per account,
office and adviser, the comments newest first, per-office permission, JSON, CSV and the page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.models import Conversation, Survey, User
from app.services import Services
from tests.app.test_dashboard import DAY, history, manager
from tests.conftest import LiveServer, login

SENT = datetime(2026, 7, 21, 9, 0, tzinfo=UTC)


async def known_surveys(services: Services) -> dict[str, int]:
    """a 5 "Parfait", b 3 "=SUM(A1)", c 4 "Merci Léa" (Saint-Clair), d unanswered; one not
    sent (via "") and one of an earlier week: both left out. Conversation ids by visitor."""
    await history(services)
    async with services.db.session() as session:
        ids = {
            c.thread_key: c
            for c in (await session.exec(select(Conversation))).all()
            if c.id is not None
        }
        users = {u.email: u.id for u in (await session.exec(select(User))).all()}
        camille, lea = users["camille@port-argent.example"], users["lea@saint-clair.example"]

        def survey(key: str, adviser: int | None, rating: int | None, comment: str = "",
                   via: str = "widget", sent: datetime = SENT, hours: int = 1) -> Survey:  # fmt: skip
            conversation = ids[key]
            return Survey(
                destination_id=1, conversation_id=conversation.id or 0,
                account_id=conversation.account_id, office_id=conversation.office_id,
                adviser_id=adviser, channel="webchat", via=via, language="fr", sent_at=sent,
                expires_at=sent + timedelta(days=7), rating=rating, comment=comment,
                answered_at=sent + timedelta(hours=hours) if rating else None,
            )  # fmt: skip

        session.add(survey("a", camille, 5, "Parfait", hours=1))
        session.add(survey("b", camille, 3, "=SUM(A1)", hours=2))
        session.add(survey("c", lea, 4, "Merci Léa", hours=3))
        session.add(survey("d", camille, None))
        session.add(survey("c", lea, 1, "pas envoyée", via=""))
        session.add(survey("a", camille, 1, "la semaine d'avant", sent=SENT - timedelta(days=11)))
        await session.commit()
    return {k: c.id or 0 for k, c in ids.items()}


async def test_exact_csat_per_account_office_and_adviser(
    live: LiveServer, services: Services
) -> None:
    ids = await known_surveys(services)
    with login(live.url, *manager(live)) as client:
        data = client.get(f"/api/metrics/csat?{DAY}").json()
    total = data["total"]
    assert (total["sent"], total["answered"]) == (4, 3)
    assert total["csat"] == 2 / 3 and total["average"] == 4.0 and total["response_rate"] == 0.75
    offices = {
        r["label"]: (r["sent"], r["answered"], r["csat"], r["average"]) for r in data["offices"]
    }
    assert offices == {
        "Office de Tourisme de Port-Argent": (3, 2, 0.5, 4.0),
        "Office de Tourisme de Saint-Clair": (1, 1, 1.0, 4.0),
    }
    accounts = {r["label"]: r["csat"] for r in data["accounts"]}
    assert accounts == {"Chat de Port-Argent": 0.5, "Chat de Saint-Clair": 1.0}
    advisers = {r["label"]: (r["sent"], r["csat"], r["response_rate"]) for r in data["advisers"]}
    assert advisers == {"Camille Martin": (3, 0.5, 2 / 3), "Léa Dubois": (1, 1.0, 1.0)}
    with login(live.url, *manager(live)) as client:
        # The dashboard's own JSON carries the same figures.
        assert client.get(f"/api/metrics?{DAY}").json()["csat"]["total"] == total
    comments = [(c["rating"], c["comment"], c["conversation_id"]) for c in data["comments"]]
    assert comments == [
        (4, "Merci Léa", ids["c"]),
        (3, "=SUM(A1)", ids["b"]),
        (5, "Parfait", ids["a"]),
    ]


async def test_an_office_manager_sees_their_office_and_an_adviser_their_own(
    live: LiveServer, services: Services
) -> None:
    ids = await known_surveys(services)
    with login(live.url, "boss@saint-clair.example", "boss-password-1") as client:
        own = client.get(f"/api/metrics/csat?{DAY}").json()
        assert [r["label"] for r in own["offices"]] == ["Office de Tourisme de Saint-Clair"]
        assert own["total"]["sent"] == 1
        assert [(c["comment"], c["conversation_id"]) for c in own["comments"]] == [
            ("Merci Léa", ids["c"])
        ]
        assert client.get(f"/api/metrics/csat?{DAY}&office_id=1").status_code == 403
        assert client.get(f"/api/metrics/csat.csv?{DAY}&office_id=1").status_code == 403
        assert client.get(f"/api/metrics/csat?{DAY}&account_id=x").status_code == 422
    camille = live.logins["camille@port-argent.example"]
    with login(live.url, camille.email, camille.password) as client:
        mine = client.get(f"/api/metrics/csat?{DAY}").json()
        assert [r["label"] for r in mine["advisers"]] == ["Camille Martin"]
        assert "Merci Léa" not in [c["comment"] for c in mine["comments"]]
    with httpx_anonymous(live) as anonymous:
        assert anonymous.get(f"/api/metrics/csat?{DAY}").status_code == 401


def httpx_anonymous(live: LiveServer):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.Client(base_url=live.url, timeout=10)


async def test_csv_and_the_dashboard_section(live: LiveServer, services: Services) -> None:
    await known_surveys(services)
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "en"
        advisers = client.get(f"/api/metrics/csat.csv?kind=advisers&{DAY}")
        assert advisers.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(advisers.text)))
        assert [(r["label"], r["sent"], r["answered"], r["csat"]) for r in rows] == [
            ("Camille Martin", "3", "2", "0.5"),
            ("Léa Dubois", "1", "1", "1.0"),
        ]
        comments = list(
            csv.DictReader(
                io.StringIO(client.get(f"/api/metrics/csat.csv?kind=comments&{DAY}").text)
            )
        )
        # A comment a spreadsheet would run as a formula is written after a quote.
        assert [r["comment"] for r in comments] == ["Merci Léa", "'=SUM(A1)", "Parfait"]
        assert client.get(f"/api/metrics/csat.csv?kind=everything&{DAY}").status_code == 422
        page = client.get(f"/dashboard?{DAY}")
        assert page.status_code == 200
        section = page.text.split('data-testid="dash-csat"', 1)[1]
        assert 'data-testid="csat-total">67%<' in section
        assert "Parfait" in section and "/inbox#c" in section


async def test_the_demo_history_gets_surveys_and_a_csat(services: Services) -> None:
    from app import csat, survey_demo
    from app.dashboard import Filters, Period
    from app.demo_history import generate

    evening = datetime(2026, 7, 21, 19, 0, tzinfo=UTC)
    async with services.db.session() as session:
        await generate(session, 7, evening)
        written = await survey_demo.seed_demo(session, 1)
        assert written > 20
        assert await survey_demo.seed_demo(session, 1) == 0  # once
        manager = (await session.exec(select(User).where(User.email.startswith("manager@")))).one()  # type: ignore[attr-defined]
        period = Period.of(evening.date() - timedelta(days=7), evening.date(), "Europe/Paris")
        found = await csat.report(session, manager, period, Filters(), "Europe/Paris")
    assert found.total.answered > 0 and found.total.csat is not None
    assert 0.4 < (found.total.response_rate or 0) < 0.6
    assert found.comments and all(c.comment for c in found.comments)
