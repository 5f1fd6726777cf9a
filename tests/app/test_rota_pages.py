"""The rota page: calendar, gaps, overrides and swaps edited through forms, iCal feeds."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.web import rota_says, rota_view
from rota import Segment, build, dumps_toml, loads_toml, parse_events
from tests.conftest import LiveServer, login, office_login
from tests.support.sql import connect as sql_connect


def manager(live: LiveServer) -> tuple[str, str]:
    found = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    return found.email, found.password


def form(client: httpx.Client, url: str, **fields: str) -> httpx.Response:
    return client.post(url, data={**fields, "csrf_token": client.headers["X-CSRF-Token"]})


def test_week_calendar_shows_who_is_on_duty(live: LiveServer) -> None:
    with login(live.url, *manager(live)) as client:
        page = client.get("/rota?start=2026-07-13", headers={"accept-language": "en"})
    assert page.status_code == 200
    # Week of 13 July 2026: the rotation gives Les Salines the week (Saturday 12:00–22:00).
    saturday = page.text.split('data-date="2026-07-18"', 1)[1].split("</li>", 1)[0]
    assert "12:00–22:00" in saturday and "Office de Tourisme des Salines" in saturday
    assert 'data-testid="rota-fairness"' in page.text


def test_overrides_and_swaps_through_the_forms(live: LiveServer) -> None:
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "en"
        added = form(
            client,
            "/rota/overrides",
            start="2026-07-22T19:00",
            end="2026-07-22T21:00",
            office="",
            note="Fête",
        )
        assert added.status_code == 303
        page = client.get("/rota?start=2026-07-20").text
        wednesday = page.split('data-date="2026-07-22"', 1)[1].split("</li>", 1)[0]
        assert 'data-testid="rota-gap"' in wednesday and "19:00–21:00" in wednesday
        swap = form(client, "/rota/swaps", turn="2026-07-27", a="port-argent", b="saint-clair")
        assert swap.status_code == 303
        export = client.get("/rota/export.toml").text
        assert 'note = "Fête"' in export and 'a = "port-argent"' in export
        # Removing the override brings the rotation back.
        assert form(client, "/rota/overrides/0/delete").status_code == 303
        assert 'note = "Fête"' not in client.get("/rota/export.toml").text


BAD_EDITS = [
    (
        "/rota/overrides",
        {"start": "2026-07-22T21:00", "end": "2026-07-22T19:00"},
        "Au : se termine avant de commencer",
        "To: ends before it starts",
    ),
    (
        "/rota/overrides",
        {"start": "2026-07-01T19:00", "end": "2026-07-01T21:00"},
        "Au : est dans le passé",
        "To: is in the past",
    ),
    (
        "/rota/overrides",
        {"start": "soon", "end": "2026-07-22T21:00"},
        "Du : n'est pas une date et une heure",
        "From: is not a date and time",
    ),
    (
        "/rota/overrides",
        {"start": "2026-07-22T19:00", "end": "2026-07-22T21:00", "office": "atlantis"},
        "Office : office inconnu : atlantis",
        "Office: unknown office: atlantis",
    ),
    (
        "/rota/swaps",
        {"turn": "2026-07-27", "a": "port-argent", "b": "port-argent"},
        "un office ne peut pas échanger avec lui-même",
        "an office cannot swap with itself",
    ),
    (
        "/rota/swaps",
        {"turn": "someday", "a": "port-argent", "b": "saint-clair"},
        "Tour contenant le : n'est pas une date",
        "Turn containing: is not a date",
    ),
    ("/rota/overrides/7/delete", {}, "cette dérogation n'existe pas (ou plus)", "no such override"),
]


def test_bad_edits_are_refused_with_the_field_and_change_nothing(live: LiveServer) -> None:
    with login(live.url, *manager(live)) as client:
        before = client.get("/rota/export.toml").text
        try:
            for language in ("fr", "en"):
                chosen = form(client, "/language", language=language, next="/rota")
                assert chosen.status_code == 303 and chosen.headers["location"] == "/rota"
                for url, fields, french, english in BAD_EDITS:
                    response = form(client, url, **fields)
                    assert response.status_code == 422, (url, fields)
                    assert response.headers["content-language"] == language
                    message = french if language == "fr" else english
                    shown = [
                        html.unescape(li) for li in re.findall(r"<li>(.*?)</li>", response.text)
                    ]
                    assert any(message in line for line in shown), (message, shown[:3])
                    # Switching language on the refusal goes back to the rota, not to a POST URL.
                    assert 'name="next" value="/rota"' in response.text
                    assert "ends before it starts" not in response.text or language == "en"
        finally:
            form(client, "/language", language="fr", next="/rota")
        assert client.get("/rota/export.toml").text == before
        # Without the CSRF token nothing happens either.
        no_csrf = client.post(
            "/rota/swaps", data={"turn": "2026-07-27", "a": "port-argent", "b": "saint-clair"}
        )
        assert no_csrf.status_code == 403 and "formulaire a expiré" in no_csrf.text
        assert client.get("/rota/export.toml").text == before


def test_advisers_see_the_rota_but_cannot_edit_it(live: LiveServer) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        page = client.get("/rota")
        assert page.status_code == 200 and 'data-testid="override-form"' not in page.text
        refused = form(client, "/rota/swaps", turn="2026-07-27", a="port-argent", b="saint-clair")
        assert refused.status_code == 403 and refused.text == "Réservé aux responsables."
    assert httpx.get(f"{live.url}/rota").headers["location"] == "/login"


def test_ical_feeds(live: LiveServer) -> None:
    with login(live.url, *manager(live)) as client:
        page = client.get("/rota").text
    links = re.findall(r'href="(/rota/ical/[^"]+\.ics)"', page)
    assert len(links) == 4  # the destination, and each of the three offices
    whole = httpx.get(live.url + links[0])
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("text/calendar")
    events = parse_events(whole.content)
    assert len(events) > 100 and all(end > start for start, end, _ in events)
    one = parse_events(httpx.get(live.url + links[1]).content)
    assert 0 < len(one) < len(events)
    assert httpx.get(f"{live.url}/rota/ical/forged.ics").status_code == 404


# ---- the month grid -------------------------------------------------------------------------

WEEKDAY_HEADINGS = {
    "fr": ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}
# Every month of 2027 (starting on each weekday, Monday in February and November) and February
# 2028 (a leap month starting on a Tuesday).
MONTHS = [date(2027, m, 1) for m in range(1, 13)] + [date(2028, 2, 1)]


def grid(page: str) -> list[tuple[date, bool]]:
    """The calendar's cells in order: each date and whether it belongs to another month."""
    cells = re.findall(
        r'<li class="day[^"]*" data-testid="rota-day" data-date="([\d-]+)"([^>]*)>', page
    )
    return [(date.fromisoformat(d), 'data-outside="true"' in rest) for d, rest in cells]


def headings(page: str) -> list[str]:
    box = page.split('data-testid="rota-weekdays"', 1)[1].split("</ul>", 1)[0]
    return [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", box)]


def test_periods_are_whole_weeks_from_monday() -> None:
    starts = {m.weekday() for m in MONTHS}
    assert starts == set(range(7))  # the table covers months starting on every weekday
    for month in MONTHS:
        shown = rota_view.period("month", month + timedelta(days=9))
        assert (shown.first, shown.last.month) == (month, month.month)
        assert (shown.last + timedelta(days=1)).day == 1
        assert shown.grid_first.weekday() == 0 and shown.grid_last.weekday() == 6
        assert 0 <= (shown.first - shown.grid_first).days <= 6
        assert 0 <= (shown.grid_last - shown.last).days <= 6
    week = rota_view.period("week", date(2027, 1, 3))  # a Sunday: its week began on Monday
    assert (week.first, week.last) == (date(2026, 12, 28), date(2027, 1, 3))
    assert (week.previous, week.next) == (date(2026, 12, 21), date(2027, 1, 4))


def test_month_grid_starts_on_monday_with_headings_for_every_month(live: LiveServer) -> None:
    with login(live.url, *manager(live)) as client:
        for language in ("fr", "en"):
            client.headers["accept-language"] = language
            for month in MONTHS:
                page = client.get(f"/rota?view=month&start={month}")
                assert page.status_code == 200, month
                assert headings(page.text) == WEEKDAY_HEADINGS[language]
                cells = grid(page.text)
                days = [d for d, _ in cells]
                assert days[0].weekday() == 0 and days[-1].weekday() == 6, month
                assert len(days) % 7 == 0
                # Consecutive dates: cell n is in column n % 7, which is its weekday.
                assert all(d.weekday() == n % 7 for n, d in enumerate(days))
                assert days == [days[0] + timedelta(days=n) for n in range(len(days))]
                inside = [d for d, outside in cells if not outside]
                assert inside[0] == month and inside[-1].month == month.month
                assert (inside[-1] + timedelta(days=1)).day == 1
                # The neighbours' days only complete the first and last weeks.
                assert all((d.month != month.month) == outside for d, outside in cells)
                assert days[0] > month - timedelta(days=7)
                assert days[-1] < inside[-1] + timedelta(days=7)


def test_today_is_marked(live: LiveServer) -> None:
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "en"
        for url in ("/rota", "/rota?view=month"):
            page = client.get(url).text
            marked = re.findall(r'data-date="([\d-]+)"[^>]*aria-current="date"', page)
            assert marked == ["2026-07-21"], url  # the test clock: Tuesday 21 July 2026
            today = page.split('data-date="2026-07-21"', 1)[1].split("</li>", 1)[0]
            assert 'data-testid="rota-today"' in today and "Today" in today
        # Another month has no today.
        assert 'aria-current="date"' not in client.get("/rota?view=month&start=2026-09-01").text


# ---- refused and saved changes ----------------------------------------------------------------


def field_value(page: str, testid: str) -> str:
    tag = re.search(rf'<input[^>]*data-testid="{testid}"[^>]*>', page)
    assert tag is not None, testid
    found = re.search(r'value="([^"]*)"', tag.group(0))
    return html.unescape(found.group(1)) if found else ""


def selected(page: str, testid: str) -> list[str]:
    box = page.split(f'data-testid="{testid}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)" selected>', box)


def beside(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</span>', page)
    assert found is not None, testid
    return html.unescape(found.group(1))


REFUSED_OVERRIDE = {
    "fr": ("Au : se termine avant de commencer", "se termine avant de commencer"),
    "en": ("To: ends before it starts", "ends before it starts"),
}


def test_a_refused_override_shows_the_page_again_with_the_input_and_the_error_beside_it(
    live: LiveServer,
) -> None:
    with login(live.url, *manager(live)) as client:
        before = client.get("/rota/export.toml").text
        for language, (summary, next_to_field) in REFUSED_OVERRIDE.items():
            client.headers["accept-language"] = language
            refused = form(
                client,
                "/rota/overrides",
                start="2026-08-12T21:00",
                end="2026-08-12T19:00",
                office="saint-clair",
                note='Fête <script>alert("x")</script>',
                view="month",
                period="2026-08-01",
            )
            assert refused.status_code == 422
            assert refused.headers["content-type"].startswith("text/html")
            assert refused.headers["content-language"] == language
            page = refused.text
            # What the manager typed is still there, the hostile note escaped.
            assert field_value(page, "override-start") == "2026-08-12T21:00"
            assert field_value(page, "override-end") == "2026-08-12T19:00"
            assert selected(page, "override-office") == ["saint-clair"]
            assert field_value(page, "override-note") == 'Fête <script>alert("x")</script>'
            assert "<script>alert" not in page
            # The error beside the field it is about, the field marked and described by it.
            assert beside(page, "override-end-error") == next_to_field
            end_input = re.search(r'<input[^>]*data-testid="override-end"[^>]*>', page)
            assert end_input is not None
            assert 'aria-invalid="true"' in end_input.group(0)
            assert 'aria-describedby="override-end-error"' in end_input.group(0)
            assert 'data-testid="override-start-error"' not in page
            # The summary names the field in the reader's language and links to it.
            assert f'<a href="#override-end">{html.escape(summary)}</a>' in page
            # The same view and period as the form was sent from: August in whole weeks.
            inside = [d for d, outside in grid(page) if not outside]
            assert (inside[0], inside[-1]) == (date(2026, 8, 1), date(2026, 8, 31))
            # The page's own address, for the script to show instead of the POST's.
            assert 'data-page-url="/rota?view=month&amp;start=2026-08-01"' in page
        assert client.get("/rota/export.toml").text == before


def test_every_wrong_field_is_said_at_once_and_as_a_page_never_as_json(
    live: LiveServer,
) -> None:
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "fr"
        refused = form(
            client,
            "/rota/overrides",
            start="bientôt",
            end="",
            office="port-argent",
            note="x" * 501,
            priority="beaucoup",
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("text/html")
        page = refused.text
        assert beside(page, "override-start-error") == "n'est pas une date et une heure"
        assert beside(page, "override-end-error") == "n'est pas une date et une heure"
        assert beside(page, "override-note-error") == "texte trop long"
        assert "Priorité : n'est pas un nombre entier" in html.unescape(page)
        assert field_value(page, "override-start") == "bientôt"
        assert selected(page, "override-office") == ["port-argent"]
        out_of_range = form(
            client,
            "/rota/overrides",
            start="2026-08-12T19:00",
            end="2026-08-12T21:00",
            priority="1000",
        )
        assert out_of_range.status_code == 422
        assert "Priorité : doit être compris entre -100 et 100" in html.unescape(out_of_range.text)


def test_a_refused_swap_keeps_its_input_too(live: LiveServer) -> None:
    with login(live.url, *manager(live)) as client:
        for language, text in (
            ("fr", "un office ne peut pas échanger avec lui-même"),
            ("en", "an office cannot swap with itself"),
        ):
            client.headers["accept-language"] = language
            refused = form(
                client,
                "/rota/swaps",
                turn="2026-08-03",
                a="les-salines",
                b="les-salines",
                note="Mariage",
            )
            assert refused.status_code == 422
            page = refused.text
            assert field_value(page, "swap-turn") == "2026-08-03"
            assert selected(page, "swap-a") == ["les-salines"]
            assert selected(page, "swap-b") == ["les-salines"]
            assert field_value(page, "swap-note") == "Mariage"
            assert beside(page, "swap-b-error") == text
            # The other form is left empty: the error belongs to the swap.
            assert field_value(page, "override-note") == ""


def test_a_saved_change_redirects_to_the_page_it_came_from(live: LiveServer) -> None:
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "en"
        saved = form(
            client,
            "/rota/overrides",
            start="2026-08-12T19:00",
            end="2026-08-12T21:00",
            office="saint-clair",
            note="Festival",
            view="month",
            period="2026-08-01",
        )
        # POST/redirect/GET: reloading the page it lands on does not send the form again.
        assert saved.status_code == 303
        assert saved.headers["location"] == "/rota?view=month&start=2026-08-01"
        page = client.get(saved.headers["location"]).text
        day = page.split('data-date="2026-08-12"', 1)[1].split("</li>", 1)[0]
        assert "19:00–21:00" in day and "Saint-Clair" in day
        swap = form(client, "/rota/swaps", turn="2026-08-10", a="port-argent", b="saint-clair")
        assert swap.status_code == 303 and swap.headers["location"] == "/rota?view=week"
        removed = form(client, "/rota/swaps/0/delete", view="week", period="2026-08-10")
        assert removed.status_code == 303
        assert removed.headers["location"] == "/rota?view=week&start=2026-08-10"
        # A period nobody could have sent from the page is not followed.
        odd = form(client, "/rota/overrides/0/delete", view="year", period="9999-01-01")
        assert odd.status_code == 303 and odd.headers["location"] == "/rota?view=week"


# ---- what the rota expresses ------------------------------------------------------------------


def set_rota(live: LiveServer, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrites the demo destination's stored rota (as `concierge rota import` would)."""
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        (text,) = db.execute("select rota_toml from destination").fetchone()
        data = loads_toml(text).model_dump(mode="json")
        change(data)
        db.execute("update destination set rota_toml = ?", (dumps_toml(build(data)),))


def test_an_office_in_another_time_zone_reads_its_own_times_too(live: LiveServer) -> None:
    def cayenne(data: dict[str, Any]) -> None:
        office = next(o for o in data["offices"] if o["id"] == "les-salines")
        office["timezone"] = "America/Cayenne"

    set_rota(live, cayenne)
    with login(live.url, *manager(live)) as client:
        for language, local, note in (
            ("fr", "07:00–17:00 heure de Cayenne", "est à l'heure de Cayenne (America/Cayenne)"),
            ("en", "07:00–17:00 Cayenne time", "keeps Cayenne time (America/Cayenne)"),
        ):
            client.headers["accept-language"] = language
            page = client.get("/rota?start=2026-07-13").text
            # Saturday 18 July, Les Salines' week: 12:00–22:00 in Paris (UTC+2) is 07:00–17:00
            # in Cayenne (UTC−3).
            saturday = page.split('data-date="2026-07-18"', 1)[1].split("</li>", 1)[0]
            assert "12:00–22:00" in saturday
            assert html.unescape(beside(saturday, "rota-local-time")) == local
            assert note in html.unescape(page)
            # The other offices keep the destination's time: no second time beside theirs.
            following = client.get("/rota?start=2026-07-20").text
            monday = following.split('data-date="2026-07-20"', 1)[1].split("</li>", 1)[0]
            assert 'data-testid="rota-block"' in monday and "Salines" not in monday
            assert "rota-local-time" not in monday


def test_a_segment_shared_by_two_offices_shows_both() -> None:
    rota = build(
        {
            "offices": [
                {"id": "port-argent", "name": "Port-Argent"},
                {"id": "saint-clair", "name": "Saint-Clair", "timezone": "America/Martinique"},
            ]
        }
    )
    found = rota_view.looks(rota, {"port-argent": "OT de Port-Argent"})
    start = datetime(2027, 3, 27, 16, 0, tzinfo=UTC)  # Saturday 17:00 in Paris (UTC+1)
    segment = Segment(
        start, start + timedelta(hours=5), "port-argent", "override", ("saint-clair",)
    )
    shown = rota_view.period("week", date(2027, 3, 27))
    days = rota_view.days([segment], [], shown, rota.zone, found, date(2027, 3, 22))
    (saturday,) = [d for d in days if d.day == date(2027, 3, 27)]
    (block,) = saturday.blocks
    assert (block.start, block.end, block.label) == ("17:00", "22:00", "OT de Port-Argent")
    assert block.also == ("Saint-Clair",) and block.also_colors == (found.of("saint-clair").color,)
    # Saint-Clair's own time: Martinique is UTC−4 all year.
    assert block.local == (rota_view.LocalTime("12:00", "17:00", "Martinique"),)
    # A zone whose clock reads the destination's adds nothing.
    brussels = build({"offices": [{"id": "x", "timezone": "Europe/Brussels"}]})
    same = rota_view.block(
        Segment(start, start + timedelta(hours=1), "x", "shared_duty"),
        brussels.zone,
        rota_view.looks(brussels, {}),
    )
    assert same.local == () and same.also == ()


def test_fairness_figures_keep_whole_slots_whole_and_a_share_to_one_decimal() -> None:
    assert rota_view.slots(3, "fr") == "3" and rota_view.slots(3.0, "en") == "3"
    assert rota_view.slots(2.5, "fr") == "2,5" and rota_view.slots(2.5, "en") == "2.5"
    assert rota_view.slots(1234.25, "en") == "1,234.2"
    assert rota_view.slots(0.04, "en") == "0"


def rich_rota(data: dict[str, Any]) -> None:
    """Two rotations (evenings by the week, weekends and holidays by the day, two offices a
    turn), a member joining and one leaving, winter duty, dated exceptions, a shared override."""
    data.pop("rotation")
    data["rotations"] = [
        {
            "id": "soirs",
            "days": ["weekday_evening"],
            "turn": "week",
            "members": [
                {"office": "port-argent"},
                {"office": "saint-clair", "since": "2026-09-01"},
            ],
        },
        {
            "id": "week-ends",
            "days": ["weekend_day", "holiday"],
            "turn": "day",
            "together": 2,
            "members": [
                {"office": "port-argent", "weight": 2},
                {"office": "les-salines", "until": "2026-12-31"},
                {"office": "saint-clair"},
            ],
        },
    ]
    winter = {"mon": ["17:00-20:00"], "tue": ["17:00-20:00"], "wed": ["17:00-20:00"]}
    winter |= {"thu": ["17:00-20:00"], "fri": ["17:00-20:00"], "sat": ["12:00-20:00"]}
    data["duty"]["seasons"] = [
        {"start": "11-01", "end": "03-31", "week": winter | {"sun": ["10:00-18:00"]}, "holiday": []}
    ]
    data["duty"]["dates"] = [
        {"date": "2026-12-31", "hours": ["20:00-02:00+1"], "note": "Réveillon"},
        {"date": "2026-06-21", "hours": ["18:00-23:00"], "note": "Fête de la musique"},
    ]
    salines = next(o for o in data["offices"] if o["id"] == "les-salines")
    salines["dates"] = [{"date": "2026-12-24", "hours": ["10:00-15:00"], "note": "Veille de Noël"}]
    data["overrides"] = [
        {
            "start": "2026-07-22T19:30:00+02:00",
            "end": "2026-07-22T22:00:00+02:00",
            "office": "saint-clair",
        },
        {
            "start": "2026-07-24T17:00:00+02:00",
            "end": "2026-07-24T22:00:00+02:00",
            "office": "port-argent",
            "also": ["saint-clair"],
            "note": "Festival",
        },
    ]


def fairness_row(page: str, office: str) -> list[str]:
    table = page.split('data-testid="rota-fairness"', 1)[1].split("</table>", 1)[0]
    row = next(r for r in table.split("<tr>") if office in r)
    return [html.unescape(c) for c in re.findall(r"<td>([^<]*)</td>", row)]


def test_what_the_rota_says_and_shared_duty_on_the_calendar(live: LiveServer) -> None:
    set_rota(live, rich_rota)
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "fr"
        page = client.get("/rota?start=2026-07-20").text
        friday = page.split('data-date="2026-07-24"', 1)[1].split("</li>", 1)[0]
        assert "17:00–22:00" in friday and "Port-Argent" in friday
        assert beside(friday, "rota-also") == "avec Office de Tourisme de Saint-Clair"
        # Wednesday's window held half by each; Friday's by both at once (each credited it).
        assert fairness_row(page, "Port-Argent")[0] == "4,5"
        assert fairness_row(page, "Saint-Clair")[0] == "1,5"
        overrides = page.split('data-testid="rota-overrides"', 1)[1].split("</ul>", 1)[0]
        assert "avec Office de Tourisme de Saint-Clair · Festival" in html.unescape(overrides)

        says = html.unescape(page.split('data-testid="rota-says"', 1)[1].split("</section>", 1)[0])
        rotations = says.split('data-testid="rota-says-rotations"', 1)[1].split("<h3>", 1)[0]
        assert "Rotation soirs</b> · Soirs de semaine · une semaine par tour" in rotations
        assert "Office de Tourisme de Saint-Clair · à partir du mardi 1 septembre 2026" in rotations
        assert "Week-ends, Jours fériés · un jour par tour · 2 offices par tour" in rotations
        assert "Office de Tourisme de Port-Argent (poids 2)" in rotations
        assert "Office de Tourisme des Salines · jusqu'au jeudi 31 décembre 2026" in rotations
        assert (
            "du 1 novembre au 31 mars : lun.–ven. 17:00–20:00 · sam. 12:00–20:00 · "
            "dim. 10:00–18:00 · pas de permanence les jours fériés"
        ) in says
        dates = re.findall(r'<li data-date="([\d-]+)">(.*?)</li>', says)
        # From today on, in date order, each with its note; June's festival is past.
        assert [(d, re.sub(r"</?[bi]>", "", text)) for d, text in dates] == [
            (
                "2026-12-24",
                "jeudi 24 décembre 2026 · Office de Tourisme des Salines : ouvert 10:00–15:00"
                " · Veille de Noël",
            ),
            (
                "2026-12-31",
                "jeudi 31 décembre 2026 · permanence 20:00–02:00 (le lendemain) · Réveillon",
            ),
        ]
        client.headers["accept-language"] = "en"
        page = html.unescape(client.get("/rota?start=2026-07-20").text)
        assert "Rotation soirs</b> · Weekday evenings · a week per turn" in page
        assert "Thursday 31 December 2026</b> · shared duty 20:00–02:00 (next day)" in page
        assert "Mon–Fri 17:00–20:00 · Sat 12:00–20:00 · Sun 10:00–18:00" in page
        assert fairness_row(page, "Port-Argent")[0] == "4.5"


def test_an_override_shared_by_two_offices_through_the_form(live: LiveServer) -> None:
    with login(live.url, *manager(live)) as client:
        client.headers["accept-language"] = "fr"
        fields = {"start": "2026-08-14T17:00", "end": "2026-08-14T23:00", "note": "Feu d'artifice"}
        # Sharing with itself: refused, the ticks kept, the error beside the offices to tick.
        refused = client.post(
            "/rota/overrides",
            data={
                **fields,
                "office": "port-argent",
                "also": ["port-argent", "saint-clair"],
                "csrf_token": client.headers["X-CSRF-Token"],
            },
        )
        assert refused.status_code == 422
        page = refused.text
        assert re.findall(r'name="also" value="([^"]+)" checked', page) == [
            "port-argent",
            "saint-clair",
        ]
        assert beside(page, "override-also-error") == (
            "port-argent est déjà l'office de cette dérogation"
        )
        assert 'aria-describedby="override-also-error"' in page
        assert '<a href="#override-also">En partage avec : ' in html.unescape(page)
        saved = client.post(
            "/rota/overrides",
            data={
                **fields,
                "office": "port-argent",
                "also": ["saint-clair"],
                "csrf_token": client.headers["X-CSRF-Token"],
            },
        )
        assert saved.status_code == 303
        stored = loads_toml(client.get("/rota/export.toml").text).overrides[-1]
        assert (stored.office, stored.also, stored.note) == (
            "port-argent",
            ["saint-clair"],
            "Feu d'artifice",
        )
        day = client.get("/rota?start=2026-08-14").text.split('data-date="2026-08-14"', 1)[1]
        day = day.split("</li>", 1)[0]
        assert "17:00–23:00" in day
        assert beside(day, "rota-also") == "avec Office de Tourisme de Saint-Clair"


def test_what_the_demo_rota_says_in_both_languages() -> None:
    rota = loads_toml((Path(__file__).parents[2] / "docs" / "rota.example.toml").read_text())
    names = {"port-argent": "Port-Argent", "saint-clair": "Saint-Clair", "les-salines": "Salines"}
    for language, rule, heavy in (
        ("en", "Every duty window · a week per turn", "Port-Argent (weight 2)"),
        ("fr", "Toutes les plages de permanence · une semaine par tour", "Port-Argent (poids 2)"),
    ):
        said = rota_says.says(rota, names, language, date(2026, 7, 21))
        # One rotation: no title to tell it from others.
        assert [(r.title, r.rule) for r in said.rotations] == [("", rule)]
        assert said.rotations[0].members == [heavy, "Saint-Clair", "Salines"]


def test_a_malformed_address_is_said_in_the_readers_language_not_as_json(
    live: LiveServer,
) -> None:
    with login(live.url, *manager(live)) as client:
        for language, bad_start, bad_view in (
            ("fr", "ce n'est pas une date", "« week » (semaine) ou « month » (mois)"),
            ("en", "not a date", "“week” or “month”"),
        ):
            client.headers["accept-language"] = language
            response = client.get("/rota?start=demain")
            assert response.status_code == 422 and bad_start in response.text
            assert response.headers["content-type"].startswith("text/plain")
            response = client.get("/rota?view=year")
            assert response.status_code == 422 and bad_view in response.text
        assert client.get("/rota?view=month&start=").status_code == 200
