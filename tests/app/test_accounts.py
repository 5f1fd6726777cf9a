"""Configuring a mailbox account, and the accounts page showing connector status."""

from __future__ import annotations

import contextlib
import html
import sqlite3
from pathlib import Path

from tests.app.test_cli import run_cli
from tests.conftest import LiveServer, login


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
    path = live.settings.sqlalchemy_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "update account set active = 1, settings = ? where key = 'mail-saint-clair'",
            (
                '{"address": "info@saint-clair.example", "imap_host": "127.0.0.1", "imap_user": "info"}',
            ),
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
    adviser = next(x for x in server.logins.values() if x.email.startswith("camille@"))
    with login(server.url, adviser.email, adviser.password) as client:
        assert client.get("/accounts").status_code == 403
