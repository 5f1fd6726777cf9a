"""/team: managers see the people they look after, add one (who then signs in with the first
password), disable one (sessions and sockets end at once) and enable them again; an office
manager only in their office and only advisers; refusals in the reader's language with nothing
written; CSRF. Real server, Redis and database."""

from __future__ import annotations

import contextlib
import html
from typing import Any

import httpx

from tests.app.test_account_setup import _manager, _office_id
from tests.app.test_accounts import database, office_manager
from tests.conftest import LiveServer, login

FIRST = "premier mot de passe 1"


def _users(live: LiveServer) -> dict[str, tuple[str, str, int | None, bool]]:
    """Every user: e-mail → (name, role, office id, active)."""
    with contextlib.closing(database(live)) as db:
        rows = db.execute('select email, name, role, office_id, active from "user"').fetchall()
    return {e: (n, str(r).lower(), o, bool(a)) for e, n, r, o, a in rows}


def _add(client: httpx.Client, lang: str = "fr", **fields: Any) -> httpx.Response:
    data = {"csrf_token": client.headers["X-CSRF-Token"], "password": FIRST, **fields}
    return client.post("/team/add", data=data, headers={"accept-language": lang})


def test_a_destination_manager_adds_disables_and_enables_team_members(
    make_server: Any,
) -> None:
    live: LiveServer = make_server()
    saint = _office_id(live, "saint-clair")
    before = _users(live)
    with login(live.url, *_manager(live)) as client:
        page = client.get("/team", headers={"accept-language": "fr"})
        assert page.status_code == 200 and "Ajouter un membre de l'équipe" in html.unescape(
            page.text
        )
        # Everyone of the destination is listed, the manager marked as "you".
        for email in before:
            assert f'data-email="{email}"' in page.text
        assert "(vous)" in page.text

        added = _add(
            client,
            email="  Lea.Martin@Saint-Clair.example ",
            name="Léa <b>Martin</b>",
            role="adviser",
            office=str(saint),
        )
        assert added.status_code == 303, added.text[:400]
        assert _users(live)["lea.martin@saint-clair.example"] == (
            "Léa <b>Martin</b>", "adviser", saint, True
        )  # fmt: skip
        shown = client.get(added.headers["location"], headers={"accept-language": "en"})
        assert (
            "Léa &lt;b&gt;Martin&lt;/b&gt; was added: they can sign in with "
            "lea.martin@saint-clair.example." in shown.text
        )
        # A destination manager needs no office.
        boss = _add(client, email="chef@baie.example", name="Chef", role="destination_manager", office="0")  # fmt: skip
        assert boss.status_code == 303
        assert _users(live)["chef@baie.example"][1:3] == ("destination_manager", None)

        # Refused, said in the reader's language; nothing written; what was typed kept.
        for fields, lang, status, words in (
            ({"email": "pas-une-adresse", "name": "X", "role": "adviser", "office": str(saint)},
             "fr", 422, "Ce n'est pas une adresse e-mail"),
            ({"email": "LEA.MARTIN@saint-clair.example", "name": "Léa", "role": "adviser",
              "office": str(saint)}, "en", 409, "A user with this e-mail address exists already."),
            ({"email": "x@y.example", "name": "  ", "role": "adviser", "office": str(saint)},
             "en", 422, "A name is 1 to 200 characters."),
            ({"email": "x@y.example", "name": "X", "role": "admin", "office": str(saint)},
             "fr", 422, "Choisissez un rôle que vous pouvez donner."),
            ({"email": "x@y.example", "name": "X", "role": "adviser", "office": "0"},
             "en", 422, "Choose one of your offices"),
            ({"email": "x@y.example", "name": "X", "role": "adviser", "office": str(saint),
              "password": "court"}, "fr", 422, "au moins 10 caractères"),
        ):  # fmt: skip
            refused = _add(client, lang, **fields)
            assert refused.status_code == status, (fields, refused.text[:300])
            said = html.unescape(refused.text)
            assert words in said, fields
            assert f'value="{fields["email"]}"' in said  # kept
            assert FIRST not in said and "court" not in said.split("team-add-form")[1]
        assert set(_users(live)) == set(before) | {"lea.martin@saint-clair.example", "chef@baie.example"}  # fmt: skip

        lea = client.get("/team").text.split('data-email="lea.martin@saint-clair.example"')[0]
        lea_id = lea.rsplit('id="user-', 1)[1].split('"', 1)[0]
        token = client.headers["X-CSRF-Token"]
        # The new adviser signs in with the first password; disabled, they are out at once.
        with login(live.url, "lea.martin@saint-clair.example", FIRST) as lea_client:
            assert lea_client.get("/inbox").status_code == 200
            off = client.post(f"/team/{lea_id}/active", data={"csrf_token": token})
            assert off.status_code == 303
            assert _users(live)["lea.martin@saint-clair.example"][3] is False
            assert lea_client.get("/inbox").status_code == 303  # to the login page
        notice = client.get(off.headers["location"], headers={"accept-language": "fr"}).text
        assert "est désactivé·e : ses sessions sont terminées." in html.unescape(notice)
        on = client.post(f"/team/{lea_id}/active", data={"csrf_token": token, "active": "true"})
        assert on.status_code == 303 and _users(live)["lea.martin@saint-clair.example"][3]
        # Not oneself; CSRF.
        me = client.get("/team").text.split("(vous)")[0].rsplit('id="user-', 1)[1].split('"')[0]
        assert client.post(f"/team/{me}/active", data={"csrf_token": token}).status_code == 409
        client.headers.pop("X-CSRF-Token")
        forged = client.post("/team/add", data={"email": "p@p.example", "name": "P",
                                                "role": "adviser", "office": str(saint),
                                                "password": FIRST})  # fmt: skip
        assert forged.status_code == 403
    assert "p@p.example" not in _users(live)


def test_an_office_manager_adds_advisers_to_their_office_only(make_server: Any) -> None:
    live: LiveServer = make_server()
    port, saint = _office_id(live, "port-argent"), _office_id(live, "saint-clair")
    with login(live.url, *office_manager(live, "saint-clair")) as client:
        page = client.get("/team").text
        # Their office's people only: no one of Port-Argent, no destination manager.
        assert "@port-argent.example" not in page and "manager@" not in page
        form = page.split('data-testid="team-add-form"', 1)[1].split("</form>", 1)[0]
        assert 'value="adviser"' in form and "office_manager" not in form
        assert f'value="{saint}"' in form and f'value="{port}"' not in form
        for fields in (
            {"email": "a@b.example", "name": "A", "role": "office_manager", "office": str(saint)},
            {"email": "a@b.example", "name": "A", "role": "adviser", "office": str(port)},
            {"email": "a@b.example", "name": "A", "role": "destination_manager", "office": "0"},
        ):
            assert _add(client, **fields).status_code == 422, fields
        assert _add(client, email="a@b.example", name="A", role="adviser", office=str(saint)).status_code == 303  # fmt: skip
        # Someone of another office cannot be disabled from here: as if they did not exist.
        token = client.headers["X-CSRF-Token"]
        with contextlib.closing(database(live)) as db:
            (other,) = db.execute(
                "select id from \"user\" where email like '%@port-argent.example' limit 1"
            ).fetchone()
        assert client.post(f"/team/{other}/active", data={"csrf_token": token}).status_code == 404
    assert _users(live)["a@b.example"][1:3] == ("adviser", saint)
    adviser = next(x for x in live.logins.values() if x.email.startswith("camille@"))
    with login(live.url, adviser.email, adviser.password) as client:
        assert client.get("/team").status_code == 403
        assert "nav-team" not in client.get("/inbox").text
        denied = _add(client, email="z@z.example", name="Z", role="adviser", office=str(port))
        assert denied.status_code == 403
    assert "z@z.example" not in _users(live)
