"""Dealing one rotation's turns, with a ledger so that skipped turns are paid back.

Turns are dealt one after another from the anchor, in the order their windows occur. A turn is
due to the office at its place in the weighted cycle (:mod:`rota.cycle`); every window of the
turn is dealt on its own:

- When the due office cannot take the window (closed, unavailable, or not a member that day),
  the next member in cycle order that can takes it, and the skipped office owes it one window.
  Two offices never owe each other at once: a new debt first cancels one owed the other way.
- When the due office can take it and another office owes it windows, the debtor that comes
  first in cycle order after the due place and can take the window takes it: one window paid.
- When nobody can take it, the due office keeps it (:func:`rota.check` reports the conflict);
  nobody owes anything for it.

So over any stretch of windows each office holds exactly the windows the plain cycle gives it
plus the change of its balance (windows owed to it less windows it owes) across the stretch: at
most its pending debts and credits at either end away from its share. With everyone available
nobody owes anything and the dealing is the plain cycle.

With ``together`` above 1, the due office's window also goes to the next members in cycle order
that can take it, up to ``together`` offices; these companions are neither owed nor owing.

Membership changes (a member's ``since`` and the day after its ``until``) start epochs: from the
first turn starting on or after the change, the cycle restarts from its beginning with the
members of that date. Turns dealt before keep their office. Debts carry over between members
who stay; debts to or from an office that left lapse.

The ledger is computed incrementally, one local year after another from the anchor's, and each
year's dealing is kept. Turns before the anchor are counted backwards from it with the first
epoch's members, each window going to the due office or the next one that can take it (no
ledger: what happened before the anchor is not known).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from rota.cycle import spread_cycle
from rota.intervals import Window
from rota.model import Member, Rotation

if TYPE_CHECKING:
    from rota.duty import DutyWindows, TurnKey

Debts = dict[tuple[str, str], int]  # (debtor, creditor) → windows owed


@dataclass(frozen=True, slots=True)
class Epoch:
    """A stretch of turns dealt with one set of members, from ``start`` (a local date)."""

    start: date
    members: tuple[Member, ...]
    cycle: tuple[str, ...]


@dataclass(slots=True)
class _State:
    epoch: int = 0
    position: int = -1  # the current turn's place from the epoch's first turn
    key: TurnKey | None = None
    debts: Debts = field(default_factory=dict)


class Dealer:
    """Who takes each window of one rotation: the lead office first, then its companions."""

    def __init__(self, rotation: Rotation, duty: DutyWindows) -> None:
        self.rotation = rotation
        self.duty = duty
        self.anchor_key = duty.turn_key(rotation.anchor, 0, rotation)
        changes = {
            d
            for m in rotation.members
            for d in (m.since, m.until + timedelta(days=1) if m.until else None)
            if d is not None and d > rotation.anchor
        }
        self.epochs = [self._epoch(d) for d in [rotation.anchor, *sorted(changes)]]
        self._starts = [e.start for e in self.epochs]
        self._state = _State()
        self._done: int | None = None  # the last local year dealt
        self._dealt: dict[int, dict[tuple[date, int], tuple[str, ...]]] = {}
        self._debts_after: dict[int, Debts] = {}

    def _epoch(self, start: date) -> Epoch:
        members = tuple(m for m in self.rotation.members if m.member_on(start))
        cycle = tuple(spread_cycle((m.office, m.weight) for m in members))
        return Epoch(start, members, cycle)

    def _epoch_of(self, key: TurnKey) -> int:
        return max(bisect.bisect_right(self._starts, key[0]) - 1, 0)

    def can_take(self, epoch: Epoch, office: str, day: date) -> bool:
        """Whether an office can take a window of a local date in that epoch."""
        return self.duty.available(office, day) and any(
            m.office == office and m.member_on(day) for m in epoch.members
        )

    # ---- questions ---------------------------------------------------------
    def holders(self, window: Window) -> tuple[str, ...]:
        """The offices taking a window of this rotation, the lead first (empty: nobody)."""
        if window.turn_key < self.anchor_key:
            return self._before_anchor(window)
        self._deal_through(window.day.year)
        return self._dealt.get(window.day.year, {}).get((window.day, window.index), ())

    def debts_after(self, year: int) -> Debts:
        """The ledger once every window of local dates up to 31 December of ``year`` is dealt."""
        if year < self.anchor_key[0].year:
            return {}
        self._deal_through(year)
        return dict(self._debts_after[year])

    # ---- dealing -----------------------------------------------------------
    def _deal_through(self, year: int) -> None:
        first = self.anchor_key[0].year
        while self._done is None or self._done < year:
            current = first if self._done is None else self._done + 1
            dealt: dict[tuple[date, int], tuple[str, ...]] = {}
            state = self._state
            for window in self.duty.year_windows(current):
                if window.rotation != self.rotation.id or window.turn_key < self.anchor_key:
                    continue
                if window.turn_key != state.key:
                    epoch = self._epoch_of(window.turn_key)
                    if epoch != state.epoch:
                        state.epoch, state.position = epoch, 0
                        staying = set(self.epochs[epoch].cycle)
                        state.debts = {
                            pair: n
                            for pair, n in state.debts.items()
                            if pair[0] in staying and pair[1] in staying
                        }
                    else:
                        state.position += 1
                    state.key = window.turn_key
                dealt[(window.day, window.index)] = self._deal(window, state)
            self._dealt[current] = dealt
            self._debts_after[current] = dict(state.debts)
            self._done = current

    def _deal(self, window: Window, state: _State) -> tuple[str, ...]:
        epoch = self.epochs[state.epoch]
        cycle = epoch.cycle
        if not cycle:
            return ()
        size, place = len(cycle), state.position % len(cycle)
        day, debts = window.day, state.debts
        due = cycle[place]
        # The other offices in cycle order after the due place, each once.
        after: list[str] = []
        for step in range(1, size):
            office = cycle[(place + step) % size]
            if office != due and office not in after:
                after.append(office)
        able = [o for o in after if self.can_take(epoch, o, day)]
        if self.can_take(epoch, due, day):
            payer = next((o for o in able if debts.get((o, due), 0) > 0), None)
            lead = due
            if payer is not None:
                _settle(debts, payer, due)
                lead = payer
        elif able:
            lead = able[0]
            if debts.get((lead, due), 0) > 0:
                _settle(debts, lead, due)  # it owed the due office: taking its window pays
            else:
                debts[(due, lead)] = debts.get((due, lead), 0) + 1
        else:
            lead = due  # nobody can take it: the due office keeps it, nobody owes
        if self.rotation.together == 1:
            return (lead,)
        due_can = [due] if self.can_take(epoch, due, day) else []
        companions = [o for o in [*due_can, *able] if o != lead]
        return (lead, *companions[: self.rotation.together - 1])

    def _before_anchor(self, window: Window) -> tuple[str, ...]:
        epoch = self.epochs[0]
        cycle = epoch.cycle
        if not cycle:
            return ()
        size = len(cycle)
        index = self.duty.index_of(window.turn_key, self.rotation)
        order: list[str] = []
        for step in range(size):
            office = cycle[(index + step) % size]
            if office not in order:
                order.append(office)
        able = [o for o in order if self.can_take(epoch, o, window.day)]
        chosen = able or order[:1]
        return tuple(chosen[: self.rotation.together])


def _settle(debts: Debts, debtor: str, creditor: str) -> None:
    """One window of ``debtor``'s debt to ``creditor`` is paid."""
    left = debts[(debtor, creditor)] - 1
    if left:
        debts[(debtor, creditor)] = left
    else:
        del debts[(debtor, creditor)]
