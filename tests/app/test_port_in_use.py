"""A port already in use: ``concierge run`` says so at once, in one readable line naming the
address and the setting to change (exit code 2), before the embedded Redis or any worker
starts — and says the same if the port is taken between its check and uvicorn's bind."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.serving import EXIT_CANNOT_LISTEN, CannotListen, check_address, serve
from app.settings import Settings
from tests.app.test_cli import CONCIERGE


@pytest.fixture
def taken() -> Iterator[int]:
    """A port some other program listens on."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


def test_run_on_a_taken_port_exits_at_once_with_a_readable_error(
    taken: int, env: dict[str, str], tmp_path: Path
) -> None:
    began = time.monotonic()
    result = subprocess.run(
        [*CONCIERGE, "run", "--port", str(taken), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    took = time.monotonic() - began
    assert result.returncode == EXIT_CANNOT_LISTEN, result.stdout + result.stderr
    assert f"cannot listen on 127.0.0.1:{taken}" in result.stderr
    assert "already in use" in result.stderr and "CONCIERGE_PORT" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert took < 10, took  # at once: the interpreter's start-up, nothing more
    # Checked before anything started: no embedded Redis, no database, no worker.
    assert not (tmp_path / "var" / "redis").exists()
    assert not (tmp_path / "var" / "concierge.db").exists()
    assert "Started server process" not in result.stdout + result.stderr


def test_the_same_port_from_the_environment(taken: int, env: dict[str, str]) -> None:
    result = subprocess.run(
        [*CONCIERGE, "run"],
        env={**env, "CONCIERGE_PORT": str(taken)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == EXIT_CANNOT_LISTEN, result.stdout + result.stderr
    assert f"127.0.0.1:{taken}" in result.stderr


def test_a_free_port_passes_the_check(taken: int) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()[1]
    probe.close()
    check_address("127.0.0.1", free)  # nothing raised
    with pytest.raises(CannotListen) as caught:
        check_address("127.0.0.1", taken)
    assert f"127.0.0.1:{taken}" in str(caught.value)


def test_an_address_of_another_machine_is_named_too() -> None:
    with pytest.raises(CannotListen) as caught:
        check_address("192.0.2.1", 8000)  # TEST-NET-1: never this machine's
    assert "cannot listen on 192.0.2.1:8000: this machine has no such address" in str(caught.value)


def tiny_app() -> Any:
    """An ASGI app that needs nothing (the bind below fails before it would be served)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    return app


@pytest.mark.parametrize("workers", [1, 2])
def test_a_port_taken_after_the_check_is_told_the_same_way(
    taken: int, workers: int, tmp_path: Path
) -> None:
    # The race: free when checked, taken when uvicorn binds (by the parent with several
    # workers, by the server itself with one). uvicorn's bare OSError becomes the same error.
    settings = Settings(var_dir=tmp_path / "var", port=taken)
    with pytest.raises(CannotListen) as caught:
        serve(settings, workers, app="tests.app.test_port_in_use:tiny_app")
    assert f"cannot listen on 127.0.0.1:{taken}: the address is already in use" in str(caught.value)
