"""Forwarded mails (message/rfc822 and inline): who, when, what, and where their text starts."""

from __future__ import annotations

import base64
import quopri
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.base import InboundMessage
from connectors.email.parse import parse_message

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 7, 21, 9, 0, tzinfo=UTC)


def parse(raw: bytes) -> InboundMessage:
    return parse_message(raw, account="office-bay", now=NOW)


def plain(body: str, subject: str = "Fwd: Opening hours") -> bytes:
    return (
        f"From: Tom <tom@example.org>\r\nTo: hello@bay.example\r\nSubject: {subject}\r\n"
        "Message-ID: <f@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
    ).encode()


def forwards(message: InboundMessage) -> list[dict[str, Any]]:
    return list(message.details.get("forwarded", []))


def fold(message: InboundMessage) -> int:
    return int(message.metadata.get("quote_start", len(message.text)))


def test_message_rfc822_gives_sender_date_subject_and_its_text_at_the_offset() -> None:
    message = parse((FIXTURES / "nested-rfc822.eml").read_bytes())
    [forward] = forwards(message)
    assert forward == {
        "at": forward["at"],
        "from": "Ferry Line <booking@ferry.example>",
        "date": "Mon, 20 Jul 2026 18:30:00 +0000",
        "subject": "Your booking 4411",
    }
    assert message.text.startswith("See the confirmation below, is it right?\n\n")
    assert message.text[forward["at"] :].startswith("Booking 4411: 2 adults, Saturday 08:15.")
    assert fold(message) > forward["at"]  # the forwarded text itself is never folded away
    assert message.html is None  # the forwarded mail's HTML is not the outer mail's


BODY = "We open at 10:00 every day except Monday."
INLINE = [
    (
        "---------- Forwarded message ---------\nFrom: Museum <info@museum.example>\n"
        "Date: Mon, 20 Jul 2026 at 09:12\nSubject: Opening hours\nTo: <tom@example.org>\n\n\n",
        ("Museum <info@museum.example>", "Mon, 20 Jul 2026 at 09:12", "Opening hours"),
    ),
    (
        "Begin forwarded message:\n\nFrom: Museum <info@museum.example>\n"
        "Subject: Opening hours\nDate: 20 July 2026 at 09:12:00 CEST\nTo: tom@example.org\n\n",
        ("Museum <info@museum.example>", "20 July 2026 at 09:12:00 CEST", "Opening hours"),
    ),
    (
        "-------- Message transféré --------\nSujet : Horaires\nDate : Mon, 20 Jul 2026\n"
        "De : Musée <info@museum.example>\nPour : tom@example.org\n\n",
        ("Musée <info@museum.example>", "Mon, 20 Jul 2026", "Horaires"),
    ),
    (
        "Début du message réexpédié :\n\nDe: Musée <info@museum.example>\nObjet: Horaires\n"
        "Date: 20 juillet 2026 à 09:12:00 UTC+2\nÀ: tom@example.org\n\n",
        ("Musée <info@museum.example>", "20 juillet 2026 à 09:12:00 UTC+2", "Horaires"),
    ),
    (
        "-----Original Message-----\nFrom: Museum [mailto:info@museum.example]\n"
        "Sent: Monday, July 20, 2026 9:12 AM\nTo: Tom\nSubject: Opening hours\n\n",
        ("Museum [mailto:info@museum.example]", "Monday, July 20, 2026 9:12 AM", "Opening hours"),
    ),
    (
        "________________________________\nDe : Musée <info@museum.example>\n"
        "Envoyé : lundi 20 juillet 2026 09:12\nÀ : Tom\nObjet : Horaires\n\n",
        ("Musée <info@museum.example>", "lundi 20 juillet 2026 09:12", "Horaires"),
    ),
    (
        "From: Museum <info@museum.example>\nSent: Monday, July 20, 2026 9:12 AM\n"
        "To: Tom\nSubject: Opening hours\n\n",
        ("Museum <info@museum.example>", "Monday, July 20, 2026 9:12 AM", "Opening hours"),
    ),
]


@pytest.mark.parametrize(("block", "expected"), INLINE, ids=range(len(INLINE)))
@pytest.mark.parametrize("subject", ["Fwd: Opening hours", "TR: Horaires", "WG: x", "Fw: x"])
def test_inline_forwards_are_found_and_not_folded(
    block: str, expected: tuple[str, str, str], subject: str
) -> None:
    message = parse(plain("Can you confirm this?\n\n" + block + BODY + "\n", subject))
    [forward] = forwards(message)
    assert (forward["from"], forward["date"], forward["subject"]) == expected
    assert message.text[forward["at"] :].startswith(block.split("\n")[0])
    assert BODY in message.text[: fold(message)]  # the forwarded words stay in view


def test_an_outlook_reply_is_quoted_history_not_a_forward() -> None:
    block = INLINE[4][0]
    message = parse(plain("Yes, thanks.\n\n" + block + "old question\n", "RE: Opening hours"))
    assert forwards(message) == []
    assert message.text[: fold(message)].strip() == "Yes, thanks."


def test_a_forward_with_nothing_before_it_starts_at_zero() -> None:
    message = parse(plain(INLINE[0][0] + BODY))
    assert [f["at"] for f in forwards(message)] == [0]
    assert BODY in message.text[: fold(message)]


def test_a_signature_before_the_forward_does_not_hide_it() -> None:
    body = "FYI\n-- \nTom\n\n" + INLINE[0][0] + BODY + "\n"
    message = parse(plain(body))
    assert BODY in message.text[: fold(message)]


def test_quoted_forward_markers_are_history_not_forwards() -> None:
    body = "Thanks!\n\nOn Mon, Tom wrote:\n> ---------- Forwarded message ---------\n> From: x\n"
    message = parse(plain(body, "Re: x"))
    assert forwards(message) == []
    assert message.text[: fold(message)].strip() == "Thanks!"


def test_two_forwards_in_one_mail_are_listed_in_order() -> None:
    body = "Both of these:\n\n" + INLINE[0][0] + "First.\n\n" + INLINE[1][0] + "Second.\n"
    message = parse(plain(body))
    found = forwards(message)
    assert len(found) == 2 and found[0]["at"] < found[1]["at"]
    assert message.text[found[1]["at"] :].startswith("Begin forwarded message:")
    assert "Second." in message.text[: fold(message)]


def test_fixtures_with_forwards() -> None:
    gmail = parse((FIXTURES / "gmail-inline-forward.eml").read_bytes())
    [forward] = forwards(gmail)
    assert forward["subject"] == "Opening hours"
    assert "We open at 10:00" in gmail.text[: fold(gmail)]
    outlook = parse((FIXTURES / "outlook-fr-forward.eml").read_bytes())
    [forward] = forwards(outlook)
    assert forward["from"] == "Gîte des Pins <contact@gite.example>"
    assert forward["subject"] == "Réservation gîte"
    assert "est confirmée" in outlook.text[: fold(outlook)]


def test_an_html_forward_is_found_in_the_rendered_text() -> None:
    html = (
        "<div>See below</div><div><br>---------- Forwarded message ---------<br>"
        "From: <b>Museum</b> &lt;info@museum.example&gt;<br>Date: Mon, 20 Jul 2026<br>"
        "Subject: Opening hours<br><br><p>" + BODY + "</p></div>"
    )
    raw = (
        "From: tom@example.org\r\nSubject: Fwd: Opening hours\r\nMessage-ID: <h@x>\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()
    message = parse(raw)
    [forward] = forwards(message)
    assert forward["from"] == "Museum <info@museum.example>"
    assert message.text[forward["at"] :].startswith("---------- Forwarded message")
    assert BODY in message.text[: fold(message)]


@pytest.mark.parametrize("encoding", ["7bit", "base64", "quoted-printable"])
def test_an_encoded_message_rfc822_is_still_a_forwarded_mail(encoding: str) -> None:
    inner = (
        "From: Ferry <f@ferry.example>\r\nSubject: Réservation\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nVotre siège est 12A.\r\n"
    ).encode()
    body = {
        "7bit": inner,
        "base64": base64.encodebytes(inner),
        "quoted-printable": quopri.encodestring(inner),
    }[encoding]
    raw = (
        b"From: a@example.org\r\nMessage-ID: <r@x>\r\nSubject: Fwd: x\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"See below\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; "
        b"filename=fwd.eml\r\nContent-Transfer-Encoding: "
        + encoding.encode()
        + b"\r\n\r\n"
        + body
        + b"\r\n--b--\r\n"
    )
    message = parse(raw)
    assert message.text == "See below\n\nVotre siège est 12A."
    assert forwards(message) == [
        {"at": 11, "from": "Ferry <f@ferry.example>", "date": "", "subject": "Réservation"}
    ]
    assert message.attachments == ()  # the wrapper is no file


def test_a_forward_inside_a_forward_is_listed_twice() -> None:
    innermost = "From: c@example.org\r\nSubject: First\r\n\r\nOriginal words."
    middle = (
        "From: b@example.org\r\nSubject: Fwd: First\r\nContent-Type: multipart/mixed; "
        "boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nFYI\r\n--m\r\n"
        f"Content-Type: message/rfc822\r\n\r\n{innermost}\r\n--m--"
    )
    raw = (
        "From: a@example.org\r\nMessage-ID: <ff@x>\r\nSubject: Fwd: Fwd: First\r\n"
        "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\n"
        f"Look\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n{middle}\r\n--o--\r\n"
    ).encode()
    message = parse(raw)
    assert message.text == "Look\n\nFYI\n\nOriginal words."
    found = forwards(message)
    assert [(f["from"], f["subject"]) for f in found] == [
        ("b@example.org", "Fwd: First"),
        ("c@example.org", "First"),
    ]
    assert [message.text[f["at"] :].split("\n")[0] for f in found] == ["FYI", "Original words."]


def test_a_forward_inside_the_quoted_history_of_a_reply_is_history() -> None:
    body = (
        "Thank you, that answers it.\n\n"
        "From: Bay Office <hello@bay.example>\nSent: Tuesday, July 21, 2026 10:00\n"
        "To: Tom\nSubject: RE: Opening hours\n\nYes, it is right.\n\n" + INLINE[0][0] + BODY
    )
    message = parse(plain(body, "RE: Opening hours"))
    assert forwards(message) == []
    assert message.text[: fold(message)].strip() == "Thank you, that answers it."


def test_a_forward_with_a_subject_of_its_own_is_still_a_forward() -> None:
    message = parse(plain("Look at this:\n\n" + INLINE[0][0] + BODY, "Question on hours"))
    [forward] = forwards(message)
    assert BODY in message.text[: fold(message)]
    assert message.text[forward["at"] :].startswith("---------- Forwarded message")


@pytest.mark.parametrize("body", [b"\xe9t\xe9 \xff\xfe", b"From: \xe9\r\n\r\n\xe9t\xe9", b""])
def test_a_forwarded_part_that_is_not_what_its_encoding_says_never_stops_the_mail(
    body: bytes,
) -> None:
    raw = (
        b"From: a@example.org\r\nMessage-ID: <bad@x>\r\nSubject: Fwd: x\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"See below\r\n--b\r\nContent-Type: message/rfc822\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body + b"\r\n--b--\r\n"
    )
    message = parse(raw)
    assert message.text.startswith("See below")
    assert message.attachments == ()
