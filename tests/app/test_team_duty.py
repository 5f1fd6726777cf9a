"""The duty banner (GET /api/duty) on the demo rota, at explicit instants, over a real server."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.app.test_handover_transfer import FESTIVAL
from tests.app.test_routing import SATURDAY_2114, TUESDAY_2330
from tests.conftest import OFFICE_HOURS, LiveServer, login, office_login
from tests.support.sql import connect as sql_connect

MANAGER = "manager@baie-dargent.example"


def at(live: LiveServer, instant: datetime) -> None:
    live.app.state.services.clock.set(instant, frozen=True)  # type: ignore[attr-defined]


def duty(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/api/duty")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    for key in ("since", "until", "next_start"):
        if body[key] is not None:
            assert body[key].endswith("Z"), body[key]  # UTC, for the client to format
            body[key] = datetime.fromisoformat(body[key])
    return body


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_duty_banner_for_advisers_and_the_manager(live: LiveServer) -> None:
    port, salines = office_login(live, "port-argent"), office_login(live, "les-salines")
    with (
        login(live.url, port.email, port.password) as p,
        login(live.url, salines.email, salines.password) as s,
        login(live.url, MANAGER, live.logins[MANAGER].password) as m,
    ):
        port_id = p.get("/api/me").json()["office_id"]
        salines_id = s.get("/api/me").json()["office_id"]

        at(live, OFFICE_HOURS)  # Tuesday 21 July, 10:00 in Paris: summer hours 09:00–19:00
        assert duty(p) == {
            "office_id": port_id,
            "office_name": "Office de Tourisme de Port-Argent",
            "on_duty": True,
            "kind": "own_hours",
            "scope": "office",
            "since": utc(2026, 7, 21, 7, 0),
            "until": utc(2026, 7, 21, 17, 0),
            "next_start": None,
            "together": [],
        }
        # Nobody holds the shared duty in the morning.
        assert duty(m) == {
            "office_id": None,
            "office_name": "",
            "on_duty": False,
            "kind": None,
            "scope": "destination",
            "since": None,
            "until": None,
            "next_start": utc(2026, 7, 21, 15, 0),  # 17:00 in Paris
            "together": [],
        }

        at(live, SATURDAY_2114)  # Saturday 18 July, 21:14 in Paris: Les Salines' turn
        on_duty = {
            "office_id": salines_id,
            "office_name": "Office de Tourisme des Salines",
            "on_duty": True,
            "kind": "shared_duty",
            "scope": "destination",
            "since": utc(2026, 7, 18, 10, 0),  # 12:00 in Paris
            "until": utc(2026, 7, 18, 20, 0),  # 22:00 in Paris
            "next_start": None,
            "together": [],
        }
        assert duty(s) == on_duty
        assert duty(m) == on_duty
        closed = duty(p)
        assert (closed["on_duty"], closed["kind"], closed["scope"]) == (False, None, "office")
        assert (closed["since"], closed["until"]) == (None, None)
        assert closed["next_start"] == utc(2026, 7, 19, 7, 0)  # Sunday 09:00 in Paris

        at(live, TUESDAY_2330)  # 23:30 in Paris: nobody on duty until tomorrow
        assert duty(m)["next_start"] == utc(2026, 7, 22, 15, 0)  # Wednesday 17:00 in Paris
        assert duty(p)["next_start"] == utc(2026, 7, 22, 7, 0)  # Port-Argent opens at 09:00
        assert duty(s)["next_start"] == utc(2026, 7, 22, 8, 0)  # Les Salines at 10:00


def test_offices_on_duty_together_each_see_the_others(live: LiveServer) -> None:
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        db.execute("update destination set rota_toml = rota_toml || ?", (FESTIVAL,))
    port, salines = office_login(live, "port-argent"), office_login(live, "les-salines")
    clair = office_login(live, "saint-clair")
    with (
        login(live.url, port.email, port.password) as p,
        login(live.url, salines.email, salines.password) as s,
        login(live.url, clair.email, clair.password) as c,
        login(live.url, MANAGER, live.logins[MANAGER].password) as m,
    ):
        at(live, SATURDAY_2114)  # the festival night: Les Salines leads, Port-Argent with it
        lead, helper = duty(s), duty(p)
        assert (lead["on_duty"], lead["kind"], lead["scope"]) == (
            True,
            "shared_duty",
            "destination",
        )
        assert lead["together"] == ["Office de Tourisme de Port-Argent"]
        assert (helper["on_duty"], helper["kind"]) == (True, "shared_duty")
        assert helper["together"] == ["Office de Tourisme des Salines"]
        assert helper["until"] == lead["until"] == utc(2026, 7, 18, 20, 0)  # 22:00 in Paris
        manager = duty(m)
        assert manager["office_name"] == "Office de Tourisme des Salines"
        assert manager["together"] == ["Office de Tourisme de Port-Argent"]
        off = duty(c)
        assert (off["on_duty"], off["together"]) == (False, [])
        # The transfer dialog: both are on duty, Saint-Clair is not.
        offices = {o["slug"]: o["on_duty"] for o in c.get("/api/offices").json()}
        assert offices == {"port-argent": True, "les-salines": True, "saint-clair": False}

        at(live, TUESDAY_2330)  # after the festival: alone again, nobody together
        assert duty(m)["together"] == []


def test_without_a_rota_every_office_answers_its_own(live: LiveServer) -> None:
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        db.execute("update destination set rota_toml = ''")
    port = office_login(live, "port-argent")
    with (
        login(live.url, port.email, port.password) as p,
        login(live.url, MANAGER, live.logins[MANAGER].password) as m,
    ):
        at(live, TUESDAY_2330)
        banner = duty(p)
        assert (banner["on_duty"], banner["kind"], banner["until"]) == (True, "own_hours", None)
        assert duty(m)["on_duty"] is False
        assert all(o["on_duty"] for o in p.get("/api/offices").json())


def test_the_duty_needs_a_session(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get("/api/duty").status_code == 401
