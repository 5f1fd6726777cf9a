"""A connector's status, as a running connector would have written it, for an account a test
has just made active (without the secrets it needs to run).

The running app's connector supervision looks at the active accounts every few seconds
(``app.channels.STATUS_EVERY``) and writes, for one that cannot run, an error status in place of
whatever was there. A test writing its own figures first waits for that write, then puts its
figures in its place: they hold for the next few seconds, enough to read a page."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from app import keys


def put_after_supervision(
    redis_url: str, destination_id: int, account_key: str, status: dict[str, Any]
) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        key = keys.connector_status(destination_id, account_key)
        deadline = time.monotonic() + 20
        while True:
            raw = client.get(key)
            if raw and json.loads(raw).get("state") == "error":
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"the supervision never looked at {account_key}")
            time.sleep(0.05)
        client.set(key, json.dumps(status))
    finally:
        client.close()
