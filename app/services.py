"""The runtime objects one worker holds, created at start-up and closed at shutdown."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from app import redis_connect
from app.clock import Clock
from app.db import Database
from app.ratelimit import RateLimiter
from app.realtime import Hub
from app.routing import Router
from app.security import SessionStore, VisitorTokens
from app.settings import Settings
from app.store_slots import StoreSlots
from connectors.base import Connector

REDIS_CONNECTIONS = redis_connect.REDIS_CONNECTIONS  # per worker process


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis
    clock: Clock
    hub: Hub
    sessions: SessionStore
    visitor_tokens: VisitorTokens
    limiter: RateLimiter
    store_slots: StoreSlots  # visitor messages stored at once by this worker
    router: Router = field(default_factory=Router)
    connectors: dict[str, Connector] = field(default_factory=dict)  # account key → connector
    # What each connector above was built from (app.connector_registry.built_from): a changed
    # account gets a new one.
    connector_sources: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    local_locks: dict[str, asyncio.Lock] = field(default_factory=dict)  # this worker's only
    # Passes asked for and passes started, per key: a pass covers every ask made before it began.
    passes_asked: dict[str, int] = field(default_factory=dict)
    passes_begun: dict[str, int] = field(default_factory=dict)
    # Short-lived reads shared by this worker's visitor sockets (app.visitor_queue).
    queue_boards: dict[tuple[str, int], tuple[float, Any]] = field(default_factory=dict)
    # Messages whose follow-up this worker has done: their relay rows go in the next batch.
    relayed: set[int] = field(default_factory=set)
    following: set[int] = field(default_factory=set)  # follow-ups running in this worker

    @property
    def machine(self) -> str:
        """The name this machine keeps across restarts (connector leases)."""
        return self.settings.worker_name or socket.gethostname()

    @property
    def worker_id(self) -> str:
        """This worker process: its machine, then its pid."""
        return f"{self.machine}/{os.getpid()}"

    @classmethod
    def create(cls, settings: Settings, *, serving: bool = False) -> Services:
        """``serving`` for a worker serving the app: SQLite's checkpoints then run apart from
        its commits (app.sqlite_checkpoint)."""
        # One server, a Redis Cluster or a Sentinel-watched master, as REDIS_URL says
        # (app.redis_connect); a REDIS_URL it cannot use stops the start with its reason.
        redis = redis_connect.connect(settings.redis_url)
        secret = settings.secret_key.get_secret_value()
        return cls(
            settings=settings,
            db=Database(settings.sqlalchemy_url, checkpoints_apart=serving),
            redis=redis,
            clock=Clock(settings.clock_start),
            hub=Hub(redis),
            sessions=SessionStore(redis, settings.session_max_age),
            visitor_tokens=VisitorTokens(secret, settings.visitor_token_max_age),
            limiter=RateLimiter(redis, settings.rate_window_seconds),
            store_slots=StoreSlots(settings.ingest_slots, settings.ingest_max_wait_seconds),
        )

    async def close(self) -> None:
        await self.hub.close()
        await self.redis.aclose()
        await self.db.dispose()
