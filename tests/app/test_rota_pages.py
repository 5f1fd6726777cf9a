"""The rota page: calendar, gaps, overrides and swaps edited through forms, iCal feeds."""

from __future__ import annotations

import html
import re

import httpx

from rota import parse_events
from tests.conftest import LiveServer, login, office_login


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
