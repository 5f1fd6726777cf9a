"""Parsing real and hostile mail: quotes, threading, HTML, charsets, attachments, dates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import MessageKind
from connectors.email.parse import parse_message, synthetic_message_id

from .conftest import CORPUS, mail

NOW = datetime(2026, 7, 21, 9, 0, tzinfo=UTC)


def parse(raw: bytes, **kwargs: object) -> object:
    return parse_message(raw, account="office-bay", now=NOW, **kwargs)  # type: ignore[arg-type]


def new_part(message: object) -> str:
    text: str = message.text  # type: ignore[attr-defined]
    metadata = message.metadata  # type: ignore[attr-defined]
    end = min(int(metadata.get(k, len(text))) for k in ("quote_start", "signature_start"))
    return text[:end].strip()


TALON = sorted((CORPUS / "talon-replies").iterdir())


@pytest.mark.parametrize("path", TALON, ids=lambda p: p.name)
def test_talon_replies_new_part_is_hello(path: Path) -> None:
    message = parse(path.read_bytes())
    assert new_part(message) == "Hello"
    assert "Hello" in message.text  # type: ignore[attr-defined]
    if path.suffix == ".eml":
        assert message.author.external_id == message.author.external_id.lower()  # type: ignore[attr-defined]


def test_full_text_is_kept_with_the_quote_after_the_new_part() -> None:
    message = parse((CORPUS / "talon-replies" / "gmail.eml").read_bytes())
    start = int(message.metadata["quote_start"])  # type: ignore[attr-defined]
    assert message.text[start:].startswith("On Mon, Apr 2, 2012")  # type: ignore[attr-defined]
    assert "> Hi" in message.text  # type: ignore[attr-defined]


def test_threading_headers_and_token() -> None:
    raw = mail(
        "Re: Ferry times [#C123]",
        message_id="< m2@example.org >",
        extra="In-Reply-To: <a1@bay.example>\r\nReferences: <root@x> <mid@x>\r\n\t<a1@bay.example>",
    )
    message = parse(raw)
    assert message.external_id == "m2@example.org"  # type: ignore[attr-defined]
    assert message.thread_key == "m2@example.org"  # type: ignore[attr-defined]
    assert message.references == ("a1@bay.example", "mid@x", "root@x", "token:C123")  # type: ignore[attr-defined]
    assert message.author.external_id == "visitor@example.org"  # type: ignore[attr-defined]
    assert message.author.name == "Visitor"  # type: ignore[attr-defined]


def test_missing_message_id_and_date_fall_back_stably() -> None:
    raw = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
    internal = datetime(2026, 7, 20, 8, 0, tzinfo=UTC)
    first = parse(raw, received_at=internal)
    assert first.external_id == synthetic_message_id(raw) == parse(raw).external_id  # type: ignore[attr-defined]
    assert first.metadata["message_id_synthesised"] == "1"  # type: ignore[attr-defined]
    assert first.received_at == internal  # type: ignore[attr-defined]
    assert parse(raw).received_at == NOW  # type: ignore[attr-defined]


def test_a_date_far_in_the_future_is_not_trusted() -> None:
    raw = mail().replace(b"Tue, 21 Jul 2026", b"Tue, 21 Jul 2099")
    assert parse(raw).received_at == NOW  # type: ignore[attr-defined]


def test_html_only_mail_is_sanitised_and_rendered_as_text() -> None:
    html = (
        '<html><head><style>p{}</style><script>alert(1)</script></head><body onload="x()">'
        '<p>Bonjour <b>!</b></p><img src="https://tracker.example/p.gif" alt="logo">'
        '<a href="javascript:alert(2)">x</a><a href="https://bay.example">site</a>'
        "<blockquote><p>old question</p></blockquote></body></html>"
    )
    raw = (
        "From: a@example.org\r\nMessage-ID: <h@x>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()
    message = parse(raw)
    safe: str = message.html  # type: ignore[attr-defined]
    for bad in ("<script", "alert", "onload", "tracker.example", "javascript:", "<style"):
        assert bad not in safe
    assert 'href="https://bay.example"' in safe and "noopener" in safe
    assert message.text.startswith("Bonjour !")  # type: ignore[attr-defined]
    assert "> old question" in message.text  # type: ignore[attr-defined]
    assert "<" not in new_part(message)


@pytest.mark.parametrize(
    ("charset", "payload", "expected"),
    [
        ("iso-8859-1", "Hôtel à Noël".encode("cp1252"), "Hôtel à Noël"),
        ("utf-8", "Hôtel".encode("cp1252"), "Hôtel"),  # lying charset
        ("x-unknown-42", "Größe".encode(), "Größe"),  # unknown charset
        ("koi8-r", "Привет".encode("koi8-r"), "Привет"),
    ],
)
def test_charsets_are_decoded_or_fall_back(charset: str, payload: bytes, expected: str) -> None:
    raw = (
        b"From: a@example.org\r\nMessage-ID: <c@x>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + payload + b"\r\n"
    )
    assert parse(raw).text == expected  # type: ignore[attr-defined]


def test_attachments_are_kept_under_the_cap_and_listed_over_it() -> None:
    raw = (CORPUS / "flanker" / "attached-pdf.eml").read_bytes()
    kept = parse(raw).attachments  # type: ignore[attr-defined]
    listed = parse(raw, attachment_cap=10).attachments  # type: ignore[attr-defined]
    assert len(kept) == len(listed) == 1
    assert kept[0].data is not None and len(kept[0].data) == kept[0].size
    assert listed[0].data is None and listed[0].size == kept[0].size
    assert listed[0].content_type == "application/pdf"


def test_content_language_sets_the_author_language() -> None:
    raw = mail(extra="Content-Language: fr-FR, en")
    assert parse(raw).author.language == "fr-FR"  # type: ignore[attr-defined]


ALL = [
    p
    for folder in ("talon-replies", "flanker", "mail-parser")
    for p in sorted((CORPUS / folder).iterdir())
    if p.is_file() and "dkim" not in p.name
]


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_mail_parses_to_a_valid_message(path: Path) -> None:
    message = parse(path.read_bytes())
    assert message.external_id  # type: ignore[attr-defined]
    assert message.received_at.tzinfo is not None  # type: ignore[attr-defined]
    assert isinstance(message.text, str)  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", sorted((CORPUS / "flanker").glob("bounce_*.eml")), ids=str)
def test_flanker_bounces_are_bounces(path: Path) -> None:
    assert parse(path.read_bytes()).kind is MessageKind.BOUNCE  # type: ignore[attr-defined]
