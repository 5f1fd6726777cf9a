"""A serving worker's SQLite WAL is checkpointed by a thread of its own, never inside one of the
commits that fill it (app/sqlite_checkpoint.py); other processes keep SQLite's own checkpoints."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db import Database, create_tables
from app.sqlite_checkpoint import Checkpointer

pytestmark = pytest.mark.sqlite_only("checkpoints a SQLite file and reads its size")

PAGES = 1500  # past SQLite's own threshold (1,000 pages), which would checkpoint in a commit


async def _autocheckpoint(db: Database) -> int:
    async with db.engine.connect() as connection:
        return int((await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one())


async def _write_pages(db: Database, pages: int) -> None:
    """About ``pages`` pages of rows, in ten commits."""
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS filler (body TEXT)"))
    for _ in range(10):
        async with db.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO filler (body) VALUES (:body)"),
                [{"body": "x" * 3000} for _ in range(pages // 10)],
            )


async def test_commits_leave_the_checkpoints_to_the_worker_s_thread(tmp_path: Path) -> None:
    path = tmp_path / "apart.db"
    db = Database(f"sqlite+aiosqlite:///{path}", checkpoints_apart=True)
    assert db.checkpointer is not None
    try:
        await create_tables(db.engine)
        assert await _autocheckpoint(db) == 0
        await asyncio.to_thread(db.checkpointer.stop)  # nobody checkpoints now
        # The tables' pages may still be in the WAL: only what follows is measured.
        size = path.stat().st_size
        await _write_pages(db, PAGES)
        assert path.stat().st_size == size, "a commit checkpointed"
        assert (tmp_path / "apart.db-wal").stat().st_size > PAGES * 4096 * 0.9

        checkpointer = Checkpointer(str(path), every=0.05)
        try:
            for _ in range(100):  # within a few of its turns
                if path.stat().st_size > size + PAGES * 4096 * 0.9:
                    break
                await asyncio.sleep(0.05)
            assert path.stat().st_size > size + PAGES * 4096 * 0.9
            assert checkpointer.checkpoints >= 1
            async with db.engine.connect() as connection:  # nothing lost on the way
                rows = (await connection.execute(text("SELECT count(*) FROM filler"))).scalar()
            assert rows == PAGES // 10 * 10
        finally:
            await asyncio.to_thread(checkpointer.stop)
        assert not checkpointer.running
    finally:
        await db.dispose()


async def test_dispose_stops_the_thread(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'stopped.db'}", checkpoints_apart=True)
    assert db.checkpointer is not None and db.checkpointer.running
    await create_tables(db.engine)
    await db.dispose()
    assert not db.checkpointer.running


async def test_other_processes_keep_sqlite_s_own_checkpoints(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    try:
        assert db.checkpointer is None
        await create_tables(db.engine)
        assert await _autocheckpoint(db) == 1000  # SQLite's default
    finally:
        await db.dispose()
