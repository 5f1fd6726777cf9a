"""bench/inbox_requests.py times real requests: the replies it sends are stored and the
conversation it marks read is read, against the real server."""

from __future__ import annotations

from bench.inbox_requests import WARM_UP, measure
from tests.conftest import LiveServer, login, office_login


async def test_the_bench_times_stored_replies_and_reads(live: LiveServer) -> None:
    adviser = office_login(live, "port-argent")
    times = await measure(live.url, (adviser.email, adviser.password, "port-argent"), 3)
    assert {name: len(values) for name, values in times.items()} == {
        "reply": 3,
        "read": 3,
        "floor": 3,
    }
    assert all(value > 0 for values in times.values() for value in values)
    with login(live.url, adviser.email, adviser.password) as client:
        listed = client.get("/api/conversations").json()
        conversation = client.get(f"/api/conversations/{listed[0]['id']}").json()
    replies = [m["text"] for m in conversation["messages"] if m["direction"] == "out"]
    assert replies == [f"Réponse {n}" for n in range(WARM_UP + 3)]
    assert conversation["conversation"]["unread"] == 0
