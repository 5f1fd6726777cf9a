"""Sorted, non-overlapping UTC intervals: the shapes the schedule is compiled into."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from datetime import date, datetime

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Window:
    """One shared duty window as it occurs: a slot of the rota."""

    start: datetime
    end: datetime
    day: date  # the local date it belongs to
    slot: str  # weekday_evening | weekend_day | holiday
    turn_key: tuple[date, int]
    rotation: str | None = None  # the id of the rotation dealing it (None: no rotation does)
    index: int = 0  # its place among the windows of its local date


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time when one office has the shared duty, and why."""

    start: datetime
    end: datetime
    office: str  # the lead office: the one named first
    reason: str  # shared_duty | swap | override
    also: tuple[str, ...] = ()  # other offices on duty at the same time, sharing the load


def paint(
    segments: list[Segment],
    starts: list[datetime],
    start: datetime,
    end: datetime,
    new: Segment | None,
) -> None:
    """Replaces whatever covers [start, end) with ``new`` (or nothing), in place."""
    lo = max(bisect.bisect_right(starts, start) - 1, 0)
    hi = bisect.bisect_left(starts, end)
    replacement: list[Segment] = []
    for seg in segments[lo:hi]:
        if seg.end <= start or seg.start >= end:
            replacement.append(seg)
            continue
        if seg.start < start:
            replacement.append(replace(seg, end=start))
        if seg.end > end:
            replacement.append(replace(seg, start=end))
    if new is not None:
        replacement.append(new)
    replacement.sort(key=lambda s: s.start)
    segments[lo:hi] = replacement
    starts[lo:hi] = [s.start for s in replacement]


def merge(segments: list[Segment]) -> list[Segment]:
    """Drops empty segments and joins touching ones of the same office and reason."""
    merged: list[Segment] = []
    for seg in segments:
        if seg.end <= seg.start:
            continue
        last = merged[-1] if merged else None
        if (
            last
            and last.end == seg.start
            and (last.office, last.reason, last.also) == (seg.office, seg.reason, seg.also)
        ):
            merged[-1] = replace(last, end=seg.end)
        else:
            merged.append(seg)
    return merged


def merge_spans(spans: list[Span]) -> list[Span]:
    """Joins overlapping or touching spans of a list sorted by start."""
    merged: list[Span] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(spans: list[Span], covered: list[Span]) -> list[Span]:
    """The parts of ``spans`` that ``covered`` (sorted, non-overlapping) leaves uncovered."""
    left: list[Span] = []
    starts = [c[0] for c in covered]
    for start, end in spans:
        cursor = start
        i = max(bisect.bisect_right(starts, start) - 1, 0)
        while i < len(covered) and covered[i][0] < end:
            c_start, c_end = covered[i]
            if c_end > cursor:
                if c_start > cursor:
                    left.append((cursor, c_start))
                cursor = max(cursor, c_end)
            i += 1
        if cursor < end:
            left.append((cursor, end))
    return merge_spans(left)
