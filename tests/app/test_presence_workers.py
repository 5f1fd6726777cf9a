"""Presence is counted per socket across workers: an adviser with one inbox tab on each of two
workers stays online, in both workers' views, until the last tab closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.app.test_assignment import online
from tests.app.test_team_presence import colleagues, me, presence_of
from tests.conftest import LiveServer, login, office_login


async def test_one_of_two_tabs_on_two_workers_closing_keeps_the_adviser_online(
    make_server: Callable[..., LiveServer],
) -> None:
    one, two = make_server(), make_server()  # two workers sharing Redis and the database
    camille, hugo = office_login(one, "port-argent", 0), office_login(one, "port-argent", 1)
    with (
        login(one.url, camille.email, camille.password) as a_one,
        login(two.url, camille.email, camille.password) as a_two,
        login(one.url, hugo.email, hugo.password) as b_one,
        login(two.url, hugo.email, hugo.password) as b_two,
    ):
        camille_id = me(a_one)

        def seen() -> list[str]:
            return [colleagues(b)["Camille Martin"]["status"] for b in (b_one, b_two)]

        assert seen() == ["offline", "offline"]
        async with online(two, b_two) as hugo_ws:
            async with online(one, a_one):
                assert (await presence_of(hugo_ws, camille_id))["status"] == "online"
                async with online(two, a_two):
                    assert (await presence_of(hugo_ws, camille_id))["status"] == "online"
                    assert seen() == ["online", "online"]
                # The tab on worker two closed; the one on worker one is open: still online,
                # and nobody is told otherwise.
                assert seen() == ["online", "online"]
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(presence_of(hugo_ws, camille_id), 1.5)
                assert seen() == ["online", "online"]
            # The last tab closed: offline in both views, and told to the colleague's socket
            # on the other worker.
            assert (await presence_of(hugo_ws, camille_id))["status"] == "offline"
            assert seen() == ["offline", "offline"]
