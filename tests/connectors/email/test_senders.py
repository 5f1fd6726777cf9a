"""Who wrote a mail (From, Sender, Reply-To), robots, mails without a usable address, and the
fingerprint that tells two mails sharing a Message-ID apart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import InboundMessage, MessageKind
from connectors.email.noise import may_auto_reply
from connectors.email.parse import parse_message

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 7, 21, 9, 0, tzinfo=UTC)


def parse(raw: bytes) -> InboundMessage:
    return parse_message(raw, account="office-bay", now=NOW)


def mail(headers: str, body: str = "Is the museum open on Monday?") -> bytes:
    return (headers.strip().replace("\n", "\r\n") + "\r\n\r\n" + body + "\r\n").encode()


@pytest.mark.parametrize(
    "no_reply",
    [
        "no-reply@bay.example",
        "noreply@forms.example",
        "NoReply-12@bay.example",
        "donotreply@bay.example",
        "do-not-reply@bay.example",
        "ne-pas-repondre@bay.example",
        "nepasrepondre@bay.example",
        "wordpress@bay.example",
        "forms@bay.example",
        "mailer@bay.example",
        "site-noreply@bay.example",
    ],
)
def test_a_no_reply_sender_with_reply_to_is_the_reply_to_person(no_reply: str) -> None:
    raw = mail(
        f"From: Web site <{no_reply}>\nReply-To: =?utf-8?q?Zo=C3=A9?= <zoe@example.net>\n"
        "Message-ID: <w@x>"
    )
    message = parse(raw)
    assert message.author.external_id == "zoe@example.net"
    assert message.author.handle == "zoe@example.net"
    assert message.author.name == "Zoé"
    assert message.details["via"] == no_reply
    assert message.details["reply_to"] == "zoe@example.net"


def test_webform_fixture() -> None:
    message = parse((FIXTURES / "webform-noreply.eml").read_bytes())
    assert message.author.external_id == "zoe.martin@example.net"
    assert message.author.name == "Zoé Martin"
    assert message.details["via"] == "ne-pas-repondre@bay.example"
    assert message.kind is MessageKind.NORMAL


def test_a_person_with_a_different_reply_to_stays_the_author() -> None:
    raw = mail("From: Ana <ana@example.org>\nReply-To: ana.work@example.com\nMessage-ID: <r@x>")
    message = parse(raw)
    assert message.author.external_id == "ana@example.org"
    assert message.details["reply_to"] == "ana.work@example.com"
    assert "via" not in message.details


def test_a_reply_to_equal_to_from_is_not_repeated() -> None:
    raw = mail("From: Ana <Ana@Example.org>\nReply-To: ana@example.org\nMessage-ID: <r@x>")
    assert "reply_to" not in parse(raw).details


def test_a_no_reply_sender_without_reply_to_is_never_answered_automatically() -> None:
    message = parse(mail("From: no-reply@bay.example\nMessage-ID: <n@x>"))
    assert message.author.external_id == "no-reply@bay.example"
    assert message.metadata["auto_reply"] == "no"


@pytest.mark.parametrize(
    ("from_header", "name", "address"),
    [
        ("bbb@ddd.com (John Doe)", "John Doe", "bbb@ddd.com"),
        ('"Doe, John" <j@example.org>', "Doe, John", "j@example.org"),
        ("=?utf-8?b?w4lsb8Ovc2U=?= <e@example.org>", "Éloïse", "e@example.org"),
        ("=?iso-8859-1?q?Fran=E7ois?= <f@example.org>", "François", "f@example.org"),
        ("<plain@example.org>", "", "plain@example.org"),
    ],
)
def test_names_are_kept_in_every_form(from_header: str, name: str, address: str) -> None:
    message = parse(mail(f"From: {from_header}\nMessage-ID: <a@x>"))
    assert (message.author.name, message.author.handle) == (name, address)
    assert message.author.external_id == address.lower()


def test_recipients_are_strings() -> None:
    raw = mail("From: a@example.org\nTo: B <b@example.org>, c@example.org\nCc: d@example.org")
    details = parse(raw).details
    assert details["to"] == "b@example.org, c@example.org"
    assert details["cc"] == "d@example.org"


@pytest.mark.parametrize(
    "headers",
    [
        "Subject: no from at all",
        "From: undisclosed-recipients:;",
        "From: Marie",
        "From: <>",
        "From: MAILER-DAEMON <>",
        "From: @@@",
    ],
)
def test_a_mail_without_a_usable_address_gets_a_contact_of_its_own(headers: str) -> None:
    first = parse(mail(headers + "\nMessage-ID: <one@x>", "First sender."))
    second = parse(mail(headers + "\nMessage-ID: <two@x>", "Second sender."))
    assert first.author.external_id.startswith("unknown:")
    assert first.author.external_id != second.author.external_id
    assert (
        first.author.external_id
        == parse(mail(headers + "\nMessage-ID: <one@x>", "First sender.")).author.external_id
    )
    assert first.author.handle == ""


def test_a_mail_without_address_shows_what_from_said() -> None:
    assert parse(mail("From: Marie Dupont\nMessage-ID: <m@x>")).author.name == "Marie Dupont"
    assert parse(mail("From: MAILER-DAEMON <>\nMessage-ID: <m@x>")).author.name == "MAILER-DAEMON"


def test_sender_or_reply_to_are_used_when_from_has_no_address() -> None:
    message = parse(mail("From: Marie\nSender: marie@example.org\nMessage-ID: <s@x>"))
    assert message.author.external_id == "marie@example.org"


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("From: MAILER-DAEMON <>", MessageKind.BOUNCE),
        ("From: <>\nSubject: Undelivered Mail Returned to Sender", MessageKind.BOUNCE),
        ("From: Mail Delivery System <MAILER-DAEMON@mx.example>", MessageKind.BOUNCE),
        ("From: postmaster@mx.example", MessageKind.BOUNCE),
        ("From: walkers-request@lists.example.org", MessageKind.LIST),
        ("From: walkers-bounces@lists.example.org", MessageKind.LIST),
        ("From: walkers-bounces+visitor=bay.example@lists.example.org", MessageKind.LIST),
        ("From: walkers-bounce@lists.example.org", MessageKind.LIST),
        ("From: owner-walkers@lists.example.org", MessageKind.LIST),
        ("From: walkers-owner@lists.example.org", MessageKind.LIST),
        ("From: a@example.org\nPrecedence: list", MessageKind.LIST),
        ("From: a@example.org\nPrecedence: bulk", MessageKind.LIST),
        ("From: a@example.org\nPrecedence: junk", MessageKind.LIST),
        ("From: a@example.org\nAuto-Submitted: auto-replied", MessageKind.AUTO_REPLY),
        ("From: a@example.org\nX-Autoreply: yes", MessageKind.AUTO_REPLY),
        ("From: a@example.org\nX-Autorespond: yes", MessageKind.AUTO_REPLY),
        ("From: a@example.org\nX-Auto-Response-Suppress: All", MessageKind.AUTO_REPLY),
        ("From: a@example.org\nX-Auto-Response-Suppress: OOF", MessageKind.AUTO_REPLY),
        (
            "From: a@example.org\nX-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
            MessageKind.AUTO_REPLY,
        ),
        ("From: a@example.org\nSubject: Automatic reply: Ferry", MessageKind.AUTO_REPLY),
        ("From: a@example.org\nSubject: Réponse automatique : absent", MessageKind.AUTO_REPLY),
        ("From: a@example.org\nSubject: Out of office hours, is anyone there?", MessageKind.NORMAL),
        ("From: owner@example.org", MessageKind.NORMAL),
        ("From: marie.request@example.org", MessageKind.NORMAL),
    ],
)
def test_robots_are_recognised(headers: str, kind: MessageKind) -> None:
    message = parse(mail(headers + "\nMessage-ID: <k@x>"))
    assert message.kind is kind
    assert may_auto_reply(message.kind) is (kind is MessageKind.NORMAL)


def test_robot_fixtures() -> None:
    assert parse((FIXTURES / "mailer-daemon.eml").read_bytes()).kind is MessageKind.BOUNCE
    assert parse((FIXTURES / "list-no-list-headers.eml").read_bytes()).kind is MessageKind.LIST


def test_a_mail_without_message_id_is_never_answered_automatically() -> None:
    message = parse(mail("From: a@example.org\nSubject: hi"))
    assert message.metadata["auto_reply"] == "no"
    assert message.details["no_message_id"] is True
    with_id = parse(mail("From: a@example.org\nSubject: hi\nMessage-ID: <i@x>"))
    assert "auto_reply" not in with_id.metadata
    assert "no_message_id" not in with_id.details


def test_fingerprint_is_stable_and_blind_to_transport_details() -> None:
    raw = mail("From: Ana <ana@example.org>\nMessage-ID: <dup@x>", "Line one  \r\nLine two")
    lf = raw.replace(b"\r\n", b"\n")
    qp = raw.replace(
        b"\r\n\r\nLine", b"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nLine", 1
    )
    prints = {parse(r).metadata["fingerprint"] for r in (raw, raw, lf, qp)}
    assert len(prints) == 1
    [value] = prints
    assert len(value) == 64 and int(value, 16) >= 0


def test_fingerprint_differs_by_sender_or_body() -> None:
    base = parse(mail("From: ana@example.org\nMessage-ID: <dup@x>", "Hello")).metadata
    other_body = parse(mail("From: ana@example.org\nMessage-ID: <dup@x>", "Bye")).metadata
    other_sender = parse(mail("From: bob@example.org\nMessage-ID: <dup@x>", "Hello")).metadata
    same_case = parse(mail("From: ANA@example.org\nMessage-ID: <dup@x>", "Hello")).metadata
    assert base["fingerprint"] != other_body["fingerprint"]
    assert base["fingerprint"] != other_sender["fingerprint"]
    assert base["fingerprint"] == same_case["fingerprint"]
