"""Managers add a chat widget and remove an account added by mistake, from /accounts and the
JSON API: the CLI's rules (app.destinations, app.removal), refusals in the reader's language
with nothing written, CSRF, each office manager to their own office; the widget's code to paste
shown on the page. Over a real server and database."""

from __future__ import annotations

import asyncio
import contextlib
import html
from typing import Any

import httpx
import websockets
from redis import Redis

from app import keys
from tests.app.test_accounts import database, office_manager
from tests.app.test_ws import recv_until, visitor_url
from tests.conftest import LiveServer, login


def _accounts(live: LiveServer) -> dict[str, tuple[str, int, bool]]:
    """Every account: key → (name, office id, active)."""
    with contextlib.closing(database(live)) as db:
        rows = db.execute("select key, name, office_id, active from account").fetchall()
    return {key: (name, office_id, bool(active)) for key, name, office_id, active in rows}


def _office_id(live: LiveServer, slug: str) -> int:
    with contextlib.closing(database(live)) as db:
        (found,) = db.execute("select id from office where slug = ?", (slug,)).fetchone()
    return int(found)


def _manager(live: LiveServer) -> tuple[str, str]:
    found = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    return found.email, found.password


async def _hello(url: str) -> dict[str, Any]:
    async with websockets.connect(url) as ws:
        return await recv_until(ws, "hello")


def _said(response: httpx.Response) -> str:
    return html.unescape(response.text)


def test_a_manager_adds_a_widget_gets_its_code_and_removes_a_mistaken_one(
    make_server: object,
) -> None:
    live: LiveServer = make_server()  # type: ignore[operator]
    port, saint = _office_id(live, "port-argent"), _office_id(live, "saint-clair")
    before = _accounts(live)
    with login(live.url, *_manager(live)) as client:
        token = client.headers["X-CSRF-Token"]
        page = client.get("/accounts", headers={"accept-language": "fr"})
        assert "Ajouter un widget de chat" in page.text
        # Every office of the destination is offered to a destination manager.
        form = page.text.split('data-testid="add-widget-form"', 1)[1].split("</form>", 1)[0]
        assert f'value="{port}"' in form and f'value="{saint}"' in form
        # The existing widgets show the code to paste, escaped as text.
        snippet = page.text.split('data-testid="widget-snippet-code"', 1)[1].split("</textarea>")[0]
        assert "<script" not in snippet  # text, not markup
        assert html.unescape(snippet).endswith(
            f'><script src="{live.url}/static/widget.js" data-account="chat-port-argent" '
            "async></script>"
        )

        added = client.post(
            "/accounts/add-widget",
            data={
                "csrf_token": token,
                "office": str(saint),
                "key": " chat-saint-clair-plage ",
                "name": "  Chat <i>plage</i> ",
            },
        )
        assert added.status_code == 303, added.text
        assert added.headers["location"].endswith("#widget-chat-saint-clair-plage")
        assert _accounts(live)["chat-saint-clair-plage"] == ("Chat <i>plage</i>", saint, True)
        shown = client.get(added.headers["location"], headers={"accept-language": "en"})
        assert "Chat &lt;i&gt;plage&lt;/i&gt;: widget added." in shown.text  # escaped
        panel = shown.text.split('id="widget-chat-saint-clair-plage"', 1)[1].split("</details>")[0]
        assert panel.lstrip().startswith('data-testid="widget-look"')
        assert " open>" in panel.split("\n", 1)[0]  # its settings open, its code in them
        assert 'data-account="chat-saint-clair-plage"' in html.unescape(panel)

        # The widget works at once: a visitor's chat opens on it.
        url = visitor_url(live, account="chat-saint-clair-plage")
        assert asyncio.run(_hello(url))["type"] == "hello"

        # Refusals: said in the reader's language, nothing written, what was typed kept.
        for data, language, status, words in (
            ({"key": "Chat Plage", "name": "Plage"}, "fr", 422,
             "Clé : de 1 à 64 lettres minuscules, chiffres et tirets"),
            ({"key": "chat-port-argent", "name": "Doublon"}, "en", 422,
             'The key "chat-port-argent" is taken: choose another one.'),
            ({"key": "chat-vide", "name": "   "}, "en", 422, "Give a name of 1 to 200 characters."),
            ({"key": "chat-ailleurs", "name": "Ailleurs", "office": "99999"}, "fr", 422,
             "Choisissez l'un de vos offices."),
        ):  # fmt: skip
            refused = client.post(
                "/accounts/add-widget",
                data={"csrf_token": token, "office": str(port), **data},
                headers={"accept-language": language},
            )
            assert refused.status_code == status, (data, refused.text[:300])
            assert words in _said(refused), data
            assert f'value="{data["key"]}"' in _said(refused)  # the form keeps what was typed
        assert set(_accounts(live)) == set(before) | {"chat-saint-clair-plage"}

        # Removing: enabled → 409; disabled and never used → gone; used → stays.
        removing = {"csrf_token": token, "confirm": "true"}
        refused = client.post(
            "/accounts/chat-saint-clair-plage/remove",
            data=removing,
            headers={"accept-language": "fr"},
        )
        assert refused.status_code == 409
        assert "Désactivez d'abord ce compte, puis supprimez-le." in _said(refused)
        client.post(
            "/accounts/chat-saint-clair-plage/manage",
            data={"csrf_token": token, "name": "Chat plage"},
        )
        page = client.get("/accounts")
        assert 'action="/accounts/chat-saint-clair-plage/remove"' in page.text
        assert 'action="/accounts/chat-port-argent/remove"' not in page.text  # enabled: no form
        unticked = client.post(
            "/accounts/chat-saint-clair-plage/remove",
            data={"csrf_token": token},
            headers={"accept-language": "en"},
        )
        assert unticked.status_code == 422
        assert "Tick the confirmation to remove the account." in _said(unticked)
        assert "chat-saint-clair-plage" in _accounts(live)
        removed = client.post("/accounts/chat-saint-clair-plage/remove", data=removing)
        assert (
            removed.status_code == 303 and removed.headers["location"] == "/accounts?done=removed"
        )
        assert "chat-saint-clair-plage" not in _accounts(live)
        assert "Le compte a été supprimé." in _said(
            client.get("/accounts?done=removed", headers={"accept-language": "fr"})
        )
        # The demo's mailbox is inactive and never received anything, but the rota names it.
        rota = client.post(
            "/accounts/mail-port-argent/remove", data=removing, headers={"accept-language": "en"}
        )
        assert rota.status_code == 409
        assert "The rota names this account: take it out of the rota first." in _said(rota)

        client.headers.pop("X-CSRF-Token")
        forged = client.post(
            "/accounts/add-widget",
            data={"office": str(port), "key": "chat-pirate", "name": "Pirate"},
        )
        assert forged.status_code == 403
    assert set(_accounts(live)) == set(before)


def test_office_managers_add_and_remove_in_their_office_only_and_the_api_says_why(
    make_server: object,
) -> None:
    live: LiveServer = make_server()  # type: ignore[operator]
    port, saint = _office_id(live, "port-argent"), _office_id(live, "saint-clair")
    with login(live.url, *office_manager(live, "saint-clair")) as client:
        page = client.get("/accounts")
        form = page.text.split('data-testid="add-widget-form"', 1)[1].split("</form>", 1)[0]
        assert f'value="{saint}"' in form and f'value="{port}"' not in form
        other = client.post(
            "/api/accounts",
            json={"office_id": port, "key": "chat-pas-a-moi", "name": "Pas à moi"},
            headers={"accept-language": "en"},
        )
        assert other.status_code == 422
        assert other.json() == {
            "detail": "Choose one of your offices.",
            "code": "accounts.add.bad_office",
        }
        created = client.post(
            "/api/accounts", json={"office_id": saint, "key": "chat-sc-2", "name": "Chat 2"}
        )
        assert created.status_code == 201
        body = created.json()
        assert {k: body[k] for k in ("key", "name", "channel", "office_id", "active")} == {
            "key": "chat-sc-2",
            "name": "Chat 2",
            "channel": "webchat",
            "office_id": saint,
            "active": True,
        }
        assert 'data-account="chat-sc-2"' in body["snippet"]
        assert client.post("/api/accounts", json={"office_id": saint}).status_code == 422
        taken = client.post(
            "/api/accounts", json={"office_id": saint, "key": "chat-sc-2", "name": "Encore"}
        )
        assert (taken.status_code, taken.json()["code"]) == (422, "accounts.add.key_taken")

        enabled = client.delete("/api/accounts/chat-sc-2", headers={"accept-language": "fr"})
        assert enabled.status_code == 409
        assert enabled.json()["code"] == "accounts.remove.enabled"
        assert client.patch("/api/accounts/chat-sc-2", json={"active": False}).status_code == 200
        assert client.delete("/api/accounts/chat-sc-2").status_code == 204
        assert client.delete("/api/accounts/chat-sc-2").status_code == 404
        # Another office's account, even disabled and unused: as if it did not exist.
        assert client.delete("/api/accounts/chat-port-argent").status_code == 404
        assert (
            client.post(
                "/accounts/chat-port-argent/remove",
                data={"csrf_token": client.headers["X-CSRF-Token"], "confirm": "true"},
            ).status_code
            == 404
        )
    assert "chat-sc-2" not in _accounts(live) and "chat-port-argent" in _accounts(live)

    adviser = next(x for x in live.logins.values() if x.email.startswith("camille@"))
    with login(live.url, adviser.email, adviser.password) as client:
        assert "add-widget" not in client.get("/accounts").text
        refused = client.post(
            "/api/accounts", json={"office_id": port, "key": "chat-conseil", "name": "C"}
        )
        assert refused.status_code == 403
        assert client.delete("/api/accounts/chat-port-argent").status_code == 403
    assert "chat-conseil" not in _accounts(live)


def test_a_removed_mailbox_leaves_no_cursor_for_an_account_added_later_under_its_key(
    make_server: object,
) -> None:
    """The connector's cursors (the last UID read, an X timeline's last id) and status are
    dropped with the account: a mailbox added again under that key reads its own from the
    start. Another account's are untouched."""
    live: LiveServer = make_server()  # type: ignore[operator]
    saint = _office_id(live, "saint-clair")
    with contextlib.closing(database(live)) as db, db:
        (destination,) = db.execute("select destination_id from office where id = ?", (saint,))
        destination_id = int(destination[0])
        db.execute(
            "insert into account (destination_id, office_id, channel, key, name,"
            " allowed_origins, settings, active, auto_reply, widget)"
            " values (?, ?, 'email', 'mail-essai', 'Essai', '', '', ?, '', '')",
            (destination_id, saint, False),
        )
    redis = Redis.from_url(live.settings.redis_url)
    mine = (
        keys.cursor(destination_id, "mail-essai"),
        keys.connector_status(destination_id, "mail-essai"),
    )
    other = keys.cursor(destination_id, "mail-port-argent")
    with contextlib.closing(redis):
        redis.hset(mine[0], "INBOX", "1700000000:42")
        redis.set(mine[1], '{"state": "error"}')
        redis.hset(other, "INBOX", "1700000001:7")
        with login(live.url, *_manager(live)) as client:
            assert client.delete("/api/accounts/mail-essai").status_code == 204
        assert redis.exists(*mine) == 0
        assert redis.hget(other, "INBOX") == b"1700000001:7"
    assert "mail-essai" not in _accounts(live)
