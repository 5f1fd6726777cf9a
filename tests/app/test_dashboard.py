"""Dashboard figures for hand-built conversations, permissions and exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app import actions
from app.inbox import Inbox
from app.models import Office, Role, User
from app.security import hash_password
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.conftest import LiveServer, login

DAY = "preset=custom&first=2026-07-21&last=2026-07-21"


async def converse(
    services: Services, account: str, visitor: str, at: datetime, wait: float | None, who: str
) -> None:
    services.clock.set(at, frozen=True)
    message = InboundMessage(
        channel=Channel.WEBCHAT, account=account, external_id=f"{visitor}:c1", thread_key=visitor,
        author=Author(external_id=visitor), text="Bonjour", received_at=at,
    )  # fmt: skip
    result = await Inbox(services).ingest(message)
    if wait is None:
        return
    async with services.db.session() as session:
        user = (await session.exec(select(User).where(User.email == who))).one()
    services.clock.set(at + timedelta(seconds=wait), frozen=True)
    await actions.reply(services, user, result.conversation_id, "Bonjour !")


async def history(services: Services) -> None:
    camille, lea = "camille@port-argent.example", "lea@saint-clair.example"
    ten = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Paris
    await converse(services, "chat-port-argent", "a", ten, 60, camille)
    await converse(services, "chat-port-argent", "b", ten + timedelta(minutes=5), 180, camille)
    await converse(services, "chat-saint-clair", "c", ten, 30, lea)
    await converse(
        services, "chat-port-argent", "d", datetime(2026, 7, 21, 21, 30, tzinfo=UTC), None, ""
    )
    async with services.db.session() as session:
        office = (await session.exec(select(Office).where(Office.slug == "saint-clair"))).one()
        session.add(
            User(
                destination_id=1,
                office_id=office.id,
                email="boss@saint-clair.example",
                name="Boss",
                password_hash=hash_password("boss-password-1"),
                role=Role.OFFICE_MANAGER,
            )
        )
        await session.commit()


def manager(live: LiveServer) -> tuple[str, str]:
    found = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    return found.email, found.password


async def test_figures_per_account_office_and_adviser(live: LiveServer, services: Services) -> None:
    await history(services)
    with login(live.url, *manager(live)) as client:
        data = client.get(f"/api/metrics?{DAY}").json()
    accounts = {row["label"]: row for row in data["accounts"]}
    port = accounts["Chat de Port-Argent"]
    assert (port["conversations"], port["replied"]) == (3, 2)
    # Nearest rank: of [60, 180], the median is the 1st (⌈2/2⌉) and the p90 the 2nd (⌈1.8⌉).
    assert (port["mean_seconds"], port["median_seconds"], port["p90_seconds"]) == (120, 60, 180)
    assert port["within_target"] == 1 / 3  # only the 60 s answer is within chat's 2 minutes
    assert accounts["Chat de Saint-Clair"]["median_seconds"] == 30
    offices = {row["label"]: row["conversations"] for row in data["offices"]}
    assert offices == {
        "Office de Tourisme de Port-Argent": 3,
        "Office de Tourisme de Saint-Clair": 1,
    }
    advisers = {row["label"]: row["conversations_first_answered"] for row in data["advisers"]}
    assert advisers == {"Camille Martin": 2, "Léa Dubois": 1}
    assert data["total"]["conversations"] == 4
    assert data["trend"] == [
        {"day": "2026-07-21", "median_seconds": 60, "median_duty_seconds": 60, "conversations": 4}
    ]
    assert data["heat"][1][10]["turns"] == 3  # Tuesday 10:00–11:00
    assert data["heat"][1][23]["turns"] == 1


async def test_permissions_and_bad_periods(live: LiveServer, services: Services) -> None:
    await history(services)
    with login(live.url, "boss@saint-clair.example", "boss-password-1") as client:
        client.headers["accept-language"] = "en"
        own = client.get(f"/api/metrics?{DAY}").json()
        assert [row["label"] for row in own["accounts"]] == ["Chat de Saint-Clair"]
        other = client.get(f"/api/metrics?{DAY}&office_id=1")
        assert other.status_code == 403
        assert other.json()["detail"] == "You can only see the figures of your own office."
        inverted = client.get("/api/metrics?preset=custom&first=2026-07-21&last=2026-07-01")
        assert inverted.status_code == 422 and "ends before it starts" in inverted.json()["detail"]
        absurd = client.get("/api/metrics?preset=custom&first=2020-01-01&last=2026-07-01")
        assert absurd.status_code == 422
        assert client.get(f"/api/metrics?{DAY}&account_id=9999").status_code == 422
        yesterday = client.get("/api/metrics?preset=yesterday")
        assert yesterday.status_code == 422 and yesterday.json()["detail"].startswith(
            "Unknown period"
        )
        bad_date = client.get("/api/metrics?preset=custom&first=21/07/2026&last=2026-07-21")
        assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.json()["detail"]
        bad_id = client.get("/api/metrics/export.csv?account_id=one")
        assert bad_id.status_code == 422 and bad_id.json()["code"] == "error.bad_filter"
        page = client.get("/dashboard?preset=custom&first=2026-07-21&last=2026-07-01")
        assert page.status_code == 422 and "ends before it starts" in page.text
        # The language chosen in the interface wins over the browser's, for pages and the API.
        token = client.headers["X-CSRF-Token"]
        chosen = client.post("/language", data={"language": "fr", "csrf_token": token})
        assert chosen.status_code == 303
        inverted = client.get("/api/metrics?preset=custom&first=2026-07-21&last=2026-07-01")
        assert inverted.json()["detail"] == "La période se termine avant de commencer."
        page = client.get("/dashboard?preset=custom&first=2026-07-21&last=2026-07-01")
        assert "La période se termine avant de commencer." in page.text
        page = client.get("/dashboard?preset=yesterday")
        assert page.status_code == 422 and "Période inconnue" in page.text
        assert page.headers["content-language"] == "fr"
    with login(
        live.url, "camille@port-argent.example", live.logins["camille@port-argent.example"].password
    ) as client:
        mine = client.get(f"/api/metrics?{DAY}").json()
        assert [row["label"] for row in mine["advisers"]] == ["Camille Martin"]


async def test_csv_exports(live: LiveServer, services: Services) -> None:
    await history(services)
    with login(live.url, *manager(live)) as client:
        rows = list(csv.DictReader(io.StringIO(client.get(f"/api/metrics/export.csv?{DAY}").text)))
        table = list(
            csv.DictReader(
                io.StringIO(client.get(f"/api/metrics/export.csv?kind=accounts&{DAY}").text)
            )
        )
        by_office, by_adviser = (
            {r[name]: r[count] for r in csv.DictReader(io.StringIO(
                client.get(f"/api/metrics/export.csv?kind={kind}&{DAY}").text))}
            for kind, name, count in (("offices", "office", "conversations"),
                                      ("advisers", "adviser", "conversations_first_answered"))
        )  # fmt: skip
        page = client.get(f"/dashboard?{DAY}")
    assert len(rows) == 4 and {r["account_key"] for r in rows} == {
        "chat-port-argent",
        "chat-saint-clair",
    }
    assert sorted(r["wall_seconds"] for r in rows) == ["", "180", "30", "60"]  # whole seconds
    assert {r["account"]: r["conversations"] for r in table} == {
        "Chat de Port-Argent": "3",
        "Chat de Saint-Clair": "1",
    }
    assert by_office == {
        "Office de Tourisme de Port-Argent": "3",
        "Office de Tourisme de Saint-Clair": "1",
    }
    assert by_adviser == {"Camille Martin": "2", "Léa Dubois": "1"}  # first replies written
    assert (
        page.status_code == 200
        and 'data-testid="dash-accounts"' in page.text
        and "2 min" in page.text
    )
    # French figures: "%" after a narrow no-break space, days as "j".
    assert "\u202f%" in page.text and "NaN" not in page.text


async def test_the_page_takes_empty_filters_as_all_and_shows_bad_ones(
    live: LiveServer, services: Services
) -> None:
    await history(services)
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "en"
        every = client.get(f"/dashboard?{DAY}&channel=&account_id=&office_id=")
        assert every.status_code == 200 and 'data-testid="dash-accounts"' in every.text
        one = client.get(f"/dashboard?{DAY}&channel=&account_id=&office_id=1")
        assert one.status_code == 200 and 'value="1" selected' in one.text
        for bad, message in (
            ("office_id=x" * 5, "Unreadable filter"),
            ("account_id=" + "9" * 41, "Unreadable filter"),
            ("channel=fax", "Unknown channel"),
            ("account_id=-1", "Unreadable filter"),
            ("office_id=999", "no such office"),
        ):
            page = client.get(f"/dashboard?{DAY}&{bad}")
            assert page.status_code == 422, bad
            assert page.headers["content-type"].startswith("text/html"), bad
            assert message in page.text and 'data-testid="dash-filters"' in page.text, bad
        api = client.get(f"/api/metrics?{DAY}&channel=fax")
        assert api.status_code == 422 and api.json()["code"] == "error.bad_channel"
