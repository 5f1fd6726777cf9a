from datetime import UTC, datetime

from icalendar import Calendar

from rota import Rota, Schedule, feed


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_spring_forward_weekend_as_icalendar(demo_rota: Rota) -> None:
    schedule = Schedule(demo_rota)
    data = feed(schedule, utc(2026, 3, 27), utc(2026, 3, 30), stamp=utc(2026, 3, 1))
    calendar = Calendar.from_ical(data)
    assert str(calendar["version"]) == "2.0" and "Concierge" in str(calendar["prodid"])
    events = [
        (e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"]), str(e["uid"]))
        for e in calendar.walk("VEVENT")
    ]
    # Week 11 → les-salines: Friday 17–22 CET, Saturday 12–22 CET, Sunday 10–22 CEST.
    title = "Permanence: Office de Tourisme des Salines"
    assert [(a, b, s) for a, b, s, _ in events] == [
        (utc(2026, 3, 27, 16, 0), utc(2026, 3, 27, 21, 0), title),
        (utc(2026, 3, 28, 11, 0), utc(2026, 3, 28, 21, 0), title),
        (utc(2026, 3, 29, 8, 0), utc(2026, 3, 29, 20, 0), title),
    ]
    assert len({uid for *_, uid in events}) == 3
    assert b"DTSTART:20260329T080000Z" in data  # UTC: right in every calendar, either side of DST
    for start, end, _, _ in events:
        answer = schedule.on_duty(start)
        assert (answer.office, answer.valid_until) == ("les-salines", end)


def test_one_feed_per_office_and_one_for_the_destination(demo_rota: Rota) -> None:
    schedule = Schedule(demo_rota)
    start, end = utc(2026, 10, 1), utc(2026, 11, 1)  # the fall-back night included

    def spans(office: str | None) -> set[tuple[datetime, datetime]]:
        calendar = Calendar.from_ical(feed(schedule, start, end, office=office))
        return {(e.decoded("dtstart"), e.decoded("dtend")) for e in calendar.walk("VEVENT")}

    per_office = {o.id: spans(o.id) for o in demo_rota.offices}
    assert all(per_office.values())
    assert set().union(*per_office.values()) == spans(None)
    for office, office_spans in per_office.items():
        for a, b in office_spans:
            assert schedule.on_duty(a).office == office
            assert (b - a).total_seconds() in (5 * 3600, 10 * 3600, 12 * 3600)  # real hours
