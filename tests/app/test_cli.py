"""The ``concierge`` command, run as a user runs it (subprocesses, real servers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from redis import Redis as SyncRedis

from app import keys
from app.embedded_redis import free_port
from tests.conftest import login
from tests.support.postgres import PostgresCluster

CONCIERGE = [sys.executable, "-c", "from app.cli import main; main()"]


def run_cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CONCIERGE, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("command", [[], ["run"], ["demo"], ["user"], ["user", "add"], ["migrate"]])
def test_every_command_has_help(command: list[str], env: dict[str, str]) -> None:
    result = run_cli(*command, "--help", env=env)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_demo_then_user_add(env: dict[str, str]) -> None:
    result = run_cli("demo", env=env)
    assert result.returncode == 0, result.stderr
    assert "manager@baie-dargent.example" in result.stdout
    again = run_cli("demo", "--days", "3", env=env)
    assert "nothing seeded" in again.stdout
    assert re.search(r"\d+ conversations written", again.stdout)

    # The demo's workspace came with it: labels, keyword rules, answers, a merged profile, and
    # surveys of the history's resolved conversations, some answered.
    database = Path(env["CONCIERGE_VAR_DIR"]) / "concierge.db"
    with sqlite3.connect(database) as db:
        counts = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("label", "rule", "answer", "answer_text", "contact_event", "survey")
        }
        answered = db.execute("SELECT count(*) FROM survey WHERE rating IS NOT NULL").fetchone()
    assert all(counts.values()), counts
    assert 0 < answered[0] < counts["survey"]
    assert counts["answer_text"] > counts["answer"]  # several languages per answer

    added = run_cli(
        "user", "add", "Zoe@Port-Argent.example", "--name", "Zoé", "--office", "port-argent",
        "--password", "a-long-password", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added adviser zoe@port-argent.example" in added.stdout

    duplicate = run_cli(
        "user", "add", "zoe@port-argent.example", "--name", "Zoé", "--office", "port-argent",
        "--password", "a-long-password", env=env,
    )  # fmt: skip
    assert duplicate.returncode != 0 and "exists" in duplicate.stderr
    unknown_office = run_cli(
        "user", "add", "x@y.example", "--name", "X", "--office", "atlantis",
        "--password", "a-long-password", env=env,
    )  # fmt: skip
    assert unknown_office.returncode != 0 and "atlantis" in unknown_office.stderr
    short = run_cli(
        "user", "add", "x@y.example", "--name", "X", "--office", "port-argent",
        "--password", "short", env=env,
    )  # fmt: skip
    assert short.returncode != 0 and "10 characters" in short.stderr


class Running:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*CONCIERGE, "run", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output = ""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"concierge run did not start:\n{self.output}")

    def stop(self) -> str:
        os.killpg(self.proc.pid, signal.SIGINT)
        self.output, _ = self.proc.communicate(timeout=60)
        return self.output


@pytest.fixture
def running(env: dict[str, str]) -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        if r.proc.poll() is None:
            r.stop()


def test_run_embeds_redis_seeds_demo_and_keeps_data_across_restarts(
    env: dict[str, str], running: list[Running], tmp_path: Path
) -> None:
    first = Running(env, "--workers", "2")
    running.append(first)
    first.wait_ready()
    logins = (tmp_path / "var" / "demo-logins.txt").read_text().split("\n")
    email, password = logins[0].split()[:2]
    with login(first.url, email, password) as client:
        assert client.get("/api/me").json()["email"] == email
    output = first.stop()
    assert first.proc.returncode == 0, output
    assert "embedded redis listening" in output
    assert output.count("Started server process") == 2  # two workers
    assert "Demo visitor page:" in output and email in output
    assert "embedded Redis stopped" in output
    assert (tmp_path / "var" / "redis" / "appendonlydir").is_dir()
    assert (tmp_path / "var" / "concierge.db").is_file()
    redis_port = int(re.findall(r"embedded redis listening on 127.0.0.1:(\d+)", output)[0])
    with pytest.raises(OSError):  # Ctrl-C stopped the embedded server too
        socket.create_connection(("127.0.0.1", redis_port), timeout=1).close()

    second = Running(env)
    running.append(second)
    second.wait_ready()
    with login(second.url, email, password) as client:  # same users: data was kept
        assert client.get("/api/me").status_code == 200
    output = second.stop()
    assert password not in output  # passwords are printed once, at creation (item 11)
    assert "demo-logins.txt" in output  # …and later starts say where they are kept


def test_rota_import_export_check(env: dict[str, str], tmp_path: Path) -> None:
    assert run_cli("demo", env=env).returncode == 0
    exported = run_cli("rota", "export", env=env)
    assert exported.returncode == 0 and 'id = "port-argent"' in exported.stdout
    ok = run_cli("rota", "check", "--start", "2026-08-01T00:00:00+02:00", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "no gap and no conflict" in ok.stdout

    # Les Salines is closed in January, yet an override puts it on duty: a conflict; and a
    # "closed" override leaves a gap. check names both and fails.
    edited = exported.stdout + (
        "\n[[overrides]]\nstart = 2026-01-20T17:00:00+01:00\nend = 2026-01-20T19:00:00+01:00\n"
        'office = "les-salines"\n'
        "\n[[overrides]]\nstart = 2026-01-21T17:00:00+01:00\nend = 2026-01-21T18:00:00+01:00\n"
    )
    path = tmp_path / "rota.toml"
    path.write_text(edited)
    assert run_cli("rota", "import", str(path), env=env).returncode == 0
    bad = run_cli("rota", "check", "--start", "2026-01-19T00:00:00+01:00", "--days", "7", env=env)
    assert bad.returncode == 1
    assert "conflict" in bad.stdout and "les-salines is on duty but closed" in bad.stdout
    assert "gap" in bad.stdout and "2026-01-21 16:00Z → 17:00Z" in bad.stdout

    # A refused import names the field and the reason, and changes nothing.
    before = run_cli("rota", "export", env=env).stdout
    path.write_text(before.replace('"17:00-22:00"', '"22:00-09:00"', 1))
    refused = run_cli("rota", "import", str(path), env=env)
    assert refused.returncode == 1
    assert "overnight window must be explicit" in refused.stderr and "duty.week" in refused.stderr
    path.write_text(before.replace('"saint-clair"', '"atlantis"'))
    refused = run_cli("rota", "import", str(path), env=env)
    assert refused.returncode == 1 and "no office 'atlantis' in this destination" in refused.stderr
    assert run_cli("rota", "export", env=env).stdout == before
    missing = run_cli("rota", "import", str(tmp_path / "nope.toml"), env=env)
    assert missing.returncode != 0


def test_rota_plan_and_account_target(env: dict[str, str]) -> None:
    assert run_cli("demo", env=env).returncode == 0
    shown = run_cli("rota", "plan", "--from", "2026-07-01", "--to", "2026-08-31", env=env)
    assert shown.returncode == 0, shown.stderr
    rows = {
        line.split()[0]: [int(n) for n in line.split()[1:]]
        for line in shown.stdout.splitlines()[1:4]
    }
    # Port-Argent has weight 2: twice the slots of each other office, class by class (±1).
    for column in range(2):
        others = [rows["saint-clair"][column], rows["les-salines"][column]]
        assert max(others) - min(others) <= 1
        assert abs(rows["port-argent"][column] - 2 * others[0]) <= 2
    before = run_cli("rota", "export", env=env).stdout
    assert "not stored" in shown.stdout and "planned" not in before
    applied = run_cli(
        "rota", "plan", "--from", "2026-07-01", "--to", "2026-07-07", "--apply", env=env
    )
    assert (
        applied.returncode == 0 and 'note = "planned"' in run_cli("rota", "export", env=env).stdout
    )
    inverted = run_cli("rota", "plan", "--from", "2026-07-07", "--to", "2026-07-01", env=env)
    assert inverted.returncode != 0 and "ends before it starts" in inverted.stderr
    assert run_cli("account", "target", "chat-port-argent", "180", env=env).returncode == 0
    assert run_cli("account", "target", "nope", "180", env=env).returncode != 0


def test_stopping_with_many_chats_under_way_takes_seconds(
    env: dict[str, str], running: list[Running]
) -> None:
    """Ctrl-C right after 150 visitors chatted with six advisers online (each chat assigned as it
    arrives, every visitor socket watching its place in the queue) ends every socket handler and
    the process within seconds, with no socket error on the way."""
    env = {**env, "CONCIERGE_DEMO_HISTORY_DAYS": "0", "CONCIERGE_VISITOR_IP_RATE": "100000"}
    env["CONCIERGE_CHAT_NEW_IP_BURST"] = "100000"  # 150 new chats from one address at once
    env["CONCIERGE_CONVERSATION_IP_BURST"] = "100000"
    app = Running(env)
    running.append(app)
    app.wait_ready()
    ws_url = app.url.replace("http://", "ws://")

    async def visitor(index: int) -> None:
        office = ("port-argent", "saint-clair", "les-salines")[index % 3]
        url = f"{ws_url}/ws/visitor?account=chat-{office}"
        async with websockets.connect(url, origin=app.url) as ws:
            json.loads(await ws.recv())
            for turn in range(3):
                text = f"visitor {index}, question {turn}"
                await ws.send(
                    json.dumps({"type": "message", "client_id": f"c{turn}", "text": text})
                )
                await asyncio.sleep(0.05)
        # Closing at once, while the other visitors' messages still change conversations.

    logins = [
        line.split()[:2]
        for line in (Path(env["CONCIERGE_VAR_DIR"]) / "demo-logins.txt").read_text().splitlines()
        if "adviser" in line
    ]
    cookies = []
    for email, password in logins:
        with login(app.url, email, password) as client:
            cookies.append(client.cookies["concierge_session"])

    async def crowd() -> None:
        # Advisers online: every new chat is assigned at once, so conversations change while
        # their visitors' sockets close.
        advisers = [
            await websockets.connect(
                f"{ws_url}/ws/adviser",
                origin=app.url,
                additional_headers={"cookie": f"concierge_session={cookie}"},
            )
            for cookie in cookies
        ]
        await asyncio.gather(*(visitor(i) for i in range(150)))
        for adviser in advisers:
            await adviser.close()

    asyncio.run(crowd())
    started = time.monotonic()
    output = app.stop()
    assert app.proc.returncode == 0, output
    assert time.monotonic() - started < 20, output[-3000:]
    assert "Exception in ASGI application" not in output


def test_migrate_is_db_upgrade_by_its_short_name(env: dict[str, str], tmp_path: Path) -> None:
    from app import migrations

    head = migrations.head()
    helped = run_cli("--help", env=env)
    assert "migrate" in helped.stdout
    first = run_cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"upgraded to {head} (head)\n"
    with sqlite3.connect(tmp_path / "var" / "concierge.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
    # The same words as `concierge db upgrade`, which it is.
    assert run_cli("migrate", env=env).stdout == run_cli("db", "upgrade", env=env).stdout
    assert run_cli("db", "upgrade", env=env).stdout == f"already at {head} (head): nothing to do\n"


def test_three_migrates_at_once_on_an_empty_database_migrate_it_once(
    env: dict[str, str], tmp_path: Path
) -> None:
    # Three instances started together (a rollout, three containers): one builds the schema
    # under the database's lock, the others wait for its commit and find nothing to do.
    from app import migrations

    head = migrations.head()
    started = [
        subprocess.Popen(
            [*CONCIERGE, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]  # fmt: skip
    results = [(p.wait(timeout=120), *p.communicate()) for p in started]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    outputs = sorted(out for _, out, _ in results)
    assert outputs == [
        f"already at {head} (head): nothing to do\n",
        f"already at {head} (head): nothing to do\n",
        f"upgraded to {head} (head)\n",
    ], results
    assert all("Traceback" not in err for _, _, err in results)
    with sqlite3.connect(tmp_path / "var" / "concierge.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_three_migrates_at_once_on_an_empty_postgresql_migrate_it_once(
    env: dict[str, str], postgres_cluster: PostgresCluster
) -> None:
    # The same rollout on PostgreSQL: without the advisory lock two of the three would fail on
    # CREATE TYPE (the enum types are made before the tables that use them).
    from app import migrations

    url = postgres_cluster.new_database("migrate", empty=True)
    env = {**env, "DATABASE_URL": url}
    try:
        started = [
            subprocess.Popen(
                [*CONCIERGE, "migrate"], env=env, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
            )
            for _ in range(3)
        ]  # fmt: skip
        results = [(p.wait(timeout=120), *p.communicate()) for p in started]
        assert [code for code, _, _ in results] == [0, 0, 0], results
        head = migrations.head()
        assert sorted(out for _, out, _ in results) == [
            f"already at {head} (head): nothing to do\n",
            f"already at {head} (head): nothing to do\n",
            f"upgraded to {head} (head)\n",
        ], results
        assert all("Traceback" not in err for _, _, err in results)
        assert f"current: {head}\n" in run_cli("db", "current", env=env).stdout
        assert postgres_cluster.query(url, "SELECT version_num FROM alembic_version") == f"{head}\n"
        assert (
            postgres_cluster.query(url, "SELECT count(*) FROM pg_type WHERE typname = 'role'")
            == "1\n"
        )
    finally:
        postgres_cluster.drop_database(url)


def test_destination_office_account_and_user_add(env: dict[str, str]) -> None:
    for command in (["destination"], ["destination", "add"], ["office", "add"], ["account", "add"]):
        assert run_cli(*command, "--help", env=env).returncode == 0, command
    assert "no destination yet" in run_cli("destination", "list", env=env).stdout
    assert run_cli("demo", env=env).returncode == 0

    def refused(*args: str, says: str) -> None:
        result = run_cli(*args, env=env)
        assert result.returncode != 0, (args, result.stdout)
        text = " ".join(re.sub("[│╭╮╰╯─]", " ", result.stderr).split())  # rich's error box
        assert says in text, (args, result.stderr)

    refused("destination", "add", "Côte_Sauvage", "--name", "C", says="lower-case letters")
    refused("destination", "add", "cote", "--name", "C", "--timezone", "Mars/Olympus",
            says="'Mars/Olympus' is not an IANA time zone")  # fmt: skip
    refused("destination", "add", "baie-dargent", "--name", "C", says="'baie-dargent' exists")
    added = run_cli("destination", "add", "cote", "--name", "Côte Sauvage",
                    "--timezone", "America/Martinique", env=env)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "concierge office add SLUG --destination cote" in added.stdout

    refused("office", "add", "o", "--destination", "atlantis", "--name", "O",
            says="no destination 'atlantis'")  # fmt: skip
    office = run_cli("office", "add", "port-argent", "--destination", "cote",
                     "--name", "Maison du Tourisme", env=env)  # fmt: skip
    assert office.returncode == 0, office.stderr
    refused("office", "add", "port-argent", "--destination", "cote", "--name", "O",
            says="'cote' has an office 'port-argent' already")  # fmt: skip

    account = ("--destination", "cote", "--office", "port-argent")
    chat = run_cli("account", "add", "chat-cote", *account, "--channel", "webchat",
                   "--name", "Chat Côte", env=env)  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    assert 'data-account="chat-cote"' in chat.stdout
    refused("account", "add", "chat-cote", *account, "--channel", "webchat", "--name", "C",
            says="an account 'chat-cote' exists")  # fmt: skip
    refused("account", "add", "fax-cote", *account, "--channel", "fax", "--name", "C",
            says="one of webchat, email, twitter")  # fmt: skip
    mail = run_cli("account", "add", "mail-cote", *account, "--channel", "email",
                   "--name", "E-mail Côte", env=env)  # fmt: skip
    assert "concierge account email mail-cote" in mail.stdout
    configured = run_cli("account", "email", "mail-cote", "--address", "info@cote.example",
                         "--imap-host", "imap.cote.example", "--imap-user", "info", env=env)  # fmt: skip
    assert configured.returncode == 0, configured.stderr

    user = ("--password", "a-long-password")
    refused("user", "add", "a@cote.example", "--name", "A", "--office", "port-argent", *user,
            says="several destinations have an office 'port-argent': give --destination")  # fmt: skip
    refused("user", "add", "m@cote.example", "--name", "M", "--role", "destination_manager",
            *user, says="several destinations: give --destination")  # fmt: skip
    for args in (
        ("a@cote.example", "--name", "A", "--office", "port-argent", "--destination", "cote"),
        ("m@cote.example", "--name", "M", "--role", "destination_manager", "--destination", "cote"),
        ("b@port-argent.example", "--name", "B", "--office", "saint-clair"),  # only in the demo
    ):
        result = run_cli("user", "add", *args, *user, env=env)
        assert result.returncode == 0, (args, result.stderr)

    listed = run_cli("destination", "list", env=env).stdout.splitlines()
    assert listed[1].split()[:5] == ["baie-dargent", "Europe/Paris", "3", "8", "8"], listed
    assert listed[2].split()[:5] == ["cote", "America/Martinique", "1", "2", "2"], listed


def test_the_cli_drops_a_removed_accounts_cursors_from_the_redis_it_is_given(
    env: dict[str, str], redis_url: str
) -> None:
    """With ``REDIS_URL``, removing an account also drops its connector's cursors and status
    (an account added later under the key starts afresh); others' stay."""
    env = {**env, "REDIS_URL": redis_url}
    assert run_cli("demo", "--days", "1", env=env).returncode == 0
    for args in (
        ["account", "add", "chat-essai", "--destination", "baie-dargent", "--office",
         "port-argent", "--channel", "webchat", "--name", "Essai"],
        ["account", "disable", "chat-essai"],
    ):  # fmt: skip
        assert run_cli(*args, env=env).returncode == 0, args
    mine = (keys.cursor(1, "chat-essai"), keys.connector_status(1, "chat-essai"))
    other = keys.cursor(1, "mail-port-argent")
    with contextlib.closing(SyncRedis.from_url(redis_url)) as redis:
        redis.hset(mine[0], "INBOX", "1700000000:42")
        redis.set(mine[1], '{"state": "error"}')
        redis.hset(other, "INBOX", "1700000001:7")
        removed = run_cli("account", "remove", "chat-essai", env=env)
        assert removed.returncode == 0, removed.stderr
        assert redis.exists(*mine) == 0
        assert redis.hget(other, "INBOX") == b"1700000001:7"


def test_renaming_and_disabling_keep_slugs_keys_and_history(env: dict[str, str]) -> None:
    assert run_cli("demo", "--days", "2", env=env).returncode == 0
    for command in (["destination", "rename"], ["office", "rename"], ["account", "rename"],
                    ["account", "disable"], ["account", "enable"], ["account", "remove"],
                    ["office", "remove"]):  # fmt: skip
        assert run_cli(*command, "--help", env=env).returncode == 0, command

    def refused(*args: str, says: str) -> None:
        result = run_cli(*args, env=env)
        assert result.returncode != 0, (args, result.stdout)
        text = " ".join(re.sub("[│╭╮╰╯─]", " ", result.stderr).split())  # rich's error box
        assert says in text, (args, result.stderr)

    def ok(*args: str) -> str:
        result = run_cli(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    database = Path(env["CONCIERGE_VAR_DIR"]) / "concierge.db"

    def row(sql: str, *params: str) -> tuple[object, ...]:
        with contextlib.closing(sqlite3.connect(database)) as db:
            found = db.execute(sql, params).fetchone()
        assert found is not None, (sql, params)
        return tuple(found)

    messages = row("SELECT count(*) FROM message")
    assert "is now named Baie d'Argent & Îles" in ok(
        "destination", "rename", "baie-dargent", "--name", "  Baie d'Argent & Îles  "
    )
    assert row("SELECT slug, name FROM destination") == ("baie-dargent", "Baie d'Argent & Îles")
    refused("destination", "rename", "atlantis", "--name", "A", says="no destination 'atlantis'")
    refused("destination", "rename", "", "--name", "A", says="give the destination's slug")
    refused("destination", "rename", "baie-dargent", "--name", "   ", says="give a name")
    refused("destination", "rename", "baie-dargent", "--name", "x" * 201,
            says="at most 200 characters")  # fmt: skip

    ok("office", "rename", "port-argent", "--name", "Office de Port-Argent (centre)")
    assert row("SELECT name FROM office WHERE slug = 'port-argent'") == (
        "Office de Port-Argent (centre)",
    )
    refused("office", "rename", "atlantis", "--name", "A", says="no office 'atlantis'")

    ok("account", "rename", "chat-port-argent", "--name", "Chat du port")
    assert row("SELECT name, active FROM account WHERE key = 'chat-port-argent'") == (
        "Chat du port",
        1,
    )
    refused("account", "rename", "chat-atlantis", "--name", "C", says="no account 'chat-atlantis'")

    assert "webchat account chat-port-argent disabled" in ok(
        "account", "disable", "chat-port-argent"
    )
    assert row("SELECT active FROM account WHERE key = 'chat-port-argent'") == (0,)
    ok("account", "enable", "chat-port-argent")
    assert row("SELECT active FROM account WHERE key = 'chat-port-argent'") == (1,)
    # The demo's X account was never connected: it cannot be enabled before it is.
    unconnected = row("SELECT key FROM account WHERE channel = 'twitter' AND settings = ''")
    refused("account", "enable", str(unconnected[0]),
            says=f"{unconnected[0]!r} is not connected yet: concierge account x")  # fmt: skip
    refused("account", "disable", "chat-atlantis", says="no account 'chat-atlantis'")
    # Nothing stored went with the names or the switch.
    assert row("SELECT count(*) FROM message") == messages

    # What was added by mistake goes; what has served visitors stays (app.removal).
    refused("account", "remove", "chat-port-argent", says="is enabled: disable it first")
    ok("account", "disable", "chat-port-argent")
    refused("account", "remove", "chat-port-argent", says="has served visitors (conversation:")
    ok("account", "add", "chat-typo", "--destination", "baie-dargent", "--office", "port-argent",
       "--channel", "webchat", "--name", "Typo")  # fmt: skip
    ok("account", "disable", "chat-typo")
    assert "removed webchat account chat-typo (Typo)" in ok("account", "remove", "chat-typo")
    ok("office", "add", "typo", "--destination", "baie-dargent", "--name", "Typo")
    assert "removed office typo (Typo)" in ok("office", "remove", "typo")
    refused("office", "remove", "port-argent", says="is in use (")
    assert row("SELECT count(*) FROM account WHERE key IN ('chat-typo', 'chat-port-argent')") == (
        1,
    )
    assert row("SELECT count(*) FROM message") == messages


async def test_a_destination_added_to_a_running_concierge_answers_its_visitors(
    env: dict[str, str], running: list[Running]
) -> None:
    from tests.app.test_ws import recv_until, send_message

    server = Running(env, "--workers", "2")
    running.append(server)
    server.wait_ready()
    where = ("--destination", "cote")
    for args in (
        ("destination", "add", "cote", "--name", "Côte Sauvage"),
        ("office", "add", "le-port", *where, "--name", "Office du Port"),
        ("account", "add", "chat-le-port", *where, "--office", "le-port",
         "--channel", "webchat", "--name", "Chat Le Port"),
        ("user", "add", "paul@le-port.example", "--name", "Paul", "--office", "le-port",
         *where, "--password", "a-long-password"),
    ):  # fmt: skip
        result = await asyncio.to_thread(run_cli, *args, env=env)
        assert result.returncode == 0, (args, result.stderr)
    ws_url = server.url.replace("http://", "ws://")
    with login(server.url, "paul@le-port.example", "a-long-password") as client:
        cookie = f"concierge_session={client.cookies['concierge_session']}"
        async with websockets.connect(
            f"{ws_url}/ws/adviser", additional_headers={"cookie": cookie}
        ) as adviser:
            await recv_until(adviser, "hello")
            async with websockets.connect(f"{ws_url}/ws/visitor?account=chat-le-port") as visitor:
                hello = await recv_until(visitor, "hello")
                assert hello["office"] == "Office du Port"
                await send_message(visitor, "Un ferry ce soir ?")
                created = await recv_until(adviser, "message.created")
                reply = await asyncio.to_thread(
                    client.post,
                    f"/api/conversations/{created['conversation_id']}/messages",
                    json={"text": "Oui, à 19 h 30."},
                )
                assert reply.status_code == 201, reply.text
                status = await recv_until(adviser, "message.status", timeout=15)
                assert status["status"] == "sent"
                while (await recv_until(visitor, "message"))["message"]["author"] != "adviser":
                    pass
