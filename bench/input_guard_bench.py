"""What the input guard costs each JSON request, and what it spares the worker.

- microseconds per ``check_json`` (depth scan before parsing, then the walk for 64-bit integers
  and lone surrogates) on the bodies the inbox sends: a reply of 4,000 characters, a note of
  20,000 with mentions, a bulk action on 200 and 10,000 ids;
- the time to refuse 5,000 and 100,000 levels of nesting (Python's parser would raise
  ``RecursionError`` at about 1,000);
- the time to refuse a 1 MiB body.

Run: ``python -m bench.input_guard_bench``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from app.web.input_guard import MAX_JSON_BYTES, Refusal, check_json


def _per_call(work: Callable[[], object], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        work()
    return (time.perf_counter() - start) / rounds * 1e6


def _refusing(body: bytes) -> Callable[[], object]:
    def run() -> object:
        try:
            check_json(body)
        except Refusal as refusal:
            return refusal.problem
        raise AssertionError("not refused")

    return run


def main() -> None:
    bodies = {
        "reply, 4,000 characters": {"text": "Bonjour é [ok] " * 266, "client_id": "abc"},
        "note, 20,000 characters, 10 mentions": {"text": "x" * 20_000, "mentions": list(range(10))},
        "bulk, 200 ids": {"ids": list(range(1, 201)), "action": "resolve"},
        "bulk, 10,000 ids": {"ids": list(range(1, 10_001)), "action": "resolve"},
    }
    print(f"{'body':40} {'bytes':>9} {'µs per check':>13}")
    for name, value in bodies.items():
        raw = json.dumps(value).encode()
        print(f"{name:40} {len(raw):9,} {_per_call(lambda raw=raw: check_json(raw), 200):13.1f}")
    for depth in (5_000, 100_000):
        raw = b"[" * depth + b"]" * depth
        micros = _per_call(_refusing(raw), 20)
        print(f"{f'refused: {depth:,} levels':40} {len(raw):9,} {micros:13.1f}")
    huge = b'{"text": "' + b"x" * MAX_JSON_BYTES + b'"}'
    print(f"{'refused: over 1 MiB':40} {len(huge):9,} {_per_call(_refusing(huge), 20):13.1f}")


if __name__ == "__main__":
    main()
