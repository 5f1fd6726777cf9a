"""One cycle of the rotation: weights kept, turns spread, no office twice running if avoidable."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rota.cycle import spread_cycle

OFFICES = "abcdefgh"


def cycle_of(weights: list[int]) -> list[str]:
    return spread_cycle(zip(OFFICES, weights, strict=False))


def back_to_back(order: list[str], office: str, *, round_: bool) -> int:
    """How many times ``office`` has a turn right after its own (round_: the cycle repeated)."""
    pairs = zip(order, order[1:] + order[:1] if round_ else order[1:], strict=False)
    return sum(a == b == office for a, b in pairs)


def runs(order: list[str], office: str) -> list[int]:
    """The lengths of ``office``'s runs of turns, the cycle read round."""
    start = next(i for i, o in enumerate(order) if o != office)
    lengths, current = [], 0
    for o in order[start:] + order[:start]:
        if o == office:
            current += 1
        elif current:
            lengths.append(current)
            current = 0
    return [*lengths, current] if current else lengths


@pytest.mark.parametrize(
    ("weights", "order"),
    [
        ([1, 1, 1], "abc"),  # equal weights: as listed
        ([2, 1, 1], "abac"),  # the demo destination: Port-Argent every other week
        ([2, 1, 1, 1, 1], "abcade"),
        ([3, 1, 1, 1, 1, 1, 1], "abcadeafg"),  # every third turn
        ([2, 2, 1], "abacb"),
        ([1, 1, 1, 3], "dadbdc"),  # the heaviest starts, wherever it is listed
        ([3, 2], "ababa"),  # one more than the others: back to back only across cycles
        ([3, 1], "aaba"),  # more than that: runs, split over the cycle's ends
        ([5, 1, 1], "aabaaca"),
        ([1, 2], "bab"),
        ([2], "aa"),
        ([], ""),
    ],
)
def test_cycle_tables(weights: list[int], order: str) -> None:
    assert "".join(cycle_of(weights)) == order


def test_an_office_listed_twice_adds_up() -> None:
    assert spread_cycle([("a", 1), ("b", 1), ("a", 1)]) == ["a", "b", "a"]
    assert spread_cycle([("a", 1), ("b", 1), ("c", 1), ("a", 1)]) == cycle_of([2, 1, 1])


weight_lists = st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=8)


@given(weight_lists)
@settings(max_examples=400, deadline=None)
def test_each_office_has_its_weight_in_turns(weights: list[int]) -> None:
    order = cycle_of(weights)
    assert Counter(order) == dict(zip(OFFICES, weights, strict=False))
    assert cycle_of(weights) == order  # deterministic


@given(weight_lists)
@settings(max_examples=400, deadline=None)
def test_no_office_twice_running_unless_it_outweighs_the_others(weights: list[int]) -> None:
    order = cycle_of(weights)
    total = sum(weights)
    for office, weight in zip(OFFICES, weights, strict=False):
        others = total - weight
        # Within one cycle, back to back only above the others' turns plus one …
        if weight <= others + 1:
            assert back_to_back(order, office, round_=False) == 0, (weights, order)
        # … and cycle after cycle, only above the others' turns; then as few times as can be.
        assert back_to_back(order, office, round_=True) == max(0, weight - others), order


@given(
    st.integers(min_value=2, max_value=30),
    st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=5),
)
@settings(max_examples=300, deadline=None)
def test_an_office_outweighing_the_others_takes_even_runs(heavy: int, light: list[int]) -> None:
    weights = [heavy + sum(light), *light]  # "a" has more turns than all the others together
    order = cycle_of(weights)
    lengths = runs(order, "a")
    assert len(lengths) == sum(light)  # one other office between two runs, never two
    assert max(lengths) - min(lengths) <= 1, (weights, order)
    assert order[0] == order[-1] == "a"  # a cycle starts and ends inside a run
