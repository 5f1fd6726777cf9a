"""What visitors ask about: conversations per label, month and office on the dashboard and in
its CSV — months in the destination's time zone across the DST changes, an office manager
counting only their office, and label names a spreadsheet would take for formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app import labels
from app.inbox import Inbox
from app.models import User
from app.services import Services
from tests.app.test_accounts import office_manager
from tests.app.test_api_lists import chat
from tests.conftest import LiveServer, login

# Europe/Paris: summer time starts on 29 March 2026 and ends on 25 October 2026.
STARTS = [
    # (UTC instant, account, local month)
    (datetime(2026, 3, 31, 21, 30, tzinfo=UTC), "chat-port-argent", "2026-03"),  # 23:30 CEST
    (datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "chat-port-argent", "2026-04"),  # 00:30 CEST
    (datetime(2026, 10, 31, 22, 30, tzinfo=UTC), "chat-port-argent", "2026-10"),  # 23:30 CET
    (datetime(2026, 10, 31, 23, 30, tzinfo=UTC), "chat-port-argent", "2026-11"),  # 00:30 CET
    (datetime(2026, 7, 21, 8, 0, tzinfo=UTC), "chat-saint-clair", "2026-07"),  # in its hours
]
QUERY = "preset=custom&first=2026-03-01&last=2026-11-30"


async def labelled(services: Services) -> tuple[int, int]:
    """The conversations of STARTS, all labelled "=cmd()" and the first two also "Vélo"."""
    inbox = Inbox(services)
    ids = []
    for n, (at, account, _) in enumerate(STARTS):
        services.clock.set(at + timedelta(minutes=1))  # an arrival counts up to now
        ids.append((await inbox.ingest(chat(100 + n, at, account))).conversation_id)
    async with services.db.session() as session:
        boss = (await session.exec(select(User).where(User.email.startswith("manager@")))).one()  # type: ignore[attr-defined]
    formula = await labels.create(services, boss, "=cmd()", "#dc2626")
    velo = await labels.create(services, boss, "Vélo", "#059669")
    assert formula.id is not None and velo.id is not None
    for cid in ids:
        await labels.set_label(services, boss, cid, formula.id, True)
    for cid in ids[:2]:
        await labels.set_label(services, boss, cid, velo.id, True)
    return formula.id, velo.id


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_counts_per_month_and_office_across_dst(live: LiveServer, services: Services) -> None:
    formula, velo = await labelled(services)
    boss = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, boss.email, boss.password) as client:
        response = client.get(f"/dashboard/labels.csv?{QUERY}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        found = {
            (r["month"], r["office"], r["label"]): int(r["conversations"])
            for r in rows(response.text)
        }
        port, clair = "Office de Tourisme de Port-Argent", "Office de Tourisme de Saint-Clair"
        assert found == {
            ("2026-03", port, "'=cmd()"): 1,
            ("2026-03", port, "Vélo"): 1,
            ("2026-04", port, "'=cmd()"): 1,
            ("2026-04", port, "Vélo"): 1,
            ("2026-07", clair, "'=cmd()"): 1,
            ("2026-10", port, "'=cmd()"): 1,
            ("2026-11", port, "'=cmd()"): 1,
        }
        # The dashboard's filters apply; a period without them counts nothing.
        clair_id = next(r["office_id"] for r in rows(response.text) if r["office"] == clair)
        only_clair = rows(client.get(f"/dashboard/labels.csv?{QUERY}&office_id={clair_id}").text)
        assert [(r["month"], r["label"]) for r in only_clair] == [("2026-07", "'=cmd()")]
        april = rows(
            client.get("/dashboard/labels.csv?preset=custom&first=2026-04-01&last=2026-04-30").text
        )
        assert [(r["month"], r["label"]) for r in april] == [
            ("2026-04", "'=cmd()"),
            ("2026-04", "Vélo"),
        ]
        none = client.get("/dashboard/labels.csv?preset=custom&first=2025-01-01&last=2025-01-31")
        assert rows(none.text) == []
        bad = client.get("/dashboard/labels.csv?preset=custom&first=2026-13-01&last=2026-11-30")
        assert bad.status_code == 422 and bad.json()["detail"]
        assert client.get("/dashboard/labels.csv?office_id=abc").status_code == 422
        # The page shows the same counts, the names as text.
        page = client.get(f"/dashboard?{QUERY}", headers={"accept-language": "en"})
        assert page.status_code == 200
        assert "What visitors ask about" in page.text
        section = page.text.split('data-testid="dash-labels"', 1)[1].split("</section>", 1)[0]
        assert f'data-label-id="{formula}"' in section and f'data-label-id="{velo}"' in section
        assert "=cmd()" in section and "<script" not in section


async def test_an_office_manager_counts_only_their_office(
    live: LiveServer, services: Services
) -> None:
    await labelled(services)
    chef = office_manager(live, "saint-clair")
    with login(live.url, *chef) as client:
        response = client.get(f"/dashboard/labels.csv?{QUERY}")
        assert response.status_code == 200, response.text
        found = [(r["month"], r["office"], r["label"]) for r in rows(response.text)]
        clair = "Office de Tourisme de Saint-Clair"
        assert found == [("2026-07", clair, "'=cmd()")]
        # Another office's figures are not theirs to ask for.
        assert client.get(f"/dashboard/labels.csv?{QUERY}&office_id=1").status_code == 403
        listed = client.get("/api/labels").json()["labels"]
        assert {x["name"]: x["conversations"] for x in listed} == {"=cmd()": 1, "Vélo": 0}


async def test_the_demo_labels_what_visitors_asked_once(services: Services) -> None:
    from app.models import ConversationLabel, Label

    inbox = Inbox(services)
    services.clock.set(datetime(2026, 7, 21, 9, 0, tzinfo=UTC))
    texts = ["Où louer un VÉLO ?", "When is high tide?", "Reste-t-il une chambre ?", "Bonjour"]
    for n, text in enumerate(texts * 3):
        at = datetime(2026, 7, 21, 8, n, tzinfo=UTC)
        await inbox.ingest(chat(200 + n, at, "chat-port-argent", text=text))
    for _ in range(2):
        async with services.db.session() as session:
            await labels.seed_demo(session, 1)
    async with services.db.session() as session:
        names = sorted(x.name for x in (await session.exec(select(Label))).all())
        pairs = (await session.exec(select(ConversationLabel))).all()
    assert names == sorted(name for name, _, _ in labels.DEMO)
    assert 0 < len(pairs) < 9  # some of the 9 that asked about something, each once
