"""What every bench prints its timings with."""

from __future__ import annotations


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` (nearest rank); NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
