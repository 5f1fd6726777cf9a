"""A throw-away PostgreSQL cluster for the tests: Debian's server (``.ci/system-deps.sh``)
started by ``initdb`` and ``pg_ctl`` in a temporary directory on a free port, and one fresh
database per test. Under root the server runs as the ``postgres`` user (it refuses root), so
its directory is outside pytest's private one."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from app.embedded_redis import free_port

# `CONCIERGE_TEST_DB=postgresql` runs the app tests on PostgreSQL instead of SQLite.
ENGINE_VARIABLE = "CONCIERGE_TEST_DB"


def engine_under_test() -> str:
    """The engine the app tests run on: ``sqlite`` (the default) or ``postgresql``."""
    engine = os.environ.get(ENGINE_VARIABLE, "sqlite").strip().lower() or "sqlite"
    if engine not in ("sqlite", "postgresql"):
        raise ValueError(f"{ENGINE_VARIABLE} must be sqlite or postgresql, not {engine!r}")
    return engine


def pg_bin() -> Path:
    """Debian's PostgreSQL tools (only some are on the PATH)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: .ci/system-deps.sh installs it")
    return versions[-1]


class PostgresCluster:
    """One server for the test session; ``new_database()`` gives each test its own database."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="concierge-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._root = os.geteuid() == 0
        self._counter = itertools.count(1)
        self._template = ""

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        prefix = ["runuser", "-u", "postgres", "--"] if self._root else []
        return subprocess.run([*prefix, *args], check=check, capture_output=True)  #

    def start(self) -> None:
        if self._root:
            shutil.chown(self.dir, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N")  # fmt: skip
        # fsync off, no full-page writes, no synchronous commit: a throw-away server, as fast as
        # it goes; enough connections for a test's workers and pools.
        options = (f"-p {self.port} -k {self.dir} -h 127.0.0.1 -F -c full_page_writes=off "
                   "-c synchronous_commit=off -c max_connections=200")  # fmt: skip
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-w", "-o", options, "start")  # fmt: skip
        deadline = time.monotonic() + 30
        while self.psql("SELECT 1", check=False).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start: " + self.log())
            time.sleep(0.2)

    def log(self) -> str:
        try:
            return (self.dir / "log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def psql(self, sql: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return self._run(str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                         "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                         "-c", sql, check=check)  # fmt: skip

    def query(self, url: str, sql: str) -> str:
        """``sql``'s rows in the database of ``url``, as ``psql -At`` prints them."""
        name = url.rsplit("/", 1)[1]
        return self._run(str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                         "-U", "postgres", "-d", name, "-v", "ON_ERROR_STOP=1", "-At",
                         "-c", sql).stdout.decode()  # fmt: skip

    def url(self, name: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def new_database(self, prefix: str = "t", *, empty: bool = False) -> str:
        """A new database; returns its SQLAlchemy URL. It is a copy of a database made once
        with the project's tables (``create_tables``, stamped as migrated: a test's own
        ``create_tables`` finds it done), or with ``empty`` of ``template0``."""
        name = f"{prefix}{next(self._counter)}"
        template = "template0" if empty else self._schema_template()
        self.psql(f"CREATE DATABASE {name} TEMPLATE {template} ENCODING 'UTF8'")
        return self.url(name)

    def _schema_template(self) -> str:
        if not self._template:
            name = "schema_template"
            self.psql(f"DROP DATABASE IF EXISTS {name}")  # a half-made one from a failed try
            self.psql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
            # Its own thread and loop: the caller may be a test already running in one.
            failure: list[BaseException] = []

            def build() -> None:
                try:
                    asyncio.run(_create_tables(self.url(name)))
                except BaseException as exc:  # re-raised in the caller's thread
                    failure.append(exc)

            thread = threading.Thread(target=build, name="schema-template")
            thread.start()
            thread.join()
            if failure:
                raise failure[0]
            self._template = name
        return self._template

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop",
                  check=False)  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)


async def _create_tables(url: str) -> None:
    from app.db import create_tables, make_engine

    engine = make_engine(url)
    try:
        await create_tables(engine)
    finally:
        await engine.dispose()  # nobody may be connected to a database copied as a template
