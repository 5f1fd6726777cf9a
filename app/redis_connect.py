"""The worker's Redis client, from ``REDIS_URL``: one server, a Redis Cluster, or a master found
through Sentinel.

* ``redis://``, ``rediss://``, ``unix://`` — one server (redis-py's own URL syntax, unchanged);
* ``redis+cluster://[[user]:password@]host:port[,host:port…]/`` — redis-py's cluster client, the
  listed nodes being where it first learns the slot map (``rediss+cluster://`` for TLS);
* ``redis+sentinel://[[user]:password@]host:port[,host:port…]/<service>[?db=N]`` — the master
  that the sentinels name for ``service``, looked up again on every reconnection, so the app
  follows a failover (``rediss+sentinel://`` for TLS to the data nodes). The password in the
  URL is the data nodes'; ``sentinel_password=`` in the query is the sentinels' own, if any.

Every key of the project carries a hash tag (app/keys.py): the keys used together by one
script, transaction or ``MGET`` are in one cluster slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import parse_qs, unquote

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.redis_send import quick

REDIS_CONNECTIONS = 400  # per worker process (per node on a cluster)
SOCKET_TIMEOUT = 30.0  # longer than any blocking read the app makes (XREAD BLOCK 5 s)
CONNECT_TIMEOUT = 5.0

Mode = Literal["single", "cluster", "sentinel"]


class RedisUrlError(ValueError):
    """REDIS_URL cannot be used; the message never holds the password."""


@dataclass(frozen=True)
class RedisTarget:
    """What ``REDIS_URL`` names (cluster and sentinel forms only)."""

    mode: Mode
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    tls: bool = False


def mode_of(url: str) -> Mode:
    scheme = url.partition("://")[0].lower()
    if scheme in ("redis+cluster", "rediss+cluster"):
        return "cluster"
    if scheme in ("redis+sentinel", "rediss+sentinel"):
        return "sentinel"
    return "single"


def redacted(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for error messages and logs)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{hosts}{slash}{tail}"


def parse(url: str) -> RedisTarget:
    """Reads a ``redis+cluster://`` or ``redis+sentinel://`` URL; :class:`RedisUrlError` names
    REDIS_URL and what is wrong with it."""
    mode = mode_of(url)

    def bad(why: str) -> RedisUrlError:
        return RedisUrlError(f"REDIS_URL {redacted(url)!r}: {why}")

    if mode == "single":
        raise bad("not a redis+cluster:// or redis+sentinel:// URL")
    scheme, _, rest = url.partition("://")
    netloc, _, path_query = rest.partition("/")
    path, _, query = path_query.partition("?")
    if "#" in query or "#" in path:
        raise bad("a fragment (#…) has no meaning here")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes: list[tuple[str, int]] = []
    for item in hosts.split(","):
        item = item.strip()
        if not item:
            raise bad("expected host:port[,host:port…] after the scheme")
        if item.startswith("["):  # [IPv6]:port
            host, _, port_text = item[1:].partition("]:")
        else:
            host, _, port_text = item.rpartition(":")
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise bad(f"{item!r} is not host:port")
        nodes.append((host, int(port_text)))
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise bad("unreadable query string") from None
    allowed = {"db", "sentinel_password"} if mode == "sentinel" else set()
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise bad(f"unknown parameter {unknown[0]!r}")
    db = 0
    service = unquote(path.strip("/"))
    if mode == "sentinel":
        if not service or "/" in service:
            raise bad("the sentinel service name is missing: redis+sentinel://host:port/<service>")
        db_text = params.get("db", ["0"])[-1]
        if not db_text.isdigit():
            raise bad("db must be a number")
        db = int(db_text)
    elif service:
        raise bad("a cluster URL has no path (a cluster has a single database)")
    sentinel_password = params.get("sentinel_password", [None])[-1]
    return RedisTarget(
        mode=mode,
        nodes=tuple(nodes),
        service=service,
        db=db,
        username=username,
        password=password,
        sentinel_password=sentinel_password,
        tls=scheme.lower().startswith("rediss"),
    )


def check(url: str) -> None:
    """Raises :class:`RedisUrlError` when ``url`` cannot be used (``concierge run`` asks before
    it starts anything); connects to nothing."""
    if mode_of(url) != "single":
        parse(url)
        return
    try:
        parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as exc:  # redis-py's own message quotes no password
        also = " (or redis+cluster://, redis+sentinel://)" if "scheme" in str(exc) else ""
        raise RedisUrlError(f"REDIS_URL {redacted(url)!r}: {exc}{also}") from None


def _retry() -> Retry:
    # A dropped connection is retried a few times with a short backoff (a Redis restarting in
    # the next second is not an error); beyond that the caller sees the error, and the
    # background loops wait with their own backoff (app.outage).
    return Retry(ExponentialBackoff(cap=0.5, base=0.05), 3)


def connect(url: str) -> Redis:
    """The client for ``url``. A cluster client is not a subclass of :class:`Redis` but speaks
    every command the app uses; it is typed as one so callers need not care (app.realtime asks
    :func:`is_cluster` where the two differ: pub/sub)."""
    common: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "health_check_interval": 30,
    }
    mode = mode_of(url)
    if mode == "single":
        # A blocking pool: a crowd of sockets opening at once waits a moment for a connection,
        # where redis-py's default pool (100) fails the handshakes past it.
        check(url)
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=REDIS_CONNECTIONS,
            timeout=10,
            retry=_retry(),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            **common,
        )
        # Commands written in the caller's step when the socket has room (app/redis_send.py);
        # so too through Sentinel, below. A cluster's nodes keep redis-py's write.
        pool.connection_class = quick(pool.connection_class)
        return Redis.from_pool(pool)
    target = parse(url)
    if target.mode == "cluster":
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            username=target.username,
            password=target.password,
            ssl=target.tls,
            max_connections=REDIS_CONNECTIONS,
            # A failover: the client re-reads the slot map and tries again, for a few seconds.
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), 6),
            **common,
        )
        return cast(Redis, cluster)
    sentinel = Sentinel(  # type: ignore[no-untyped-call,unused-ignore]
        list(target.nodes),
        sentinel_kwargs={
            "password": target.sentinel_password,
            "socket_timeout": CONNECT_TIMEOUT,
            "socket_connect_timeout": CONNECT_TIMEOUT,
        },
        username=target.username,
        password=target.password,
        ssl=target.tls,
        db=target.db,
        retry=_retry(),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        max_connections=REDIS_CONNECTIONS,
        **common,
    )
    master: SentinelMaster = sentinel.master_for(target.service, redis_class=SentinelMaster)
    master.connection_pool.connection_class = quick(master.connection_pool.connection_class)
    master.watchers = sentinel
    return master


class SentinelMaster(Redis):
    """The master named by the sentinels; closing it closes the connections to the sentinels
    too (redis-py leaves them open)."""

    watchers: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.watchers is not None:
            for client in self.watchers.sentinels:
                await client.aclose()


def is_cluster(redis: object) -> bool:
    return isinstance(redis, RedisCluster)
