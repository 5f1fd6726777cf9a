"""Schema migrations: models and migrations in step, old databases upgraded with their rows."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, text
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import migrations
from app.db import create_tables, make_engine, migrate
from app.demo import seed
from app.models import Activity, Destination, Message, Office
from app.search import owned_table
from app.settings import Settings

T0 = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)
HEAD = migrations.head()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'concierge.db'}")
    yield engine
    await engine.dispose()


async def inspect_with(engine: AsyncEngine, fn: Any, *args: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.run_sync(fn, *args)


def differences(connection: Connection) -> list[Any]:
    """What autogenerate would write: the models' schema against the database's."""
    # The full-text index (app.search) is no model: made and filled by its own migration.
    skip_index = {"include_name": lambda name, kind, _p: kind != "table" or not owned_table(name)}
    context = MigrationContext.configure(connection, opts={"compare_type": True, **skip_index})
    return list(compare_metadata(context, SQLModel.metadata))


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def row_counts(connection: Connection) -> dict[str, int]:
    return {
        table.name: connection.execute(sa_select(func.count()).select_from(table)).scalar_one()
        for table in SQLModel.metadata.sorted_tables
        if table.name in tables(connection)
    }


# Columns the models gained through a later migration: the models of the time had none of them.
ADDED_LATER = {
    "message": ("delivery_code", "delivery_params", "sent_at", "details"),  # 0003, 0006
    "conversation": (  # 0004, 0007, 0010, 0011
        "spam",
        "visitor_ip",
        "priority",
        "reply_email",
        "forget_after_resolved",
        "forget_at",
        "routed_office_id",
    ),
    "destination": ("privacy",),
    "contact": ("profile", "email", "merged_into_id"),
    "attachment": ("url", "thumbnail"),
    "account": ("auto_reply", "widget"),
    "quarantine": ("code", "params", "resolved_at"),
}
TABLES_ADDED_LATER = {  # 0004, 0005, 0007, 0010
    "widget_logo",
    "survey",
    "audit_entry",
    "block",
    "relay",
    "contact_event",
    "answer",
    "answer_text",
    "label",
    "rule",
    "conversation_label",
}
OF_0003 = ("delivery_code", "delivery_params")
INDEXES_ADDED_LATER = ("ux_message_reply_client", "ux_message_note_client")  # 0013, 0014


def after_0003(difference: tuple[Any, ...]) -> bool:
    """A difference left by downgrading past a revision newer than 0003 (the tests of 0002 and
    0003 assert their own differences only)."""
    kind, target = difference[0], difference[-1]
    if kind == "add_index" and target.name in INDEXES_ADDED_LATER:
        return True
    if kind == "add_index" and target.table.name not in TABLES_ADDED_LATER:
        later = ADDED_LATER.get(target.table.name, ())
        return any(c.name in later and c.name not in OF_0003 for c in target.columns)
    if kind == "add_column":
        table = difference[2]
        return target.name in ADDED_LATER.get(table, ()) and target.name not in OF_0003
    return getattr(target, "table", target).name in TABLES_ADDED_LATER


async def create_all_as_before_migrations(
    engine: AsyncEngine, *, activity: bool, rows_first: bool = False
) -> None:
    """What start-up made before migrations: ``create_all`` of the models of the time."""
    made = [
        t
        for t in SQLModel.metadata.sorted_tables
        if (activity or t.name != "activity") and t.name not in TABLES_ADDED_LATER
    ]
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=made))
        for index in INDEXES_ADDED_LATER:
            await conn.exec_driver_sql(f"DROP INDEX {index}")
    await drop_later_columns(engine, early=True)
    if not rows_first:  # else the caller drops them once its rows are in
        await drop_later_columns(engine)


RAW_ROWS = ("message", "conversation")  # tables the tests write by raw SQL, as of any revision


async def drop_later_columns(engine: AsyncEngine, *, early: bool = False) -> None:
    """The columns later migrations added: those of the tables written by raw SQL at once
    (``early``), the others once the rows are in (today's models write them), taking the
    schema back to its old shape."""
    async with engine.begin() as conn:
        for table, columns in ADDED_LATER.items():
            if (table in RAW_ROWS) != early:
                continue
            for column in columns:
                # An indexed column goes with its index (SQLite refuses to drop it otherwise).
                await conn.exec_driver_sql(f"DROP INDEX IF EXISTS ix_{table}_{column}")
                await conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")


async def add_a_conversation(engine: AsyncEngine, *, demo: bool = False) -> int:
    """The demo's destination (whole, or only what a conversation needs) and one conversation."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        if demo:
            await seed(session)  # hashes its advisers' passwords: seconds, so only where needed
        else:
            # Only the columns every revision has (raw SQL: the model would fill later ones).
            await (await session.connection()).execute(
                text(
                    "INSERT INTO destination (slug, name, timezone, rota_toml)"
                    " VALUES ('baie-dargent', 'Baie d''Argent', 'Europe/Paris', '')"
                )
            )
            session.add(Office(destination_id=1, slug="port-argent", name="Port-Argent"))
            await session.flush()
            await (await session.connection()).execute(
                text(
                    "INSERT INTO account (destination_id, office_id, channel, key, name,"
                    " allowed_origins, settings, active) VALUES (1, 1, 'webchat', 'chat', 'C',"
                    " '', '', 1)"
                )
            )
        office = (await session.exec(select(Office).where(Office.slug == "port-argent"))).one()
        assert office.id is not None
        connection = await session.connection()
        contact = await connection.execute(
            text(
                "INSERT INTO contact (destination_id, channel, external_id, name, handle,"
                " language, created_at) VALUES (1, 'webchat', 'v-1', '', '', '', :at)"
            ),
            {"at": T0.strftime("%Y-%m-%d %H:%M:%S.%f")},
        )
        result = await connection.execute(
            text(
                "INSERT INTO conversation (destination_id, account_id, contact_id, office_id,"
                " channel, thread_key, subject, status, unread, created_at, last_message_at,"
                " preview) VALUES (1, 1, :contact, :office, 'webchat', 'v-1', '', 'OPEN', 0,"
                " :at, :at, '')"
            ),
            {
                "contact": contact.lastrowid,
                "office": office.id,
                "at": T0.strftime("%Y-%m-%d %H:%M:%S.%f"),
            },
        )
        await session.commit()
        assert result.lastrowid is not None
        return int(result.lastrowid)


async def test_an_empty_database_migrated_to_head_matches_the_models(engine: AsyncEngine) -> None:
    assert await migrate(engine) == (None, HEAD)

    assert await inspect_with(engine, migrations.current) == HEAD
    assert await inspect_with(engine, differences) == []
    assert "activity" in await inspect_with(engine, tables)
    async with engine.connect() as conn:  # the pooled connection got its foreign keys back
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    assert await migrate(engine) == (HEAD, HEAD)  # a second start changes nothing


async def test_a_database_made_by_the_old_create_all_is_stamped_then_upgraded_with_its_rows(
    engine: AsyncEngine,
) -> None:
    await create_all_as_before_migrations(engine, activity=False, rows_first=True)
    conversation_id = await add_a_conversation(engine, demo=True)
    await drop_later_columns(engine)
    before = await inspect_with(engine, row_counts)
    assert before["destination"] == 1 and before["user"] > 1 and before["conversation"] == 1
    assert "activity" not in before and "alembic_version" not in await inspect_with(engine, tables)

    assert await migrate(engine) == (None, HEAD)

    after = await inspect_with(engine, row_counts)
    assert after == {**before, "activity": 0, **dict.fromkeys(TABLES_ADDED_LATER, 0)}
    assert await inspect_with(engine, differences) == []
    async with AsyncSession(engine) as session:
        assert (await session.exec(select(Destination.slug))).one() == "baie-dargent"
        session.add(Activity(conversation_id=conversation_id, kind="resolved", at=T0))
        await session.commit()
        assert len((await session.exec(select(Activity))).all()) == 1


async def test_a_database_made_by_create_all_with_activity_is_stamped_at_0002(
    engine: AsyncEngine,
) -> None:
    # Between the Activity model and its migration, start-up made the table with create_all.
    await create_all_as_before_migrations(engine, activity=True, rows_first=True)
    conversation_id = await add_a_conversation(engine)
    async with AsyncSession(engine) as session:
        session.add(Activity(conversation_id=conversation_id, kind="resolved", at=T0))
        await session.commit()
    await drop_later_columns(engine)

    # Stamped 0002 (its activity table is not made again), then upgraded to head.
    assert await migrate(engine) == (None, HEAD)

    counts = await inspect_with(engine, row_counts)
    assert counts["activity"] == 1 and counts["conversation"] == 1
    assert await inspect_with(engine, differences) == []


async def test_downgrade_of_0002_drops_activity_only_and_upgrade_brings_it_back(
    engine: AsyncEngine,
) -> None:
    await migrate(engine)
    conversation_id = await add_a_conversation(engine)
    before = await inspect_with(engine, row_counts)

    async with engine.begin() as conn:
        await conn.run_sync(migrations.downgrade, "0001")

    assert await inspect_with(engine, migrations.current) == "0001"
    after = await inspect_with(engine, row_counts)
    assert "activity" not in after
    assert after == {k: v for k, v in before.items() if k not in {"activity", *TABLES_ADDED_LATER}}
    missing = await inspect_with(engine, differences)
    assert sorted((d[0], d[-1].name) for d in missing if not after_0003(d)) == [
        ("add_column", "delivery_code"),  # 0003's, downgraded on the way
        ("add_column", "delivery_params"),
        ("add_index", "ix_activity_conversation_id"),
        ("add_table", "activity"),
    ]

    assert await migrate(engine) == ("0001", HEAD)
    async with AsyncSession(engine) as session:
        session.add(Activity(conversation_id=conversation_id, kind="reopened", at=T0))
        await session.commit()


async def test_0003_gives_the_replies_already_failed_no_code_and_its_downgrade_keeps_them(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(migrations.upgrade, "0002")
    conversation_id = await add_a_conversation(engine)
    failed = (
        "INSERT INTO message (conversation_id, account_id, direction, author_kind, client_id, kind,"
        " text, split_thread, created_at, delivery_status, delivery_error) VALUES (:c, 1, 'OUT',"
        " 'ADVISER', '', 'normal', 'Bonjour', 0, :at, 'FAILED', 'the SMTP server timed out')"
    )
    async with engine.begin() as conn:
        await conn.execute(text(failed), {"c": conversation_id, "at": T0})

    assert await migrate(engine) == ("0002", HEAD)
    async with AsyncSession(engine) as session:
        message = (await session.exec(select(Message))).one()
        assert (message.delivery_error, message.delivery_code, message.delivery_params) == (
            "the SMTP server timed out",
            "",
            "",
        )
        message.delivery_code = "smtp.timeout"
        message.delivery_params = '{"server": "smtp.example:587"}'
        session.add(message)
        await session.commit()

    async with engine.begin() as conn:
        await conn.run_sync(migrations.downgrade, "0002")
    missing = await inspect_with(engine, differences)
    assert sorted((d[0], d[-1].name) for d in missing if not after_0003(d)) == [
        ("add_column", "delivery_code"),
        ("add_column", "delivery_params"),
    ]
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT text, delivery_error FROM message"))).all()
    assert [tuple(r) for r in rows] == [("Bonjour", "the SMTP server timed out")]


async def test_0011_gives_open_conversations_the_rotas_last_choice(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(migrations.upgrade, "0010")
    transferred = await add_a_conversation(engine)
    insert = (
        "INSERT INTO conversation (destination_id, account_id, contact_id, office_id, channel,"
        " thread_key, subject, status, unread, created_at, last_message_at, preview)"
        " VALUES (1, 1, 1, :office, 'webchat', :key, '', :status, 0, :at, :at, '')"
    )
    decision = (
        "INSERT INTO routingdecision (conversation_id, office_id, reason, detail, at)"
        " VALUES (:c, :office, :reason, '', :at)"
    )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO office (destination_id, slug, name, adviser_cap)"
                " VALUES (1, 'saint-clair', 'Saint-Clair', 3)"
            )
        )
        plain = (
            await conn.execute(
                text(insert), {"office": 1, "key": "v-2", "status": "OPEN", "at": T0}
            )
        ).lastrowid
        closed = (
            await conn.execute(
                text(insert), {"office": 1, "key": "v-3", "status": "RESOLVED", "at": T0}
            )
        ).lastrowid
        for conversation_id, office_id, reason in (
            (transferred, 1, "shared_duty"),
            (transferred, 2, "transfer"),  # a transfer names its target, not the rota's choice
            (transferred, 2, "assigned"),
            (closed, 1, "own_hours"),
        ):
            await conn.execute(
                text(decision),
                {"c": conversation_id, "office": office_id, "reason": reason, "at": T0},
            )
        await conn.execute(
            text("UPDATE conversation SET office_id = 2 WHERE id = :c"), {"c": transferred}
        )

    assert await migrate(engine) == ("0010", HEAD)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT id, office_id, routed_office_id FROM conversation"))
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted(
        [(transferred, 2, 1), (plain, 1, 1), (closed, 1, None)]
    )


async def another_conversation(conn: Any) -> int:
    """A second open chat of the contact ``add_a_conversation`` made (raw SQL: any revision)."""
    return int(
        (
            await conn.execute(
                text(
                    "INSERT INTO conversation (destination_id, account_id, contact_id, office_id,"
                    " channel, thread_key, subject, status, unread, created_at, last_message_at,"
                    " preview) VALUES (1, 1, 1, 1, 'webchat', 'v-2', '', 'OPEN', 0, :at, :at, '')"
                ),
                {"at": T0},
            )
        ).lastrowid
    )


async def test_0012_counts_a_reopened_conversation_once_and_marks_its_days_changed(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(migrations.upgrade, "0011")
    conversation = await add_a_conversation(engine)
    turn = (
        "INSERT INTO responseturn (conversation_id, account_id, channel, office_on_duty_id,"
        " first, started_at, hour_of_week, local_day) VALUES (:c, 1, 'webchat', 1, :first,"
        " :at, 0, :day)"
    )
    async with engine.begin() as conn:
        other = await another_conversation(conn)
        rows = [  # (conversation, first, started, local day)
            (conversation, True, T0, "2026-07-18"),
            (conversation, False, T0.replace(hour=20), "2026-07-18"),
            (conversation, True, T0.replace(day=20), "2026-07-20"),  # after a reopen
            (other, True, T0.replace(day=19), "2026-07-19"),
        ]
        for c, first, at, day in rows:
            await conn.execute(text(turn), {"c": c, "first": first, "at": at, "day": day})
        for day in ("2026-07-18", "2026-07-19", "2026-07-20"):
            await conn.execute(
                text(
                    "INSERT INTO rollupday (destination_id, local_day, changes, built)"
                    " VALUES (1, :day, 4, 4)"
                ),
                {"day": day},
            )

    assert await migrate(engine) == ("0011", HEAD)
    async with engine.connect() as conn:
        turns = (
            await conn.execute(
                text("SELECT conversation_id, local_day, first FROM responseturn ORDER BY id")
            )
        ).all()
        days = dict(
            (await conn.execute(text("SELECT local_day, changes - built FROM rollupday"))).all()
        )
    assert [tuple(t) for t in turns] == [
        (conversation, "2026-07-18", 1),
        (conversation, "2026-07-18", 0),
        (conversation, "2026-07-20", 0),
        (other, "2026-07-19", 1),
    ]
    assert days == {"2026-07-18": 0, "2026-07-19": 0, "2026-07-20": 1}


@pytest.mark.parametrize(
    ("before", "repeated", "other"),
    [("0012", "OUT", "NOTE"), ("0013", "NOTE", "OUT")],
    ids=["0013-replies", "0014-notes"],
)
async def test_0013_and_0014_keep_one_reply_or_note_per_client_id_and_refuse_a_second(
    engine: AsyncEngine, before: str, repeated: str, other: str
) -> None:
    """A reply (0013) or a note (0014) stored twice under one client id before its revision
    keeps every copy (a reply was sent), the later ones without their client id; the same id
    elsewhere (another conversation, a visitor's message, the other kind) is untouched. From
    then on a second one with that id in that conversation is refused by the database."""
    async with engine.begin() as conn:
        await conn.run_sync(migrations.upgrade, before)
    first = await add_a_conversation(engine)
    row = (
        "INSERT INTO message (conversation_id, account_id, direction, author_kind, client_id,"
        " kind, text, split_thread, created_at, delivery_status, delivery_error) VALUES (:c, 1,"
        " :direction, 'ADVISER', :client, 'normal', :text, 0, :at, 'SENT', '')"
    )
    rows = [  # (conversation, direction, client id, text, client id kept)
        (first, repeated, "c-1", "Bonjour", "c-1"),
        (first, repeated, "c-1", "Bonjour", ""),  # stored twice
        (first, repeated, "c-1", "Bonjour", ""),  # three times
        (first, repeated, "c-2", "Au revoir", "c-2"),
        (first, repeated, "", "Sans identifiant", ""),
        (first, repeated, "", "Sans identifiant", ""),
        (first, "IN", "c-1", "Question", "c-1"),
        (first, other, "c-1", "L'autre sorte", "c-1"),
    ]
    async with engine.begin() as conn:
        elsewhere = await another_conversation(conn)
        rows.append((elsewhere, repeated, "c-1", "Ailleurs", "c-1"))
        for c, direction, client, said, _ in rows:
            await conn.execute(
                text(row),
                {"c": c, "direction": direction, "client": client, "text": said, "at": T0},
            )

    assert await migrate(engine) == (before, HEAD)
    async with engine.connect() as conn:
        kept = (
            await conn.execute(
                text("SELECT conversation_id, direction, client_id, text FROM message ORDER BY id")
            )
        ).all()
    assert [tuple(r) for r in kept] == [(c, d, k, said) for c, d, _, said, k in rows]
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                text(row),
                {"c": first, "direction": repeated, "client": "c-2", "text": "Encore", "at": T0},
            )
    async with engine.begin() as conn:  # without an id, as often as wanted
        await conn.execute(
            text(row),
            {"c": first, "direction": repeated, "client": "", "text": "Encore", "at": T0},
        )


async def test_downgrade_to_base_removes_every_table(engine: AsyncEngine) -> None:
    await migrate(engine)
    async with engine.begin() as conn:
        await conn.run_sync(migrations.downgrade, "base")
    assert await inspect_with(engine, tables) == {"alembic_version"}
    assert await inspect_with(engine, migrations.current) is None
    assert await migrate(engine) == (None, HEAD)


async def test_create_tables_stamps_head_so_that_migrate_has_nothing_to_do(
    engine: AsyncEngine,
) -> None:
    await create_tables(engine)
    assert await inspect_with(engine, migrations.current) == HEAD
    assert await migrate(engine) == (HEAD, HEAD)
    assert await inspect_with(engine, differences) == []


async def test_create_tables_on_an_old_database_migrates_it(engine: AsyncEngine) -> None:
    await create_all_as_before_migrations(engine, activity=False)
    await create_tables(engine)
    assert await inspect_with(engine, migrations.current) == HEAD
    assert await inspect_with(engine, differences) == []


async def test_two_processes_starting_at_once_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first, second = make_engine(url), make_engine(url)
    try:
        results = await asyncio.gather(migrate(first), migrate(second))
    finally:
        await first.dispose()
        await second.dispose()
    # One created the schema; the other waited for its commit and found it at head.
    assert sorted(results, key=lambda r: r[0] or "") == [(None, HEAD), (HEAD, HEAD)]


async def test_a_failed_migration_leaves_the_database_as_it_was(engine: AsyncEngine) -> None:
    await create_all_as_before_migrations(engine, activity=False)
    async with engine.begin() as conn:  # a name 0002 needs, taken by hand on this database
        await conn.execute(text("CREATE INDEX ix_activity_conversation_id ON message (text)"))
    before = await inspect_with(engine, tables)

    with pytest.raises(Exception, match="ix_activity_conversation_id"):
        await migrate(engine)

    # Neither the stamp nor the new table stayed: the next attempt starts from the same place.
    assert await inspect_with(engine, tables) == before
    assert await inspect_with(engine, migrations.current) is None
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1


def concierge(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from app.cli import main; main()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_db_commands_upgrade_and_report(env: dict[str, str], tmp_path: Path) -> None:
    helped = concierge("db", "--help", env=env)
    assert helped.returncode == 0, helped.stderr
    assert all(name in helped.stdout for name in ("upgrade", "current", "revision"))

    empty = concierge("db", "current", env=env)
    assert empty.returncode == 1
    assert "none (empty database)" in empty.stdout and f"head:    {HEAD}" in empty.stdout

    upgraded = concierge("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded to {HEAD} (head)" in upgraded.stdout
    assert (tmp_path / "var" / "concierge.db").is_file()

    current = concierge("db", "current", env=env)
    assert current.returncode == 0 and f"current: {HEAD}" in current.stdout
    assert "up to date" in current.stdout


def test_db_current_names_a_database_made_before_migrations(
    env: dict[str, str], tmp_path: Path
) -> None:
    async def make_old() -> None:
        settings = Settings(var_dir=tmp_path / "var")
        engine = make_engine(settings.sqlalchemy_url)
        await create_all_as_before_migrations(engine, activity=False)
        await engine.dispose()

    asyncio.run(make_old())
    old = concierge("db", "current", env=env)
    assert old.returncode == 1
    assert "made before migrations; its tables are 0001" in old.stdout
    upgraded = concierge("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded to {HEAD} (head)" in upgraded.stdout


async def test_a_migration_is_not_committed_over_rows_with_dangling_foreign_keys(
    engine: AsyncEngine,
) -> None:
    # SQLite checks foreign keys only when told to: the migration turns them off to recreate
    # tables, so it checks every row before committing.
    await create_all_as_before_migrations(engine, activity=False)
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.execute(
            text(
                "INSERT INTO office (destination_id, slug, name, adviser_cap) VALUES (9, 'x', 'X', 4)"
            )
        )
        await conn.commit()
        await conn.exec_driver_sql("PRAGMA foreign_keys=ON")

    with pytest.raises(RuntimeError, match="dangling foreign keys"):
        await migrate(engine)

    assert await inspect_with(engine, migrations.current) is None
    assert "activity" not in await inspect_with(engine, tables)
