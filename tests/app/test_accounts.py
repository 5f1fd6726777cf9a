"""Configuring a mailbox account, and the accounts page showing connector status."""

from __future__ import annotations

import contextlib
import html
import sqlite3
from pathlib import Path
from typing import Any

from app.models import Message
from tests.app.test_cli import run_cli
from tests.conftest import LiveServer, login
from tests.support.connector_status import put_after_supervision
from tests.support.sql import connect as sql_connect


def test_account_email_configures_and_refuses_bad_settings(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run_cli("demo", env=env).returncode == 0
    ok = run_cli(
        "account", "email", "mail-port-argent", "--address", "info@port-argent.example",
        "--imap-host", "imap.example.org", "--imap-user", "info", "--smtp-host", "smtp.example.org",
        "--smtp-user", "info", "--backfill-days", "30", env=env,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "CONCIERGE_SECRET_MAIL_PORT_ARGENT_IMAP_PASSWORD" in ok.stdout
    assert "CONCIERGE_SECRET_MAIL_PORT_ARGENT_SMTP_PASSWORD" in ok.stdout
    bad = run_cli(
        "account", "email", "mail-port-argent", "--address", "not-an-address",
        "--imap-host", "imap.example.org", "--imap-user", "info", "--imap-security", "sometimes",
        "--tls-ca-file", "office-ca.pem", env=env,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "address:" in bad.stderr and "imap_security:" in bad.stderr
    assert "tls_ca_file: must be an absolute path" in bad.stderr
    wrong = run_cli(
        "account", "email", "chat-port-argent", "--address", "a@b.c", "--imap-host", "h", "--imap-user", "u",
        env=env,
    )  # fmt: skip
    assert wrong.returncode != 0 and "webchat account" in wrong.stderr
    with contextlib.closing(sqlite3.connect(tmp_path / "var" / "concierge.db")) as db:
        query = "select settings, active from account where key = 'mail-port-argent'"
        settings, active = db.execute(query).fetchone()
    assert '"imap_host": "imap.example.org"' in settings and active == 1
    assert '"backfill_days": 30' in settings
    assert "password" not in settings


def test_accounts_page_shows_a_missing_secret(make_server: object, live: LiveServer) -> None:
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        db.execute(
            "update account set active = true, settings = ? where key = 'mail-saint-clair'",
            (
                '{"address": "info@saint-clair.example", "imap_host": "127.0.0.1", "imap_user": "info"}',
            ),
        )
        # Disabled (`concierge account disable`): a widget, and a mailbox once connected.
        db.execute("update account set active = false where key = 'chat-port-argent'")
        db.execute(
            'update account set active = false, settings = \'{"address": "a@b.example"}\''
            " where key = 'mail-port-argent'"
        )
    server = make_server()  # type: ignore[operator]
    manager = next(x for x in server.logins.values() if x.email.startswith("manager@"))
    with login(server.url, manager.email, manager.password) as client:
        page = client.get("/accounts", headers={"accept-language": "en"})
        french = client.get("/accounts", headers={"accept-language": "fr"})
    assert page.status_code == 200
    row = page.text.split('data-key="mail-saint-clair"', 1)[1].split("</tr>", 1)[0]
    assert (
        "the account cannot start: the environment variable "
        "CONCIERGE_SECRET_MAIL_SAINT_CLAIR_IMAP_PASSWORD is not set" in row
    )
    assert ">error</b>" in row
    assert (
        "not configured" in page.text.split('data-key="x-port-argent"', 1)[1].split("</tr>", 1)[0]
    )
    # In French the status is wholly French, around the variable's name.
    assert french.headers["content-language"] == "fr"
    row = french.text.split('data-key="mail-saint-clair"', 1)[1].split("</tr>", 1)[0]
    assert (
        "le compte ne peut pas démarrer : la variable d'environnement "
        "CONCIERGE_SECRET_MAIL_SAINT_CLAIR_IMAP_PASSWORD n'est pas définie" in html.unescape(row)
    )
    assert ">erreur</b>" in row
    x_row = french.text.split('data-key="x-port-argent"', 1)[1].split("</tr>", 1)[0]
    assert "non configuré" in x_row and "not configured" not in x_row
    for key in ("chat-port-argent", "mail-port-argent"):
        english = page.text.split(f'data-key="{key}"', 1)[1].split("</tr>", 1)[0]
        assert 'data-state="disabled">disabled<' in english, english
        assert ">désactivé<" in french.text.split(f'data-key="{key}"', 1)[1].split("</tr>")[0]
    adviser = next(x for x in server.logins.values() if x.email.startswith("camille@"))
    with login(server.url, adviser.email, adviser.password) as client:
        assert client.get("/accounts").status_code == 403


# ---- automatic replies, quarantine, counters (issue 12) -----------------------------------
MAIL = (
    b"From: Ana Lopes <ana@example.org>\r\nTo: info@saint-clair.example\r\n"
    b"Subject: Horaires du phare\r\nMessage-ID: <phare-7@example.org>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nLe phare est-il ouvert dimanche ?\r\n"
)


def database(live: LiveServer) -> Any:
    return sql_connect(live.settings.sqlalchemy_url)


def office_manager(live: LiveServer, office_slug: str) -> tuple[str, str]:
    """A new office manager of ``office_slug``: (e-mail, password)."""
    from app.security import hash_password

    email, password = f"chef@{office_slug}.example", "un mot de passe solide 42"
    with contextlib.closing(database(live)) as db, db:
        (office_id,) = db.execute("select id from office where slug = ?", (office_slug,)).fetchone()
        db.execute(
            'insert into "user" (destination_id, office_id, email, name, password_hash, role,'
            " language, active) values (1, ?, ?, 'Chef', ?, 'OFFICE_MANAGER', '', true)",
            (office_id, email, hash_password(password)),
        )
    return email, password


def stored_policy(live: LiveServer, key: str) -> str:
    with contextlib.closing(database(live)) as db:
        return str(db.execute("select auto_reply from account where key = ?", (key,)).fetchone()[0])


def test_managers_set_automatic_replies_per_account(make_server: object) -> None:
    server = make_server()  # type: ignore[operator]
    manager = next(x for x in server.logins.values() if x.email.startswith("manager@"))
    chef = office_manager(server, "saint-clair")
    with login(server.url, manager.email, manager.password) as client:
        page = client.get("/accounts", headers={"accept-language": "en"})
        token = client.headers["X-CSRF-Token"]
        x_form = page.text.split('data-testid="auto-reply" data-key="x-port-argent"', 1)[1]
        x_form = x_form.split("</details>", 1)[0]
        assert "direct messages on, public mentions off" in html.unescape(x_form).lower()
        saved = client.post(
            "/accounts/x-port-argent/auto-reply",
            data={
                "csrf_token": token,
                "enabled": "true",
                "public": "true",
                "text_fr": "Merci ! {office} vous répondra {when}.",
                "text_en": "",
            },
        )
        assert saved.status_code == 303
        notice = client.get(saved.headers["location"], headers={"accept-language": "en"})
        assert "Automatic replies of X de Port-Argent saved." in html.unescape(notice.text)
        forged = client.get("/accounts?done=saved&key=Pay+us+at+evil.example")
        assert 'data-testid="accounts-notice"' not in forged.text
        policy = stored_policy(server, "x-port-argent")
        assert '"public":true' in policy and "{office} vous répondra {when}" in policy
        # An unknown placeholder is refused in the reader's language; nothing changes.
        for language, words in (("en", "Unknown placeholder {name}"), ("fr", "Variable inconnue")):
            refused = client.post(
                "/accounts/x-port-argent/auto-reply",
                data={"csrf_token": token, "enabled": "true", "text_en": "Hi {name}"},
                headers={"accept-language": language},
            )
            assert refused.status_code == 422
            assert words in html.unescape(refused.text)
            assert "Hi {name}" in html.unescape(refused.text)  # the text is kept to be fixed
        assert stored_policy(server, "x-port-argent") == policy
        # Without the CSRF token: refused, unchanged.
        client.headers.pop("X-CSRF-Token")
        forged = client.post("/accounts/x-port-argent/auto-reply", data={"enabled": ""})
        assert forged.status_code == 403 and stored_policy(server, "x-port-argent") == policy
    # An office manager edits their own office's accounts only; another office's is 404.
    with login(server.url, *chef) as client:
        token = client.headers["X-CSRF-Token"]
        page = client.get("/accounts")
        assert 'data-key="chat-saint-clair"' in page.text
        assert 'data-key="x-port-argent"' not in page.text
        other = client.post(
            "/accounts/x-port-argent/auto-reply", data={"csrf_token": token, "enabled": ""}
        )
        assert other.status_code == 404 and stored_policy(server, "x-port-argent") == policy
        own = client.post("/accounts/chat-saint-clair/auto-reply", data={"csrf_token": token})
        assert own.status_code == 303
        assert '"enabled":false' in stored_policy(server, "chat-saint-clair")
    adviser = next(x for x in server.logins.values() if x.email.startswith("camille@"))
    with login(server.url, adviser.email, adviser.password) as client:
        token = client.headers["X-CSRF-Token"]
        denied = client.post("/accounts/chat-port-argent/auto-reply", data={"csrf_token": token})
        assert denied.status_code == 403 and stored_policy(server, "chat-port-argent") == ""


def test_quarantine_download_retry_and_dismiss(make_server: object) -> None:
    server = make_server()  # type: ignore[operator]
    with contextlib.closing(database(server)) as db, db:
        for raw, code, params, at in (
            (MAIL, "email.unparseable", '{"uid": "9", "error": "KeyError: boundary"}', "10:00"),
            (b"", "email.empty_body", '{"uid": "10"}', "11:00"),
        ):
            db.execute(
                "insert into quarantine (account_key, reason, raw, at, code, params)"
                " values ('mail-saint-clair', 'unparseable', ?, ?, ?, ?)",
                (raw, f"2026-07-21 {at}:00.000000", code, params),
            )
        ids = [row[0] for row in db.execute("select id from quarantine order by id")]
    chef = office_manager(server, "saint-clair")
    intruder = office_manager(server, "port-argent")
    with login(server.url, *intruder) as client:
        token = client.headers["X-CSRF-Token"]
        assert 'data-testid="quarantine-item"' not in client.get("/accounts").text
        assert client.get(f"/accounts/quarantine/{ids[0]}/raw").status_code == 404
        for action in ("retry", "dismiss"):
            response = client.post(
                f"/accounts/quarantine/{ids[0]}/{action}", data={"csrf_token": token}
            )
            assert response.status_code == 404
    with login(server.url, *chef) as client:
        token = client.headers["X-CSRF-Token"]
        page = client.get("/accounts", headers={"accept-language": "fr"})
        listed = page.text.split('data-testid="quarantine"', 1)[1]
        assert listed.index(f'data-id="{ids[1]}"') < listed.index(f'data-id="{ids[0]}"')
        text = html.unescape(listed)
        assert "le mail n'a pas pu être lu (UID IMAP 9) : KeyError: boundary" in text
        assert "21 juillet 2026, 12:00" in text  # 10:00 UTC, in Paris
        raw = client.get(f"/accounts/quarantine/{ids[0]}/raw")
        assert raw.status_code == 200 and raw.content == MAIL
        assert raw.headers["content-type"] == "message/rfc822"
        assert raw.headers["content-disposition"].startswith("attachment;")
        # Without the token: nothing happens.
        client.headers.pop("X-CSRF-Token")
        assert client.post(f"/accounts/quarantine/{ids[0]}/retry").status_code == 403
        # Still unreadable: said, and the item stays.
        failed = client.post(
            f"/accounts/quarantine/{ids[1]}/retry",
            data={"csrf_token": token},
            headers={"accept-language": "en"},
        )
        assert failed.status_code == 422
        assert "Still unreadable" in html.unescape(failed.text)
        assert f'data-id="{ids[1]}"' in failed.text
        went_in = client.post(f"/accounts/quarantine/{ids[0]}/retry", data={"csrf_token": token})
        assert went_in.status_code == 303
        dismissed = client.post(
            f"/accounts/quarantine/{ids[1]}/dismiss", data={"csrf_token": token}
        )
        assert dismissed.status_code == 303
        page = client.get("/accounts")
        assert 'data-testid="quarantine-item"' not in page.text
        assert 'data-testid="quarantine-empty"' in page.text
    with contextlib.closing(database(server)) as db:
        texts = [row[0] for row in db.execute("select text from message")]
        resolved = [row[0] for row in db.execute("select resolved_at from quarantine")]
    assert any("Le phare est-il ouvert dimanche" in text for text in texts)
    assert all(resolved)


def test_a_reply_that_went_out_on_a_retry_is_not_counted_failed(make_server: object) -> None:
    import asyncio

    server = make_server()  # type: ignore[operator]
    status = {
        "state": "polling",
        "detail": "",
        "notes": [
            {"code": "x.rate_limited", "params": {"until": "19:40 UTC"}, "scope": "mentions"},
        ],
        "last_message_at": "2026-07-21T17:14:00+00:00",
        "last_error_at": None,
        # The connector counts attempts: one failed, then the same reply went out.
        "counters": {"received": 12345, "send_failures": 1, "sent": 1},
    }
    with contextlib.closing(database(server)) as db, db:
        db.execute("update account set active = true where key = 'x-port-argent'")
    put_after_supervision(server.settings.redis_url, 1, "x-port-argent", status)

    async def one_failed_reply() -> None:
        """A visitor's chat, answered once: the reply failed for good (its final state)."""
        from app.inbox import Inbox
        from app.services import Services
        from connectors.base import Author, Channel, InboundMessage

        services = Services.create(server.settings)
        try:
            await Inbox(services).ingest(
                InboundMessage(
                    channel=Channel.WEBCHAT,
                    account="chat-port-argent",
                    external_id="c1",
                    thread_key="visitor-1",
                    author=Author(external_id="visitor-1"),
                    text="Bonjour",
                    received_at=services.clock.now(),
                )
            )
        finally:
            await services.close()

    asyncio.run(one_failed_reply())
    with contextlib.closing(database(server)) as db, db:
        columns = [c.name for c in Message.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
        copied = ", ".join(
            {"direction": "'OUT'", "delivery_status": "'FAILED'", "external_id": "'r1'"}.get(c, c)
            for c in columns
        )
        db.execute(f"insert into message ({', '.join(columns)}) select {copied} from message")  # noqa: S608
    manager = next(x for x in server.logins.values() if x.email.startswith("manager@"))
    with login(server.url, manager.email, manager.password) as http:
        english = http.get("/accounts", headers={"accept-language": "en"}).text
        french = http.get("/accounts", headers={"accept-language": "fr"}).text
    row = html.unescape(english.split('data-key="x-port-argent"', 1)[1].split("</tr>", 1)[0])
    assert "received: 12,345" in row.replace("<b>", "").replace("</b>", "")
    assert "replies failed: 0" in row.replace("<b>", "").replace("</b>", "")
    assert "send failures" not in row
    # Times in the destination's time zone (Paris, UTC+2 in July), in the reader's language.
    assert "rate-limited until 21:40" in row and "19:40" not in row
    assert "21 July 2026, 19:14" in row
    row = html.unescape(french.split('data-key="x-port-argent"', 1)[1].split("</tr>", 1)[0])
    flat = row.replace("<b>", "").replace("</b>", "")
    assert "reçus\u00a0: 12\u202f345" in flat and "réponses en échec\u00a0: 0" in flat
    assert "21 juillet 2026, 19:14" in row
    chat = html.unescape(english.split('data-key="chat-port-argent"', 1)[1].split("</tr>", 1)[0])
    assert "replies failed: 1" in chat.replace("<b>", "").replace("</b>", "")


def _codes() -> dict[str, set[str]]:
    """Every coded status, refusal and quarantine reason the connectors can give, by catalog
    prefix, read from their source (so a new code without a translation fails here)."""
    import ast
    import re

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"(email|x|account)\.[a-z_]+")
    found: dict[str, set[str]] = {"connector": set(), "quarantine": set(), "delivery": set()}
    sources = [*root.joinpath("connectors").rglob("*.py"), root / "app" / "connector_registry.py"]
    for source in sources:
        tree = ast.parse(source.read_text("utf-8"))
        owner: dict[int, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                for child in ast.walk(node):  # breadth first: the innermost call wins
                    owner[id(child)] = name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and pattern.fullmatch(node.value)
            ):
                called = owner.get(id(node), "")
                kind = {"QuarantineReason": "quarantine", "failed": "delivery"}.get(
                    called, "connector"
                )
                found[kind].add(node.value)
    return found


def test_every_code_a_connector_gives_is_said_in_french_and_english() -> None:
    from app.i18n import catalog

    codes = _codes()
    assert {"email.idle", "x.rate_limited", "account.secret_missing"} <= codes["connector"]
    assert {"email.unparseable", "email.empty_body"} <= codes["quarantine"]
    for language in ("fr", "en"):
        known = catalog(language)
        for kind in ("connector", "quarantine"):
            missing = sorted(code for code in codes[kind] if f"{kind}.{code}" not in known)
            assert missing == [], (language, kind)


def test_automatic_replies_through_the_api(make_server: object) -> None:
    server = make_server()  # type: ignore[operator]
    manager = next(x for x in server.logins.values() if x.email.startswith("manager@"))
    chef = office_manager(server, "les-salines")
    url = "/api/accounts/x-port-argent/auto-reply"
    with login(server.url, manager.email, manager.password) as client:
        assert client.get(url).json() == {"enabled": True, "public": False, "texts": {}}
        bad = client.put(
            url, json={"texts": {"fr": "Bonjour {prenom}"}}, headers={"accept-language": "fr"}
        )
        assert bad.status_code == 422 and bad.json()["code"] == "auto_reply.unknown_placeholder"
        assert bad.json()["detail"].startswith("Variable inconnue {prenom}")
        assert client.put(url, json={"texts": {"de": "Hallo"}}).status_code == 422
        # On X the text may become a public tweet: shorter than elsewhere.
        long = client.put(url, json={"texts": {"en": "x" * 201}}, headers={"accept-language": "en"})
        assert long.status_code == 422 and "at most 200 characters" in long.json()["detail"]
        chat = "/api/accounts/chat-port-argent/auto-reply"
        assert client.put(chat, json={"texts": {"en": "x" * 500}}).status_code == 200
        assert client.put(chat, json={"texts": {"en": "x" * 501}}).status_code == 422
        assert client.put(url, json={"enabled": "sometimes"}).status_code == 422
        assert stored_policy(server, "x-port-argent") == ""
        good = client.put(url, json={"enabled": False, "texts": {"en": "{office}: {when}"}})
        assert good.status_code == 200
        assert good.json() == {
            "enabled": False,
            "public": False,
            "texts": {"en": "{office}: {when}"},
        }
        token = client.headers.pop("X-CSRF-Token")
        assert client.put(url, json={"enabled": True}).status_code == 403
        client.headers["X-CSRF-Token"] = token
    with login(server.url, *chef) as client:
        assert client.get(url).status_code == 404
        assert client.put(url, json={"enabled": True}).status_code == 404
        assert client.get("/api/accounts/x-les-salines/auto-reply").status_code == 200
    adviser = next(x for x in server.logins.values() if x.email.startswith("camille@"))
    with login(server.url, adviser.email, adviser.password) as client:
        assert client.get(url).status_code == 403
    assert '"enabled":false' in stored_policy(server, "x-port-argent")


def test_every_counter_a_connector_keeps_has_a_label() -> None:
    import re

    from app.i18n import catalog

    root = Path(__file__).resolve().parents[2]
    names = {
        name
        for source in root.joinpath("connectors").rglob("*.py")
        for name in re.findall(r'(?:_count\(|counters\[)"([a-z_]+)"', source.read_text("utf-8"))
    }
    assert {"received", "sent", "requests_today"} <= names
    for language in ("fr", "en"):
        known = catalog(language)
        assert sorted(n for n in names if f"accounts.counter.{n}" not in known) == [], language


def account_row(live: LiveServer, key: str) -> tuple[str, bool]:
    with contextlib.closing(database(live)) as db:
        name, active = db.execute(
            "select name, active from account where key = ?", (key,)
        ).fetchone()
    return str(name), bool(active)


def test_managers_rename_and_disable_accounts_from_the_page(make_server: object) -> None:
    """The accounts page's name-and-activity forms: saved as the CLI would (keys stay), refused
    in the reader's language (empty or too long a name, a mailbox not connected yet), checked for
    CSRF and per office; the state column says disabled."""
    server = make_server()  # type: ignore[operator]
    manager = next(x for x in server.logins.values() if x.email.startswith("manager@"))
    chef = office_manager(server, "saint-clair")
    with login(server.url, manager.email, manager.password) as client:
        token = client.headers["X-CSRF-Token"]
        page = client.get("/accounts", headers={"accept-language": "fr"})
        assert 'data-testid="account-manage" data-key="chat-port-argent"' in page.text
        renamed = client.post(
            "/accounts/chat-port-argent/manage",
            data={"csrf_token": token, "name": "  Chat <b>du port</b>  "},  # active unticked
        )
        assert renamed.status_code == 303
        assert account_row(server, "chat-port-argent") == ("Chat <b>du port</b>", False)
        shown = client.get(renamed.headers["location"], headers={"accept-language": "fr"})
        assert "Chat &lt;b&gt;du port&lt;/b&gt; : enregistré." in shown.text  # escaped
        row = shown.text.split('data-testid="account-row" data-key="chat-port-argent"', 1)[1]
        assert 'data-state="disabled"' in row.split("</tr>", 1)[0]
        again = client.post(
            "/accounts/chat-port-argent/manage",
            data={"csrf_token": token, "name": "Chat du port", "active": "true"},
        )
        assert again.status_code == 303
        assert account_row(server, "chat-port-argent") == ("Chat du port", True)
        for name, language, words in (
            ("   ", "en", "Give a name of 1 to 200 characters."),
            ("x" * 201, "fr", "Donnez un nom de 1 à 200 caractères."),
        ):
            refused = client.post(
                "/accounts/chat-port-argent/manage",
                data={"csrf_token": token, "name": name, "active": "true"},
                headers={"accept-language": language},
            )
            assert refused.status_code == 422 and words in html.unescape(refused.text)
        # A mailbox not connected yet cannot be enabled; the name change is not half-made.
        mailbox = account_row(server, "mail-port-argent")
        refused = client.post(
            "/accounts/mail-port-argent/manage",
            data={"csrf_token": token, "name": "Courrier", "active": "true"},
            headers={"accept-language": "en"},
        )
        assert refused.status_code == 422
        assert "concierge account email mail-port-argent" in html.unescape(refused.text)
        assert account_row(server, "mail-port-argent") == mailbox
        client.headers.pop("X-CSRF-Token")
        forged = client.post("/accounts/chat-port-argent/manage", data={"name": "Pirate"})
        assert forged.status_code == 403
        assert account_row(server, "chat-port-argent") == ("Chat du port", True)
    with login(server.url, *chef) as client:
        token = client.headers["X-CSRF-Token"]
        other = client.post(
            "/accounts/chat-port-argent/manage", data={"csrf_token": token, "name": "Mine"}
        )
        assert other.status_code == 404
        own = client.post(
            "/accounts/chat-saint-clair/manage",
            data={"csrf_token": token, "name": "Chat de Saint-Clair", "active": "true"},
        )
        assert own.status_code == 303
        # Through the API: a field left out stays; the same refusals, as JSON.
        api = "/api/accounts/chat-saint-clair"
        off = client.patch(api, json={"active": False})
        assert off.status_code == 200
        assert off.json() == {
            "key": "chat-saint-clair",
            "name": "Chat de Saint-Clair",
            "channel": "webchat",
            "active": False,
        }
        bad = client.patch(api, json={"name": ""}, headers={"accept-language": "en"})
        assert bad.status_code == 422 and bad.json()["code"] == "accounts.manage.bad_name"
        assert client.patch(api, json={"colour": "red"}).status_code == 422
        assert client.patch("/api/accounts/chat-port-argent", json={}).status_code == 404
    assert account_row(server, "chat-saint-clair") == ("Chat de Saint-Clair", False)
    adviser = next(x for x in server.logins.values() if x.email.startswith("camille@"))
    with login(server.url, adviser.email, adviser.password) as client:
        token = client.headers["X-CSRF-Token"]
        denied = client.post(
            "/accounts/chat-port-argent/manage", data={"csrf_token": token, "name": "Moi"}
        )
        assert denied.status_code == 403
        assert client.patch("/api/accounts/chat-port-argent", json={}).status_code == 403
