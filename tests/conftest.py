"""Shared fixtures: a real Redis server, a real SQLite database, a real HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from redis import Redis as SyncRedis

from app.demo import seed
from app.embedded_redis import EmbeddedRedis, free_port
from app.main import create_app
from app.settings import Settings
from tests.support.postgres import PostgresCluster, engine_under_test

T = TypeVar("T")

SHARED = Path(__file__).resolve().parents[2] / "shared"
OFFICE_HOURS = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One real Redis/Valkey server for the session, started by the app's own launcher."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    client = SyncRedis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With CONCIERGE_TEST_DB=postgresql, the pass runs the tests of the database under test
    (those using ``database_url``, directly or through the app's fixtures, or a server of
    their own from ``postgres_cluster``): a test that never opens it — a pure function, a
    ``concierge`` command on its own SQLite file — ran in the SQLite pass and would only run
    again. The few tests bound to the SQLite file are skipped."""
    if engine_under_test() != "postgresql":
        return
    on_database = [
        item
        for item in items
        if {"database_url", "postgres_cluster"} & set(getattr(item, "fixturenames", ()))
    ]
    if len(on_database) < len(items):
        kept = set(on_database)
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = on_database
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throw-away PostgreSQL server for the session (tests/support/postgres.py)."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test's own database: a SQLite file, or with CONCIERGE_TEST_DB=postgresql a fresh
    database on the session's PostgreSQL server, dropped after the test."""
    if engine_under_test() != "postgresql":
        yield f"sqlite+aiosqlite:///{tmp_path / 'concierge.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    url = cluster.new_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def settings(redis_url: str, database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        redis_url=redis_url,
        database_url=database_url,
        secret_key="test-secret-" + "x" * 40,
        var_dir=tmp_path / "var",
        demo=False,
        # Tuesday 21 July 2026, 10:00 in Paris: every demo office is in its own opening hours,
        # so each chat goes to its own office unless a test says otherwise.
        clock_start=OFFICE_HOURS,
        # Every test visitor writes from 127.0.0.1: the address's conversation bucket is wide
        # open here, and tests/app/test_socket_limits.py narrows it to test it.
        conversation_ip_burst=100_000,
    )


@dataclass
class DemoLogin:
    email: str
    password: str
    office: str


@dataclass
class LiveServer:
    url: str
    settings: Settings
    logins: dict[str, DemoLogin]
    app: object

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def services(self) -> object:
        return self.app.state.services  # type: ignore[attr-defined]


def seed_demo(settings: Settings) -> dict[str, DemoLogin]:
    from app.db import Database, create_tables

    async def _run() -> dict[str, DemoLogin]:
        db = Database(settings.sqlalchemy_url)
        await create_tables(db.engine)
        async with db.session() as session:
            logins = await seed(session) or []
        await db.dispose()
        return {x.email: DemoLogin(x.email, x.password, x.office) for x in logins}

    return run_apart(_run)


def run_apart(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs ``make()`` to its end on an event loop of its own thread: the caller may itself be
    running one (pytest-asyncio, Playwright's sync API)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result(timeout=120)


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # runs in a thread
        pass


def start_server(
    settings: Settings, port: int | None = None
) -> tuple[_Server, threading.Thread, str]:
    port = port or free_port()
    app = create_app(settings)
    # As `concierge run` configures it: uvicorn's own proxy headers off (they would believe any
    # X-Forwarded-For from loopback); the app trusts only CONCIERGE_TRUSTED_PROXIES.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", proxy_headers=False
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.started:
            break
        if not thread.is_alive():
            raise RuntimeError("test server failed to start")
        time.sleep(0.02)
    else:
        raise RuntimeError("test server did not start in time")
    return server, thread, url


def stop_server(server: _Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def make_server(settings: Settings) -> Iterator[Callable[..., LiveServer]]:
    """Starts real HTTP servers (uvicorn in a thread) on the shared Redis and database."""
    running: list[tuple[_Server, threading.Thread]] = []
    logins: dict[str, DemoLogin] = {}

    def factory(seed_data: bool = True, **overrides: object) -> LiveServer:
        nonlocal logins
        if seed_data and not logins:
            logins = seed_demo(settings)
        server_settings = settings.model_copy(update=overrides)
        server, thread, url = start_server(server_settings)
        running.append((server, thread))
        return LiveServer(url, server_settings, logins, server.config.app)

    yield factory
    for server, thread in running:
        stop_server(server, thread)


@pytest.fixture
def live(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server()


@contextlib.contextmanager
def login(base_url: str, email: str, password: str) -> Iterator[httpx.Client]:
    """A browser-like client logged in through the real form (CSRF included)."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=10) as client:
        yield _logged_in(client, email, password)


def _logged_in(client: httpx.Client, email: str, password: str) -> httpx.Client:
    page = client.get("/login")
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    client.headers["X-CSRF-Token"] = token
    return client


def office_login(live: LiveServer, office_slug: str, index: int = 0) -> DemoLogin:
    matching = [x for x in live.logins.values() if x.email.endswith(f"@{office_slug}.example")]
    return matching[index]
