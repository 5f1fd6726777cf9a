"""Loop detection, the automatic-reply rate limit, quote offsets and outgoing mail headers."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import pytest

from connectors.base import Author, Channel, MessageKind, OutboundMessage
from connectors.email.compose import auto_reply, build_reply, reply_subject
from connectors.email.config import MailboxConfig
from connectors.email.noise import AutoReplyLimiter, classify, may_auto_reply
from connectors.email.parse import parse_message
from connectors.email.quotes import split_reply

from .conftest import CORPUS, mail

NOW = datetime(2026, 7, 21, 9, 0, tzinfo=UTC)


def kind_of(raw: bytes) -> MessageKind:
    return parse_message(raw, account="a", now=NOW).kind


@pytest.mark.parametrize(
    ("extra", "sender", "expected"),
    [
        ("Auto-Submitted: auto-replied", "v@x.org", MessageKind.AUTO_REPLY),
        ("Auto-Submitted: auto-generated", "v@x.org", MessageKind.AUTO_REPLY),
        ("Auto-Submitted: no", "v@x.org", MessageKind.NORMAL),
        ("Precedence: bulk", "v@x.org", MessageKind.LIST),
        ("Precedence: junk", "v@x.org", MessageKind.LIST),
        ("List-Id: <news.x.org>", "v@x.org", MessageKind.LIST),
        ("Return-Path: <>", "v@x.org", MessageKind.AUTO_REPLY),
        ("X-Mailer: x", "MAILER-DAEMON@x.org", MessageKind.BOUNCE),
        ("X-Mailer: x", "postmaster@x.org", MessageKind.BOUNCE),
        ("X-Mailer: x", "v@x.org", MessageKind.NORMAL),
    ],
)
def test_loop_and_noise_headers(extra: str, sender: str, expected: MessageKind) -> None:
    assert kind_of(mail(sender=sender, extra=extra)) is expected


def test_corpus_auto_replies_and_reports_never_get_an_auto_reply() -> None:
    for name in ("complaints_aol.eml", "complaints_yahoo.eml", "disposition-notification.eml"):
        raw = (CORPUS / "flanker" / name).read_bytes()
        assert not may_auto_reply(kind_of(raw)), name


def test_classify_survives_broken_headers() -> None:
    message = email.message_from_bytes(
        b"From: <<<@@@>>>\r\nContent-Type: multipart/report; report-type=\r\n\r\nx",
        policy=policy.default,
    )
    assert classify(message, "") in set(MessageKind)


def test_rate_limiter_one_auto_reply_per_sender_per_window() -> None:
    limiter = AutoReplyLimiter(window=timedelta(hours=1), capacity=2)
    assert limiter.allow("A@x.org", NOW)
    assert not limiter.allow("a@x.org", NOW + timedelta(minutes=59))
    assert limiter.allow("a@x.org", NOW + timedelta(hours=1))
    assert limiter.allow("b@x.org", NOW)
    assert limiter.allow("c@x.org", NOW)  # capacity 2: the oldest sender is forgotten
    assert not limiter.allow("", NOW)
    with pytest.raises(ValueError, match="aware"):
        limiter.allow("d@x.org", datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    ("text", "new"),
    [
        ("Merci !\n\nLe mar. 21 juil. 2026 à 10:00, Bay <a@b> a écrit :\n> Bonjour", "Merci !"),
        ("Yes.\n\n-----Original Message-----\nFrom: x\nTo: y\nSubject: z\n\nold", "Yes."),
        ("Ok\n\nFrom: Bay Office\nSent: Monday\nTo: me\nSubject: Re: x\n\nold", "Ok"),
        ("Thanks\n-- \nJane\n+33 1 23", "Thanks"),
        ("> old question\n> more\n\nmy answer", "my answer"),  # bottom-posting moved first
        ("no quote at all", "no quote at all"),
    ],
)
def test_quote_and_signature_detection(text: str, new: str) -> None:
    assert split_reply(text).new_part == new


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("Is the ferry running?\n-- \nJane Doe\n+33 1 23", "Is the ferry running?"),
        ("Is the ferry running?\n--\nJane Doe", "Is the ferry running?"),
        ("Is the ferry running?\n\nEnvoyé de mon iPhone", "Is the ferry running?"),
        ("Is the ferry running?\n\nSent from my Galaxy", "Is the ferry running?"),
        ("Is the ferry running?\n\nGet Outlook for Android", "Is the ferry running?"),
        (
            "Is the ferry running?\n\nCordialement,\nJane",
            "Is the ferry running?\n\nCordialement,\nJane",
        ),
        (
            "Is the ferry running?\n\nSent from my iPhone\n\nOn Mon, Bay <b@x> wrote:\n> hi",
            "Is the ferry running?",
        ),
    ],
)
def test_signatures_are_folded_by_the_app_through_quote_start(body: str, shown: str) -> None:
    # The app folds from metadata["quote_start"]: quoted history or a signature, the first.
    message = parse_message(mail(body=body), account="a", now=NOW)
    fold = int(message.metadata.get("quote_start", len(message.text)))
    assert message.text[:fold].strip() == shown
    assert message.text.startswith(shown)


def test_bottom_posted_reply_keeps_the_quote_after() -> None:
    reply = split_reply("> old question\n\nmy answer")
    assert reply.text.startswith("my answer")
    assert reply.quote_start is not None
    assert reply.text[reply.quote_start :].startswith("> old question")


CONFIG = MailboxConfig(
    account="office-bay",
    address="hello@bay.example",
    display_name="Bay Office",
    imap_host="imap.example",
    imap_user="u",
    imap_password="imap-secret",
    smtp_host="smtp.example",
    smtp_password="smtp-secret",
)


def outbound(**overrides: object) -> OutboundMessage:
    values: dict[str, object] = {
        "channel": Channel.EMAIL,
        "account": "office-bay",
        "conversation_id": 1,
        "message_id": 2,
        "thread_key": "m1@example.org",
        "recipient": Author("visitor@example.org", name="Visitor", handle="visitor@example.org"),
        "text": "The first ferry leaves at 7:10.\n\n<b>Have a nice trip</b>",
        "subject": "Re: RE: Ferry times",
        "reply_to_external_id": "m2@example.org",
        "references": ("m1@example.org", "token:C1"),
    }
    values.update(overrides)
    return OutboundMessage(**values)  # type: ignore[arg-type]


def test_reply_headers() -> None:
    mail_ = build_reply(CONFIG, outbound(metadata={"token": "C123"}))
    assert mail_["From"] == "Bay Office <hello@bay.example>"
    assert mail_["To"] == "Visitor <visitor@example.org>"
    assert mail_["Subject"] == "Re: Ferry times [#C123]"
    assert mail_["In-Reply-To"] == "<m2@example.org>"
    assert mail_["References"] == "<m1@example.org> <m2@example.org>"
    assert mail_["Message-ID"].endswith("@bay.example>")
    assert mail_["Auto-Submitted"] is None
    html = mail_.get_body(("html",))
    assert html is not None and "&lt;b&gt;Have a nice trip&lt;/b&gt;" in html.get_content()
    assert mail_.get_body(("plain",)).get_content().startswith("The first ferry")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Ferry", "Re: Ferry"),
        ("Re: Ferry", "Re: Ferry"),
        ("RE: Re: AW: Ferry", "Re: Ferry"),
        ("Re: Ferry [#C123]", "Re: Ferry [#C123]"),
        ("", "Re: Your message"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    token = "C123" if "#C123" in subject else ""
    assert reply_subject(subject, token) == expected


def test_header_injection_is_neutralised() -> None:
    evil = outbound(
        subject="Hi\r\nBcc: victim@example.org",
        recipient=Author("v@example.org", name="Eve\r\nBcc: x@y.org", handle="v@example.org"),
    )
    raw = build_reply(CONFIG, evil).as_bytes()
    headers = raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers
    assert b"Subject: Re: Hi Bcc: victim@example.org" in headers
    with pytest.raises(ValueError, match="address"):
        build_reply(CONFIG, outbound(recipient=Author("x", handle="a@b.org\r\nBcc: c@d.org")))


def test_auto_reply_marks_itself_and_skips_noise() -> None:
    inbound = parse_message(mail(), account="office-bay", now=NOW)
    message = auto_reply(inbound, "We answer from 9:00.", token="C9")
    assert message is not None
    built = build_reply(CONFIG, message)
    assert built["Auto-Submitted"] == "auto-replied"
    assert built["In-Reply-To"] == "<m1@example.org>"
    assert built["Subject"] == "Re: Ferry times [#C9]"
    bounce = parse_message(mail(sender="MAILER-DAEMON@x.org"), account="a", now=NOW)
    assert auto_reply(bounce, "x") is None


def test_secrets_never_show() -> None:
    shown = repr(CONFIG) + str(CONFIG) + str(CONFIG.model_dump())
    assert "imap-secret" not in shown and "smtp-secret" not in shown
