"""``make bench``: every benchmark in turn."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "chat_latency",
    "sql_statements",
    "hot_path",
    "hot_steps",
    "rota_bench",
    "metrics_bench",
    "email_bench",
    "email_parse_bench",
    "x_bench",
    "x_timelines_bench",
    "socket_probe",
    "idle_sockets",
    "redis_kill",
    "moderation_bench",
    "input_guard_bench",
    "answers_bench",
    "rules_bench",
    "search_bench",
    "offline_bench",
    "csat_bench",
    "files_bench",
)


def main() -> None:
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            continue
        print(f"\n=== {name} ===", flush=True)
        module.main([]) if name in (
            "chat_latency",
            "sql_statements",
            "hot_path",
            "hot_steps",
            "metrics_bench",
            "redis_kill",
            "answers_bench",
            "rules_bench",
            "offline_bench",
            "idle_sockets",
        ) else module.main()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
