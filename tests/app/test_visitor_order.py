"""A visitor socket's messages keep the order they were written in, across refusals: the
hold itself (app.visitor_order), on a clock of its own."""

from __future__ import annotations

from app.visitor_order import GIVE_UP, RETRY_AFTER, Refusal, SendOrder


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_messages_are_numbered_as_they_come_and_nothing_is_held_until_one_is_refused() -> None:
    order = SendOrder(Clock())
    assert order.arrived("a") == (1, None) and order.arrived("a") == (2, None)
    assert order.behind("a", 2) is None and order.held is None


def test_the_messages_after_a_refused_one_are_refused_until_it_comes_back() -> None:
    clock = Clock()
    order = SendOrder(clock)
    a, _ = order.arrived("a")
    order.refused("a", a, "busy", 2.0)
    clock.t += 0.5
    b, refusal = order.arrived("b")
    assert refusal == Refusal("busy", 1.5)  # the time left to the first one's
    order.refused("b", b, "busy", 1.5)  # refused for it: the first one still holds
    assert order.held is not None and order.held.client_id == "a"
    clock.t += 1.5
    assert order.arrived("b")[1] == Refusal("busy", 0.5)  # back too early: at least 0.5 s
    assert order.arrived("a")[1] is None  # back: the hold is lifted, it goes first
    assert order.arrived("b")[1] is None


def test_a_message_that_reached_the_socket_before_the_refused_one_goes_on() -> None:
    """A burst: the first ones wait their turn on the socket, a later one is refused at once
    (the socket's queue is full). The earlier ones are stored; the ones after it are not."""
    order = SendOrder(Clock())
    first, _ = order.arrived("first")
    overflow, _ = order.arrived("overflow")
    order.refused("overflow", overflow, "busy", 1.0)
    assert order.behind("first", first) is None
    late, refusal = order.arrived("late")
    assert refusal is not None
    assert order.behind("late", late) == Refusal("busy", 1.0)


def test_an_earlier_message_refused_after_a_later_one_holds_instead() -> None:
    """The socket's queue overflowed (a later message refused at once), then an earlier one is
    refused at its turn: the earlier one holds, so that sent again in order, the earlier goes
    first and the later one after it."""
    order = SendOrder(Clock())
    early, _ = order.arrived("early")
    late, _ = order.arrived("late")
    order.refused("late", late, "busy", 1.0)
    order.refused("early", early, "unavailable")
    assert order.held is not None and order.held.client_id == "early"
    assert order.arrived("early")[1] is None
    assert order.arrived("late")[1] is None


def test_the_first_one_refused_again_holds_the_ones_queued_behind_it() -> None:
    order = SendOrder(Clock())
    a, _ = order.arrived("a")
    order.refused("a", a, "rate_limited")
    a, _ = order.arrived("a")
    b, refusal = order.arrived("b")
    assert refusal is None  # queued behind "a" on the socket
    order.refused("a", a, "busy", 1.0)  # "a" refused again when its turn came
    assert order.behind("b", b) == Refusal("busy", 1.0)  # "b" may not be stored before it


def test_the_held_one_itself_may_be_stored_and_then_holds_nothing() -> None:
    order = SendOrder(Clock())
    a, _ = order.arrived("a")
    order.refused("a", a, "unavailable")
    assert order.behind("a", a + 5) is None  # sent twice: its second copy is its turn
    assert order.arrived("b")[1] == Refusal("unavailable", RETRY_AFTER)
    order.done("b")  # another one's outcome lifts nothing
    assert order.held is not None
    order.done("a")
    assert order.held is None and order.arrived("b")[1] is None


def test_a_refused_message_never_sent_again_stops_holding_the_others() -> None:
    clock = Clock()
    order = SendOrder(clock)
    a, _ = order.arrived("a")
    order.refused("a", a, "busy", 2.0)
    clock.t += 2.0 + GIVE_UP
    b, refusal = order.arrived("b")
    assert refusal == Refusal("busy", 0.5)  # a slow widget is waited for
    clock.t += 0.1
    assert order.behind("b", b) is None and order.held is None
    c, _ = order.arrived("c")
    order.refused("c", c, "busy", 1.0)
    clock.t += 1.0 + GIVE_UP + 0.1
    assert order.arrived("d")[1] is None and order.held is None
