"""One cycle of the rotation: each member office takes as many turns as its weight, spread out.

Turns are dealt one at a time by the quota method: the next turn goes to the office furthest
behind its share of the turns dealt so far (weight / total weight), offices staggered by a
fraction of a turn by rank (heaviest first, then as listed) so that the light ones do not all fall
due at once. Two rules bind the choice: an office never takes the turn right after its own, the
cycle read round (its last turn is followed by the next cycle's first), and a turn is only given
if the turns left can still be dealt under that rule. Both hold unless one office has more turns
than all the others together; its turns then come in runs as even as possible, one turn of
another office between two runs, and the cycle starts and ends inside the longest run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

__all__ = ["spread_cycle"]


def spread_cycle(members: Iterable[tuple[str, int]]) -> list[str]:
    """The order of one cycle for (office, weight) pairs; an office listed twice adds up."""
    weights: dict[str, int] = {}
    for office, weight in members:
        weights[office] = weights.get(office, 0) + weight
    if not weights:
        return []
    ranked = sorted(weights, key=lambda o: -weights[o])  # stable: equal weights stay as listed
    heaviest = ranked[0]
    if 2 * weights[heaviest] > sum(weights.values()):
        return _runs(heaviest, weights)
    return _dealt(ranked, weights)


def _dealt(ranked: list[str], weights: dict[str, int]) -> list[str]:
    """No office more than half the turns: dealt by quota, never one office twice running."""
    total, n = sum(weights.values()), len(ranked)
    dealt = dict.fromkeys(ranked, 0)
    left = dict(weights)
    order: list[str] = []
    for t in range(total):
        # Turns behind the quota t·w/T, less the stagger rank/n; scaled by n·T to stay integer.
        behind = {
            o: t * weights[o] * n - dealt[o] * total * n - rank * total
            for rank, o in enumerate(ranked)
        }
        candidates = sorted(
            (o for o in ranked if left[o] and (not order or o != order[-1])),
            key=lambda o: -behind[o],  # stable: ties go to the heavier, then the first listed
        )
        # Never empty: the turns left could be dealt before this one, so one of them goes first.
        office = next(o for o in candidates if _rest_fits(left, o, order[0] if order else o))
        order.append(office)
        dealt[office] += 1
        left[office] -= 1
    return order


def _rest_fits(left: dict[str, int], chosen: str, first: str) -> bool:
    """Whether, once ``chosen`` takes this turn, the turns left can follow with no office twice
    running: ``chosen`` not next, ``first`` (the next cycle's first turn) not last.

    The rest has r places; an office fits with no two turns side by side in ceil(r/2) of them,
    one fewer for each end it may not take. Each office fitting is enough for all of them to.
    """
    rest = sum(left.values()) - 1
    for office, turns in left.items():
        turns -= office == chosen
        barred_ends = (office == chosen) + (office == first)
        if turns > 0 and turns > (rest + 1 - barred_ends) // 2:
            return False
    return True


def _runs(heavy: str, weights: dict[str, int]) -> list[str]:
    """``heavy`` has more turns than all the others: runs of it, one other office between two."""
    turns = weights[heavy]
    others = spread_cycle((o, w) for o, w in weights.items() if o != heavy)
    gaps = len(others)
    if not gaps:
        return [heavy] * turns
    # Run j: ceil((j+1)·turns/gaps) − ceil(j·turns/gaps) turns, so lengths differ by at most one
    # and run 0 is a longest (at least 2). It is split between the start and the end of the cycle.
    bounds = [-(-j * turns // gaps) for j in range(gaps + 1)]
    runs = [b - a for a, b in itertools.pairwise(bounds)]
    head = (runs[0] + 1) // 2
    order = [heavy] * head
    for other, run in zip(others, [*runs[1:], runs[0] - head], strict=True):
        order += [other] + [heavy] * run
    return order
