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
from tests.conftest import LiveServer, login, office_login

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


def _login_status(live: LiveServer, email: str, password: str) -> int:
    """The status of a sign-in through the real form (303: in)."""
    with httpx.Client(base_url=live.url, follow_redirects=False, timeout=10) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        data = {"email": email, "password": password, "csrf_token": token}
        return client.post("/login", data=data).status_code


def test_a_manager_sets_a_new_password_for_a_member_who_forgot_theirs(make_server: Any) -> None:
    """An office manager sets a new password for an adviser of their office: the adviser's
    open session ends at once, the old password no longer signs in and the new one does. A
    password breaking the rules is refused in the reader's language with nothing changed; not
    for oneself, nor for someone of another office (as if they did not exist); CSRF."""
    live: LiveServer = make_server()
    adviser = office_login(live, "saint-clair")
    new = "nouveau mot de passe 7"
    manager = office_manager(live, "saint-clair")
    with login(live.url, *manager) as client:
        page = client.get("/team", headers={"accept-language": "fr"}).text
        row = page.split(f'data-email="{adviser.email}"', 1)[1].split("</tr>", 1)[0]
        assert 'data-testid="team-password-form"' in row and "Nouveau mot de passe" in row
        target = page.split(f'data-email="{adviser.email}"')[0].rsplit('id="user-', 1)[1]
        target_id = target.split('"', 1)[0]
        token = client.headers["X-CSRF-Token"]

        with login(live.url, adviser.email, adviser.password) as theirs:
            assert theirs.get("/inbox").status_code == 200
            short = client.post(
                f"/team/{target_id}/password",
                data={"csrf_token": token, "password": "court"},
                headers={"accept-language": "fr"},
            )
            assert short.status_code == 422 and "au moins 10 caractères" in html.unescape(
                short.text
            )
            assert "court" not in short.text.split('data-testid="team"', 1)[1]
            assert theirs.get("/inbox").status_code == 200  # refused: nothing ended
            done = client.post(
                f"/team/{target_id}/password", data={"csrf_token": token, "password": new}
            )
            assert done.status_code == 303
            assert theirs.get("/inbox").status_code == 303  # signed out at once
        notice = client.get(done.headers["location"], headers={"accept-language": "en"}).text
        assert "has a new password: their sessions ended." in html.unescape(notice)
        assert new not in notice

        me = page.split("(vous)")[0].rsplit('id="user-', 1)[1].split('"')[0]
        own = client.post(f"/team/{me}/password", data={"csrf_token": token, "password": new})
        assert own.status_code == 409
        assert "Changez votre propre mot de passe sur la page" in html.unescape(own.text)
        with contextlib.closing(database(live)) as db:
            (other,) = db.execute(
                "select id from \"user\" where email like '%@port-argent.example' limit 1"
            ).fetchone()
        elsewhere = client.post(
            f"/team/{other}/password", data={"csrf_token": token, "password": new}
        )
        assert elsewhere.status_code == 404
        client.headers.pop("X-CSRF-Token")
        forged = client.post(f"/team/{target_id}/password", data={"password": "forged password 9"})
        assert forged.status_code == 403

    assert _login_status(live, adviser.email, adviser.password) != 303
    assert _login_status(live, adviser.email, "forged password 9") != 303
    assert _login_status(live, adviser.email, new) == 303
    assert _login_status(live, *manager) == 303  # theirs unchanged
