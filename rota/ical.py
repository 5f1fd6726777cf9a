"""iCalendar (RFC 5545) feeds of the shared duty: one per office, one for the destination.

Events carry UTC times, which calendar apps show in local time and which stay right across the
DST changes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from icalendar import Calendar, Event

from rota.schedule import Schedule

REASONS = {"shared_duty": "", "swap": " (swap)", "override": " (override)"}


def feed(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    office: str | None = None,
    stamp: datetime | None = None,
    title: str = "Permanence",
) -> bytes:
    """The duty between two instants, for one office or (``office=None``) for all of them."""
    calendar = Calendar()
    calendar.add("prodid", "-//Concierge//shared duty rota//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{title}: {office or 'all offices'}")
    names = {o.id: o.name or o.id for o in schedule.rota.offices}
    dtstamp = (stamp or start).astimezone(UTC)
    for seg in schedule.segments(start, end):
        if office is not None and office not in (seg.office, *seg.also):
            continue  # an office's feed has the duty it shares too
        event = Event()
        uid = hashlib.sha256(f"{seg.office}|{seg.start.isoformat()}".encode()).hexdigest()[:32]
        event.add("uid", f"{uid}@concierge")
        event.add("dtstamp", dtstamp)
        event.add("dtstart", seg.start.astimezone(UTC))
        event.add("dtend", seg.end.astimezone(UTC))
        on_duty = " + ".join(names.get(o, o) for o in (seg.office, *seg.also))
        event.add("summary", f"{title}: {on_duty}{REASONS.get(seg.reason, '')}")
        event.add("categories", [seg.reason])
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data


def parse_events(data: bytes) -> list[tuple[datetime, datetime, str]]:
    """(start, end, summary) of each event of a feed, as aware UTC instants."""
    calendar = Calendar.from_ical(data)
    events = []
    for component in calendar.walk("VEVENT"):
        start = component.decoded("dtstart")
        end = component.decoded("dtend")
        events.append((start.astimezone(UTC), end.astimezone(UTC), str(component.get("summary"))))
    return events
