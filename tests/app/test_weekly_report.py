"""The weekly report: ISO weeks in the destination's zone, the page and its PDF/HTML downloads
with the dashboard's own figures and rights, the Monday e-mail through a real SMTP server
(aiosmtpd) under a fake clock — once per week and recipient, in each one's language — and the
``concierge weekly-report`` command."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from app import keys, timefmt
from app.dashboard import DashboardError
from app.embedded_redis import free_port
from app.i18n import Translator
from app.models import Account, Office, Role, User
from app.security import hash_password
from app.services import Services
from app.settings import Settings
from app.weekly_report import Week, build, latin, pdf
from app.weekly_report_mail import send_pass
from tests.app.test_dashboard import history, manager
from tests.conftest import LiveServer, login

PARIS = "Europe/Paris"
WEEK = "2026-W30"  # Monday 20 to Sunday 26 July 2026: test_dashboard's history is on the 21st
FIRST, LAST = "2026-07-20", "2026-07-26"
MONDAY_AFTER = datetime(2026, 7, 27, 5, 5, tzinfo=UTC)  # 07:05 in Paris
HOSTILE = '<img src=x onerror=alert(1)> Chat & "Clair"'


# --- weeks --------------------------------------------------------------------------------------


def test_iso_weeks_are_read_strictly_and_span_local_monday_to_monday() -> None:
    assert Week.parse("2026-W48") == Week(2026, 48) == Week.parse(" 2026w48 ")
    assert Week.parse("2026-W53").monday.isoformat() == "2026-12-28"  # 2026 has 53 weeks
    for bad in ("2027-W53", "2026-W00", "2026-W54", "48", "2026-48", "W48", "", "1999-W10"):
        with pytest.raises(DashboardError) as caught:
            Week.parse(bad)
        assert caught.value.code == "error.bad_week" and caught.value.status == 422
    # The autumn DST night falls in 2026-W43: that week lasts 7 days and 1 hour of real time.
    period = Week.parse("2026-W43").period(PARIS)
    assert period.start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)  # Monday 19 Oct 00:00 CEST
    assert period.end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # Monday 26 Oct 00:00 CET
    # The last complete week turns over at Monday 00:00 local, not UTC.
    sunday_late = datetime(2026, 7, 26, 21, 30, tzinfo=UTC)  # Sunday 23:30 in Paris
    assert Week.last_complete(sunday_late, PARIS).label == "2026-W29"
    assert Week.last_complete(sunday_late + timedelta(hours=1), PARIS).label == WEEK
    Week.parse(WEEK).check_over(datetime(2026, 7, 26, 22, 0, tzinfo=UTC), PARIS)
    with pytest.raises(DashboardError) as caught:
        Week.parse(WEEK).check_over(datetime(2026, 7, 26, 21, 59, tzinfo=UTC), PARIS)
    assert caught.value.code == "error.week_not_over"


def test_without_a_unicode_font_the_pdf_still_draws_every_name() -> None:
    assert latin("95\u202f% — Œuvre “ok” Łódź 東京") == '95 % - OEuvre "ok" Lódz ??'


# --- the page and its downloads -----------------------------------------------------------------


class Tables(HTMLParser):
    """The rows of the report's tables: testid → [(data-key, [cell texts])]."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[str, list[str]]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self._table = found.get("data-testid") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None and "data-key" in found:
            self.tables[self._table].append((found["data-key"] or "", []))
        elif tag in ("td", "th") and self._table and self.tables[self._table]:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1][1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> dict[str, list[tuple[str, list[str]]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def expected(row: dict[str, Any], lang: str, offices: bool = False) -> list[str]:
    """A /api/metrics row as the report writes it (no survey in this week: no CSAT column);
    an office's also says how many turns another office answered."""
    elsewhere = [timefmt.number(row["answered_by_another_office"], lang)] if offices else []
    return [
        row["label"],
        timefmt.number(row["conversations"], lang),
        timefmt.duration(row["median_duty_seconds"], lang),
        timefmt.duration(row["p90_duty_seconds"], lang),
        timefmt.duration(row["median_seconds"], lang),
        timefmt.duration(row["p90_seconds"], lang),
        timefmt.percent(row["within_target"], lang),
        *elsewhere,
    ]


async def hostile_account_name(services: Services) -> None:
    async with services.db.session() as session:
        account = (
            await session.exec(select(Account).where(Account.key == "chat-saint-clair"))
        ).one()
        account.name = HOSTILE
        session.add(account)
        await session.commit()


def pdf_text(data: bytes) -> str:
    """The PDF's text, a long name wrapped in its cell read as one line."""
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


@pytest.fixture
def monday_server(make_server: Any) -> LiveServer:
    """A server whose clock reads Monday 27 July 2026, 10:00 in Paris (W30 is over)."""
    live: LiveServer = make_server(clock_start=datetime(2026, 7, 27, 8, 0, tzinfo=UTC))
    return live


async def test_the_page_and_downloads_show_the_dashboards_figures(
    monday_server: LiveServer, services: Services
) -> None:
    await history(services)
    await hostile_account_name(services)
    live = monday_server
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "en"
        metrics = client.get(f"/api/metrics?preset=custom&first={FIRST}&last={LAST}").json()
        page = client.get(f"/dashboard/weekly?week={WEEK}")
        default = client.get("/dashboard/weekly")  # the last complete week
        downloaded = client.get(f"/dashboard/weekly.html?week={WEEK}")
        document = client.get(f"/dashboard/weekly.pdf?week={WEEK}")
        dashboard = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-language"] == "en"
    assert 'data-testid="weekly-link"' in dashboard.text
    found = tables(page.text)
    for kind, testid in (("offices", "weekly-offices"), ("accounts", "weekly-accounts")):
        rows = {key: cells for key, cells in found[testid]}
        assert rows.pop("total", None) is not None or kind == "accounts"
        assert rows == {
            str(r["key"]): expected(r, "en", kind == "offices") for r in metrics[kind]
        }, kind
        assert len(rows) >= 2
    assert dict(found["weekly-offices"])["total"] == [
        "All offices",
        *expected(metrics["total"], "en", offices=True)[1:],
    ]
    # The busiest hours are the dashboard's heat map's fullest cells (Tuesday 10:00 first).
    busiest = found["weekly-busiest"]
    cell = metrics["heat"][1][10]
    assert busiest[0] == (
        "1-10",
        [
            "Tuesday 10:00–11:00",
            str(cell["turns"]),
            timefmt.duration(cell["median_duty_seconds"], "en"),
            timefmt.duration(cell["median_seconds"], "en"),
        ],
    )
    assert [int(cells[1]) for _, cells in busiest] == sorted(
        (c["turns"] for row in metrics["heat"] for c in row if c["turns"]), reverse=True
    )[: len(busiest)]
    # An account's name is data: escaped wherever it is shown.
    for text in (page.text, downloaded.text):
        assert HOSTILE not in text and "<img src=x" not in text
        assert "&lt;img src=x onerror=alert(1)&gt; Chat &amp; &#34;Clair&#34;" in text
    assert default.status_code == 200 and f"Weekly report {WEEK}" in default.text
    assert downloaded.headers["content-disposition"].startswith("attachment")
    assert tables(downloaded.text)["weekly-offices"] == found["weekly-offices"]
    assert document.status_code == 200 and document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF")
    text = pdf_text(document.content)
    for office in ("Office de Tourisme de Port-Argent", "Office de Tourisme de Saint-Clair"):
        assert office in text
    assert "Tuesday 10:00–11:00" in text and WEEK in text


async def test_csat_shows_when_surveys_went_out_that_week(
    monday_server: LiveServer, services: Services
) -> None:
    from tests.app.test_surveys_csat import known_surveys

    await known_surveys(services)  # three answered in W30, one of an earlier week left out
    live = monday_server
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "en"
        week = f"preset=custom&first={FIRST}&last={LAST}"
        satisfaction = client.get(f"/api/metrics/csat?{week}").json()
        page = client.get(f"/dashboard/weekly?week={WEEK}")
        earlier = client.get("/dashboard/weekly?week=2026-W29")  # no survey sent
    assert "CSAT (answers)" in page.text and "CSAT (answers)" not in earlier.text
    found = tables(page.text)

    def written(row: dict[str, Any]) -> str:
        return f"{timefmt.percent(row['csat'], 'en')} ({row['answered']})"

    offices = dict(found["weekly-offices"])
    assert offices.pop("total")[-1] == written(satisfaction["total"]) == "67% (3)"
    assert {k: v[-1] for k, v in offices.items()} == {
        str(r["key"]): written(r) for r in satisfaction["offices"]
    }
    accounts = {k: v[-1] for k, v in found["weekly-accounts"]}
    assert accounts == {str(r["key"]): written(r) for r in satisfaction["accounts"]}


async def test_rights_bad_weeks_and_french(monday_server: LiveServer, services: Services) -> None:
    await history(services)  # adds boss@saint-clair, an office manager
    live = monday_server
    with login(live.url, "boss@saint-clair.example", "boss-password-1") as client:
        client.headers["accept-language"] = "en"
        metrics = client.get(f"/api/metrics?preset=custom&first={FIRST}&last={LAST}").json()
        page = client.get(f"/dashboard/weekly?week={WEEK}")
        document = client.get(f"/dashboard/weekly.pdf?week={WEEK}")
        bad = client.get("/dashboard/weekly?week=2026-W99")
        bad_pdf = client.get("/dashboard/weekly.pdf?week=next+week")
        unfinished = client.get("/dashboard/weekly?week=2026-W31")
        long = client.get("/dashboard/weekly?week=" + "9" * 500)
        token = client.headers["X-CSRF-Token"]
        client.post("/language", data={"language": "fr", "csrf_token": token})
        french = client.get(f"/dashboard/weekly?week={WEEK}")
        bad_french = client.get("/dashboard/weekly?week=2026-W99")
    async with services.db.session() as session:
        own = (await session.exec(select(Office).where(Office.slug == "saint-clair"))).one()
    # Their office's row only, with the dashboard's figures as they see them.
    offices = tables(page.text)["weekly-offices"]
    assert [key for key, _ in offices] == [str(own.id)]
    mine = next(r for r in metrics["offices"] if r["key"] == own.id)
    assert offices[0][1] == expected(mine, "en", offices=True)
    assert "Office de Tourisme de Port-Argent" not in pdf_text(document.content)
    assert "Office de Tourisme de Saint-Clair" in pdf_text(document.content)
    for refused in (bad, bad_pdf):
        assert refused.status_code == 422 and 'data-testid="weekly-error"' in refused.text
        assert "Unreadable week" in refused.text and "2026-W48" in refused.text
    assert unfinished.status_code == 422 and "not over yet" in unfinished.text
    assert long.status_code == 422 and "Traceback" not in long.text
    assert french.status_code == 200 and french.headers["content-language"] == "fr"
    assert "Rapport hebdomadaire 2026-W30" in french.text and "Médiane en permanence" in french.text
    assert bad_french.status_code == 422 and "Semaine illisible" in bad_french.text
    camille = live.logins["camille@port-argent.example"]
    with login(live.url, camille.email, camille.password) as client:
        client.headers["accept-language"] = "en"
        for path in ("/dashboard/weekly", "/dashboard/weekly.pdf", "/dashboard/weekly.html"):
            refused = client.get(f"{path}?week={WEEK}")
            assert refused.status_code == 403 and "Managers only" in refused.text, path
        assert 'data-testid="weekly-link"' not in client.get("/dashboard").text
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get("/dashboard/weekly.pdf").status_code == 303


# --- the Monday e-mail --------------------------------------------------------------------------


class Flaky:
    """A real SMTP server's handler that refuses mail (451) while ``refuse`` is set."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 Mailbox server busy, try again later"
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Flaky, int]]:
    handler = Flaky()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


async def mailbox(services: Services, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Port-Argent's mailbox sends through the test's SMTP server (its IMAP is never read)."""
    monkeypatch.setenv("CONCIERGE_SECRET_MAIL_PORT_ARGENT_IMAP_PASSWORD", "unused")
    settings = {
        "address": "info@port-argent.example", "display_name": "Office de Tourisme de Port-Argent",
        "imap_host": "127.0.0.1", "imap_user": "info", "smtp_host": "127.0.0.1",
        "smtp_port": port, "smtp_security": "plain", "sent_folder": "", "timeout": 10,
    }  # fmt: skip
    async with services.db.session() as session:
        account = (
            await session.exec(select(Account).where(Account.key == "mail-port-argent"))
        ).one()
        account.settings = json.dumps(settings)
        account.active = True
        session.add(account)
        users = {u.email: u for u in (await session.exec(select(User))).all()}
        users["boss@saint-clair.example"].language = "en"
        users["manager@baie-dargent.example"].language = "fr"
        session.add_all(users.values())
        session.add(
            User(
                destination_id=1, email="gone@baie-dargent.example", name="Gone",
                password_hash=hash_password("gone-password-1"),
                role=Role.DESTINATION_MANAGER, active=False,
            )
        )  # fmt: skip
        await session.commit()


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str, bytes]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"concierge-weekly-{WEEK}.pdf"]
    data = attachments[0].get_content()
    assert isinstance(data, bytes)
    return text.get_content(), html.get_content(), data


async def test_the_monday_mail_goes_once_to_each_manager_in_their_language(
    services: Services,
    settings: Settings,
    smtp_server: tuple[Flaky, int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = smtp_server
    await history(services)
    await hostile_account_name(services)
    await mailbox(services, port, monkeypatch)
    # Sunday night and Monday before 07:00 (Paris): nothing is due.
    for instant in (MONDAY_AFTER - timedelta(hours=8), MONDAY_AFTER - timedelta(minutes=10)):
        services.clock.set(instant, frozen=True)
        assert (await send_pass(services, "worker-a")).sent == 0
    assert handler.messages == []
    # 07:05: the server is busy at first — logged with its reason, nothing marked as sent.
    services.clock.set(MONDAY_AFTER, frozen=True)
    handler.refuse = True
    with caplog.at_level(logging.WARNING, logger="app.weekly_report_mail"):
        outcome = await send_pass(services, "worker-a")
    assert (outcome.sent, outcome.failed) == (0, 2)
    assert "451" in caplog.text and "tried again next pass" in caplog.text
    handler.refuse = False
    assert (await send_pass(services, "worker-a")).sent == 2
    assert len(handler.messages) == 2
    # Never twice: the same worker again, another worker racing it, a restart (lease gone).
    other = Services.create(settings)
    other.clock.set(MONDAY_AFTER + timedelta(minutes=1), frozen=True)
    try:
        assert (await send_pass(other, "worker-b")).sent == 0  # worker-a holds the lease
        await services.redis.delete(keys.weekly_report_lease())
        assert (await send_pass(other, "worker-b")).sent == 0  # took the lease: all sent
    finally:
        await other.close()
    await services.redis.delete(keys.weekly_report_lease())  # worker-b's lease lapsed
    assert (await send_pass(services, "worker-a")).sent == 0
    assert await services.redis.get(keys.weekly_report_lease()) == b"worker-a"
    assert len(handler.messages) == 2
    mails = {str(parsed(raw)["To"]): parsed(raw) for raw in handler.messages}
    assert set(mails) == {
        "Sophie Lefèvre <manager@baie-dargent.example>",
        "Boss <boss@saint-clair.example>",
    }
    boss, sophie = (
        mails["Boss <boss@saint-clair.example>"],
        mails["Sophie Lefèvre <manager@baie-dargent.example>"],
    )
    assert str(sophie["Subject"]) == f"Rapport hebdomadaire {WEEK} · Baie d'Argent"
    assert str(boss["Subject"]) == f"Weekly report {WEEK} · Office de Tourisme de Saint-Clair"
    assert str(sophie["From"]) == "Office de Tourisme de Port-Argent <info@port-argent.example>"
    assert str(sophie["Auto-Submitted"]) == "auto-generated"
    # Their figures are the dashboard's for the same week, as each may see them.
    async with services.db.session() as session:
        users = {u.email: u for u in (await session.exec(select(User))).all()}
        from app import dashboard
        from app.dashboard import Filters

        period = Week.parse(WEEK).period(PARIS)
        whole = await dashboard.report(
            session, users["manager@baie-dargent.example"], period, Filters(), PARIS
        )
        part = await dashboard.report(
            session, users["boss@saint-clair.example"], period, Filters(), PARIS
        )
    for message, figures, lang in ((sophie, whole, "fr"), (boss, part, "en")):
        text, html, data = parts(message)
        assert str(message["Content-Language"]) == lang
        found = tables(html)
        office_keys = [key for key, _ in found["weekly-offices"] if key != "total"]
        if lang == "en":  # the office manager: their office's row only
            assert office_keys == [str(users["boss@saint-clair.example"].office_id)]
            assert "Hello Boss" in text and "Office de Tourisme de Port-Argent" not in text
        else:
            assert office_keys == [str(r.key) for r in figures.offices]
            assert "Bonjour Sophie Lefèvre" in text
        rows = dict(found["weekly-accounts"])
        for row in figures.accounts:
            cells = rows[str(row.key)]
            assert cells[1] == timefmt.number(row.conversations, lang)
            assert cells[2] == timefmt.duration(row.median_duty, lang)
            assert cells[4] == timefmt.duration(row.median, lang)
            assert cells[6] == timefmt.percent(row.within_rate, lang)
            assert f"  {Translator(lang)('dash.conversations')}: {cells[1]}" in text
        assert HOSTILE not in html and "&lt;img src=x" in html
        assert data.startswith(b"%PDF") and WEEK in pdf_text(data)
        assert f"/dashboard/weekly?week={WEEK}" in text
    # Switched off: nothing, even for a new manager.
    async with services.db.session() as session:
        session.add(
            User(
                destination_id=1, email="new@baie-dargent.example", name="New",
                password_hash=hash_password("new-password-1"), role=Role.DESTINATION_MANAGER,
            )
        )  # fmt: skip
        await session.commit()
    services.settings = services.settings.model_copy(update={"weekly_report": False})
    assert (await send_pass(services, "worker-a")).sent == 0
    services.settings = services.settings.model_copy(update={"weekly_report": True})
    assert (await send_pass(services, "worker-a")).sent == 1
    assert str(parsed(handler.messages[-1])["To"]) == "New <new@baie-dargent.example>"


async def test_no_mailbox_is_logged_and_tried_again(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    await history(services)
    services.clock.set(MONDAY_AFTER, frozen=True)
    with caplog.at_level(logging.WARNING, logger="app.weekly_report_mail"):
        outcome = await send_pass(services, "worker-a")
    assert (outcome.sent, outcome.failed) == (0, 2)
    assert "no active mailbox" in caplog.text
    async with services.db.session() as session:
        user = (
            await session.exec(select(User).where(User.email == "manager@baie-dargent.example"))
        ).one()
    assert user.id is not None
    assert not await services.redis.exists(keys.weekly_report_sent(1, WEEK, user.id))


async def test_a_failing_pass_never_ends_the_loop(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import weekly_report_mail
    from app.realtime import stop

    calls: list[str] = []

    async def failing(services: Services, worker: str) -> Any:
        calls.append(worker)
        raise RuntimeError("database gone")

    monkeypatch.setattr(weekly_report_mail, "send_pass", failing)
    monkeypatch.setattr(weekly_report_mail, "PASS_SECONDS", 0.01)
    task = asyncio.create_task(weekly_report_mail.keep_sending(services, "worker-a"))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if len(calls) >= 3:
            break
    assert len(calls) >= 3 and not task.done()
    await stop(task)


async def test_an_adviser_has_no_weekly_report(services: Services) -> None:
    async with services.db.session() as session:
        adviser = (
            await session.exec(select(User).where(User.email == "camille@port-argent.example"))
        ).one()
        with pytest.raises(DashboardError) as caught:
            await build(session, adviser, Week.parse(WEEK))
    assert caught.value.status == 403


async def test_the_pdf_draws_names_in_any_script(services: Services) -> None:
    async with services.db.session() as session:
        office = (await session.exec(select(Office).where(Office.slug == "les-salines"))).one()
        office.name = "Office des Salines — Ŀ’Ħôtel 東京"
        session.add(office)
        await session.commit()
    await history(services)
    async with services.db.session() as session:
        boss = (await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))).one()
        report = await build(session, boss, Week.parse(WEEK))
    data = pdf(report, Translator("fr"), font=None)
    assert data.startswith(b"%PDF") and "Port-Argent" in pdf_text(data)


# --- the command --------------------------------------------------------------------------------


async def test_the_command_writes_a_pdf_and_html(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    await history(services)
    env = {
        "PATH": "/usr/bin:/bin",
        "CONCIERGE_DATABASE_URL": settings.database_url,
        "CONCIERGE_VAR_DIR": str(tmp_path / "var"),
        "CONCIERGE_CLOCK_START": "2026-07-28T09:00:00+02:00",
    }
    command = [sys.executable, "-c", "from app.cli import main; main()", "weekly-report"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=120
        )

    out = tmp_path / "report.pdf"
    done = run("--out", str(out))  # the last complete week: W30
    assert done.returncode == 0, done.stderr
    assert f"weekly report {WEEK} written" in done.stdout
    assert out.read_bytes().startswith(b"%PDF") and "Saint-Clair" in pdf_text(out.read_bytes())
    page = tmp_path / "report.html"
    done = run("--week", "2026-W29", "--out", str(page), "--office", "saint-clair",
               "--language", "en")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Weekly report 2026-W29 · Office de Tourisme de Saint-Clair" in page.read_text()
    for args, reason in (
        (("--week", "2026-W99", "--out", str(out)), "Unreadable week"),
        (("--week", "2026-W31", "--out", str(out)), "not over yet"),
        (("--out", str(tmp_path / "report.txt")), ".pdf or .html"),
        (("--out", str(out), "--office", "nowhere"), "no office"),
    ):
        refused = run(*args)
        assert refused.returncode != 0 and reason in refused.stderr, (args, refused.stderr)
