from datetime import UTC, datetime

from rota.intervals import Segment, merge, merge_spans, paint, subtract


def h(hour: int) -> datetime:
    return datetime(2026, 6, 1, hour, tzinfo=UTC)


def seg(start: int, end: int, office: str, reason: str = "shared_duty") -> Segment:
    return Segment(h(start), h(end), office, reason)


def test_paint_replaces_what_it_covers_and_keeps_the_rest() -> None:
    segments = [seg(1, 3, "a"), seg(4, 6, "b"), seg(7, 9, "c")]
    starts = [s.start for s in segments]
    paint(segments, starts, h(2), h(8), seg(2, 8, "x", "override"))
    assert segments == [seg(1, 2, "a"), seg(2, 8, "x", "override"), seg(8, 9, "c")]
    assert starts == [h(1), h(2), h(8)]
    paint(segments, starts, h(5), h(6), None)  # a "closed" override cuts a hole
    assert segments == [
        seg(1, 2, "a"),
        seg(2, 5, "x", "override"),
        seg(6, 8, "x", "override"),
        seg(8, 9, "c"),
    ]
    assert starts == [s.start for s in segments]


def test_merge_joins_touching_segments_of_the_same_office_and_reason_only() -> None:
    assert merge([seg(1, 2, "a"), seg(2, 3, "a"), seg(3, 4, "a", "swap"), seg(5, 5, "b")]) == [
        seg(1, 3, "a"),
        seg(3, 4, "a", "swap"),
    ]
    assert merge_spans([(h(1), h(3)), (h(2), h(4)), (h(4), h(5)), (h(6), h(7))]) == [
        (h(1), h(5)),
        (h(6), h(7)),
    ]


def test_subtract() -> None:
    wanted = [(h(1), h(5)), (h(6), h(9))]
    covered = [(h(0), h(2)), (h(3), h(4)), (h(7), h(8))]
    assert subtract(wanted, covered) == [(h(2), h(3)), (h(4), h(5)), (h(6), h(7)), (h(8), h(9))]
    assert subtract(wanted, []) == wanted
    assert subtract(wanted, [(h(0), h(10))]) == []
