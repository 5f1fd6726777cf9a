"""Schemathesis fuzzes every operation of the OpenAPI schema against a real server, signed in
as the destination manager (session cookie and CSRF header), with valid and invalid data: no
request may get a server error.

The example count per operation is bounded so the run stays near half a minute on two cores;
the summary line (requests, server errors) is printed for the record, even without ``-s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
import websockets
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import LiveServer

EXAMPLES = 20  # per operation and mode
MINIMUM_REQUESTS = 1_000
# The session must live through the run: signing out, or disabling users (the manager may be
# one of the ids drawn), would turn the rest into 401s. /login has limits of its own to test.
SKIPPED = {("POST", "/logout"), ("POST", "/login"), ("POST", "/api/users/{user_id}/disable")}


def _signed_in(live: LiveServer) -> requests.Session:
    who = live.logins["manager@baie-dargent.example"]
    session = requests.Session()
    page = session.get(f"{live.url}/login", timeout=10)
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = session.post(
        f"{live.url}/login",
        data={"email": who.email, "password": who.password, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303, response.text
    session.headers["X-CSRF-Token"] = token
    return session


def _some_conversations(live: LiveServer) -> None:
    """A few real conversations, so drawn ids sometimes name rows that exist."""

    async def run() -> None:
        for n, account in enumerate(("chat-port-argent", "chat-saint-clair", "chat-les-salines")):
            async with websockets.connect(f"{live.ws_url}/ws/visitor?account={account}") as ws:
                await ws.recv()
                frame = {"type": "message", "client_id": f"fuzzseed{n}", "text": "Bonjour"}
                await ws.send(json.dumps(frame))
                while json.loads(await ws.recv())["type"] != "ack":
                    pass

    asyncio.run(run())


def test_no_request_from_the_schema_gets_a_server_error(
    live: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _some_conversations(live)
    session = _signed_in(live)
    schema = schemathesis.openapi.from_url(f"{live.url}/api/openapi.json")
    sent: Counter[str] = Counter()
    failures: list[str] = []
    operations = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case: Any) -> None:
                response = case.call(base_url=live.url, session=session, allow_redirects=False)
                sent[case.operation.label] += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{response.status_code} {case.as_curl_command()}\n{response.text[:300]}"
                    )

            # Unsatisfiable: no invalid input exists for an operation without inputs.
            with contextlib.suppress(Unsatisfiable):
                fuzz()

    total = sum(sent.values())
    with capsys.disabled():  # shown by a plain `pytest` (make test) too, for the record
        print(
            f"\nschemathesis: {total} requests over {operations} operations, "
            f"{len(failures)} server errors (status >= 500)"
        )
    assert not failures, "\n\n".join(failures[:10])
    assert total >= MINIMUM_REQUESTS, sent
    # The session held: the manager was still signed in at the end.
    assert session.get(f"{live.url}/api/me", timeout=10).status_code == 200
