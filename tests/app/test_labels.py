"""Labels over real HTTP and sockets: who may manage them, names unique once folded, bad input
refused readably, labels put on and taken off conversations (live, with an activity line),
the list filtered by label, and the bulk bar."""

from __future__ import annotations

import httpx
import pytest

from app.services import Services
from tests.app.test_accounts import office_manager
from tests.app.test_api_lists import open_chats
from tests.app.test_assignment import online
from tests.app.test_ws import recv_until
from tests.conftest import LiveServer, login, office_login


def the_manager(live: LiveServer) -> tuple[str, str]:
    found = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    return found.email, found.password


def make(client: httpx.Client, name: str, color: str = "#2563eb") -> dict[str, object]:
    response = client.post("/api/labels", json={"name": name, "color": color})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_managers_manage_labels_advisers_apply_them(
    live: LiveServer, services: Services
) -> None:
    ids = await open_chats(services, 2)
    camille = office_login(live, "port-argent", 0)
    chef = office_manager(live, "port-argent")
    with (
        login(live.url, *the_manager(live)) as boss,
        login(live.url, *chef) as office_boss,
        login(live.url, camille.email, camille.password) as adviser,
    ):
        velo = make(boss, "Vélo", "#059669")
        assert make(office_boss, "Marées", "#0891B2")["color"] == "#0891b2"
        refused = adviser.post("/api/labels", json={"name": "Hébergement", "color": "#2563eb"})
        assert refused.status_code == 403
        assert refused.json()["code"] == "labels.error.managers_only"
        assert adviser.patch(f"/api/labels/{velo['id']}", json={"name": "X"}).status_code == 403
        assert adviser.delete(f"/api/labels/{velo['id']}").status_code == 403
        listed = adviser.get("/api/labels").json()
        assert [x["name"] for x in listed["labels"]] == ["Marées", "Vélo"]
        assert listed["may_manage"] is False and "#2563eb" in listed["palette"]
        # An adviser applies and removes; both are idempotent.
        url = f"/api/conversations/{ids[0]}/labels/{velo['id']}"
        first = adviser.post(url)
        assert first.status_code == 200, first.text
        assert [x["name"] for x in first.json()["labels"]] == ["Vélo"]
        assert adviser.post(url).json()["labels"] == first.json()["labels"]
        row = next(c for c in adviser.get("/api/conversations").json() if c["id"] == ids[0])
        assert row["labels"] == [{"id": velo["id"], "name": "Vélo", "color": "#059669"}]
        assert adviser.get("/api/labels").json()["labels"][1]["conversations"] == 1
        detail = adviser.get(f"/api/conversations/{ids[0]}").json()
        lines = [a for a in detail["activities"] if a["kind"] == "labelled"]
        assert len(lines) == 1 and lines[0]["detail"] == "Vélo"
        assert lines[0]["actor_name"] == "Camille Martin"
        assert adviser.delete(url).json()["labels"] == []
        assert adviser.delete(url).status_code == 200
        detail = adviser.get(f"/api/conversations/{ids[0]}").json()
        assert [a["kind"] for a in detail["activities"]].count("unlabelled") == 1
        # Renamed and recoloured by a manager: what the conversations show follows.
        adviser.post(url)
        renamed = boss.patch(
            f"/api/labels/{velo['id']}", json={"name": "Vélos", "color": "#dc2626"}
        )
        assert renamed.status_code == 200, renamed.text
        row = next(c for c in adviser.get("/api/conversations").json() if c["id"] == ids[0])
        assert row["labels"] == [{"id": velo["id"], "name": "Vélos", "color": "#dc2626"}]
        # Deleted: off every conversation.
        assert office_boss.delete(f"/api/labels/{velo['id']}").status_code == 204
        row = next(c for c in adviser.get("/api/conversations").json() if c["id"] == ids[0])
        assert row["labels"] == []
        assert adviser.post(url).status_code == 404
        assert [x["name"] for x in adviser.get("/api/labels").json()["labels"]] == ["Marées"]


@pytest.mark.parametrize(
    ("first", "second"),
    [("Vélo", "velo "), ("Hébergement", "HEBERGEMENT"), ("Marées  hautes", " marees hautes"),
     ("Œuvre", "œuvre"), ("Straße", "STRASSE"), ("ﬁlms", "films")],
)  # fmt: skip
async def test_names_are_unique_once_folded(live: LiveServer, first: str, second: str) -> None:
    with login(live.url, *the_manager(live)) as boss:
        made = make(boss, first)
        again = boss.post("/api/labels", json={"name": second, "color": "#2563eb"})
        assert again.status_code == 422
        assert again.json()["code"] == "labels.error.duplicate"
        english = boss.post("/api/labels", json={"name": second}, headers={"accept-language": "en"})
        assert "a label with this name exists" in english.json()["detail"].lower()
        other = make(boss, "Autre")
        clash = boss.patch(f"/api/labels/{other['id']}", json={"name": second})
        assert clash.status_code == 422 and clash.json()["code"] == "labels.error.duplicate"
        # Renaming a label to its own name written otherwise is no clash.
        same = boss.patch(f"/api/labels/{made['id']}", json={"name": second.strip()})
        assert same.status_code == 200 and same.json()["name"] == second.strip()
        names = [x["name"] for x in boss.get("/api/labels").json()["labels"]]
        assert len(names) == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "", "color": "#2563eb"}, "labels.error.name_empty"),
        ({"name": "   \t ", "color": "#2563eb"}, "labels.error.name_empty"),
        ({"name": "\u0301\u0308", "color": "#2563eb"}, "labels.error.name_empty"),
        ({"color": "#2563eb"}, "labels.error.name_empty"),
        ({"name": 42, "color": "#2563eb"}, "labels.error.name_empty"),
        ({"name": ["Vélo"], "color": "#2563eb"}, "labels.error.name_empty"),
        ({"name": "x" * 65, "color": "#2563eb"}, "labels.error.name_too_long"),
        ({"name": "ß" * 40, "color": "#2563eb"}, "labels.error.name_too_long"),
        ({"name": "a\x07b", "color": "#2563eb"}, "labels.error.name_invalid"),
        ({"name": "a\U0010ffffb", "color": "#2563eb"}, "labels.error.name_invalid"),
        ({"name": "a\x00b", "color": "#2563eb"}, "labels.error.name_invalid"),
        ({"name": "Vélo", "color": "red"}, "labels.error.color"),
        ({"name": "Vélo", "color": "#12345"}, "labels.error.color"),
        ({"name": "Vélo", "color": "#1234567"}, "labels.error.color"),
        ({"name": "Vélo", "color": "#gggggg"}, "labels.error.color"),
        ({"name": "Vélo", "color": "#12345\n"}, "labels.error.color"),
        ({"name": "Vélo", "color": None}, "labels.error.color"),
        ({"name": "Vélo", "color": 0x123456}, "labels.error.color"),
    ],
)
async def test_bad_labels_are_refused_readably(
    live: LiveServer, body: dict[str, object], code: str
) -> None:
    with login(live.url, *the_manager(live)) as boss:
        response = boss.post("/api/labels", json=body, headers={"accept-language": "fr"})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
        assert response.json()["detail"] and response.json()["detail"] != code
        assert boss.get("/api/labels").json()["labels"] == []
        good = make(boss, "Vélo")
        field = "color" if code == "labels.error.color" else "name"
        patched = boss.patch(f"/api/labels/{good['id']}", json={field: body.get(field)})
        assert patched.status_code == 422, patched.text
        assert patched.json()["code"] == code
        assert boss.get("/api/labels").json()["labels"][0]["name"] == "Vélo"


async def test_a_lone_surrogate_is_refused_not_a_500(live: LiveServer) -> None:
    with login(live.url, *the_manager(live)) as boss:
        raw = b'{"name": "V\\ud800lo", "color": "#2563eb"}'
        response = boss.post(
            "/api/labels", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert boss.get("/api/labels").json()["labels"] == []


async def test_unknown_foreign_and_malformed_ids(live: LiveServer, services: Services) -> None:
    ids = await open_chats(services, 1)
    ids += await open_chats(services, 1, account="chat-saint-clair")
    camille = office_login(live, "port-argent", 0)
    with (
        login(live.url, *the_manager(live)) as boss,
        login(live.url, camille.email, camille.password) as adviser,
    ):
        label = make(boss, "Vélo")
        # Another destination's label looks like no label at all.
        async with services.db.session() as session:
            from app.models import Destination, Label

            other = Destination(slug="ailleurs", name="Ailleurs", timezone="Europe/Paris")
            session.add(other)
            await session.flush()
            foreign = Label(
                destination_id=other.id or 0, name="Secret", key="secret",
                created_at=services.clock.now(),
            )  # fmt: skip
            session.add(foreign)
            await session.commit()
            foreign_id = foreign.id
        own, theirs = ids
        for client in (boss, adviser):
            assert client.post(f"/api/conversations/{own}/labels/{foreign_id}").status_code == 404
            assert client.post(f"/api/conversations/{own}/labels/99999").status_code == 404
            assert client.get(f"/api/conversations?label_id={foreign_id}").status_code == 404
            assert client.patch(f"/api/labels/{foreign_id}", json={"name": "x"}).status_code in (
                403,
                404,
            )
            for bad in ("abc", "1.5", "99999999999999999999999", "-"):
                for response in (
                    client.post(f"/api/conversations/{own}/labels/{bad}"),
                    client.delete(f"/api/conversations/{bad}/labels/{label['id']}"),
                    client.get(f"/api/conversations?label_id={bad}"),
                ):
                    assert response.status_code == 422, (bad, response.text)
                    assert response.json()["detail"]
        assert boss.delete(f"/api/labels/{foreign_id}").status_code == 404
        assert boss.patch(f"/api/labels/{foreign_id}", json={"name": "x"}).status_code == 404
        # Camille may not see Saint-Clair's conversation: not labelled, not revealed.
        response = adviser.post(f"/api/conversations/{theirs}/labels/{label['id']}")
        assert response.status_code == 404
        assert response.json()["code"] == "error.conversation_not_found"
        assert adviser.get(f"/api/conversations?label_id={label['id']}&status=all").json() == []
        # Without the CSRF header, nothing is written.
        token = adviser.headers.pop("X-CSRF-Token")
        assert adviser.post(f"/api/conversations/{own}/labels/{label['id']}").status_code == 403
        adviser.headers["X-CSRF-Token"] = token
        assert boss.get(f"/api/conversations/{own}").json()["conversation"]["labels"] == []


async def test_the_list_filters_by_label_across_pages(live: LiveServer, services: Services) -> None:
    ids = await open_chats(services, 7)
    with login(live.url, *the_manager(live)) as boss:
        velo, marees = make(boss, "Vélo"), make(boss, "Marées")
        for cid in ids[::2]:
            assert boss.post(f"/api/conversations/{cid}/labels/{velo['id']}").status_code == 200
        boss.post(f"/api/conversations/{ids[1]}/labels/{marees['id']}")
        seen: list[int] = []
        url = f"/api/conversations?label_id={velo['id']}&limit=2"
        while url:
            response = boss.get(url)
            seen += [c["id"] for c in response.json()]
            link = response.headers.get("link")
            url = link[1:].split(">;", 1)[0] if link else ""
            assert not link or f"label_id={velo['id']}" in link
        assert seen == sorted(ids[::2], reverse=True)
        only = boss.get(f"/api/conversations?label_id={marees['id']}").json()
        assert [c["id"] for c in only] == [ids[1]]
        assert boss.get(f"/api/conversations?label_id={marees['id']}&status=resolved").json() == []


async def test_a_label_appears_live_for_colleagues(live: LiveServer, services: Services) -> None:
    camille, hugo = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    (cid,) = await open_chats(services, 1)
    with (
        login(live.url, *the_manager(live)) as boss,
        login(live.url, camille.email, camille.password) as a,
        login(live.url, hugo.email, hugo.password) as b,
    ):
        label = make(boss, "Transports", "#ea580c")
        async with online(live, b) as hugo_socket:
            assert a.post(f"/api/conversations/{cid}/labels/{label['id']}").status_code == 200
            changed = await recv_until(hugo_socket, "conversation.changed")
            while changed["conversation"]["id"] != cid or not changed["conversation"]["labels"]:
                changed = await recv_until(hugo_socket, "conversation.changed")
            assert changed["conversation"]["labels"][0]["name"] == "Transports"
            line = await recv_until(hugo_socket, "activity.created")
            while line["activity"]["kind"] != "labelled":
                line = await recv_until(hugo_socket, "activity.created")
            assert line["activity"]["detail"] == "Transports"
            assert line["activity"]["actor_name"] == "Camille Martin"
            # Recoloured by a manager: the open conversation is announced again.
            boss.patch(f"/api/labels/{label['id']}", json={"color": "#000000"})
            changed = await recv_until(hugo_socket, "conversation.changed")
            assert changed["conversation"]["labels"][0]["color"] == "#000000"


async def test_bulk_labels_report_what_was_done(live: LiveServer, services: Services) -> None:
    ids = await open_chats(services, 3)
    theirs = await open_chats(services, 1, account="chat-saint-clair")
    camille = office_login(live, "port-argent", 0)
    with (
        login(live.url, *the_manager(live)) as boss,
        login(live.url, camille.email, camille.password) as adviser,
    ):
        label = make(boss, "Événements")
        adviser.post(f"/api/conversations/{ids[0]}/labels/{label['id']}")
        body = {"ids": [*ids, ids[1], *theirs, 424242], "action": "add"}
        result = adviser.post(f"/api/labels/{label['id']}/bulk", json=body)
        assert result.status_code == 200, result.text
        # ids[0] had it already; Saint-Clair's is not Camille's; 424242 does not exist.
        assert result.json() == {"done": [ids[1], ids[2]], "skipped": 3}
        listed = boss.get(f"/api/conversations?label_id={label['id']}").json()
        assert sorted(c["id"] for c in listed) == sorted(ids)
        removed = adviser.post(
            f"/api/labels/{label['id']}/bulk", json={"ids": ids, "action": "remove"}
        )
        assert removed.json() == {"done": ids, "skipped": 0}
        too_many = adviser.post(
            f"/api/labels/{label['id']}/bulk", json={"ids": list(range(1, 202)), "action": "add"}
        )
        assert too_many.status_code == 422
        assert too_many.json()["code"] == "error.bulk_too_many"
        bad = adviser.post(f"/api/labels/{label['id']}/bulk", json={"ids": ids, "action": "zap"})
        assert bad.status_code == 422
        gone = adviser.post("/api/labels/99999/bulk", json={"ids": ids, "action": "add"})
        assert gone.status_code == 404
        assert boss.get(f"/api/conversations?label_id={label['id']}").json() == []


async def test_usage_counts_follow_the_callers_rights(live: LiveServer, services: Services) -> None:
    ours = await open_chats(services, 2)
    theirs = await open_chats(services, 3, account="chat-saint-clair")
    camille = office_login(live, "port-argent", 0)
    chef = office_manager(live, "saint-clair")
    with (
        login(live.url, *the_manager(live)) as boss,
        login(live.url, *chef) as office_boss,
        login(live.url, camille.email, camille.password) as adviser,
    ):
        label = make(boss, "Marées")
        for cid in ours + theirs:
            boss.post(f"/api/conversations/{cid}/labels/{label['id']}")

        def used(client: httpx.Client) -> int:
            return int(client.get("/api/labels").json()["labels"][0]["conversations"])

        assert (used(boss), used(adviser), used(office_boss)) == (5, 2, 3)
