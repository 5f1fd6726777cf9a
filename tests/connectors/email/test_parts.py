"""Every text part of a mail is shown, in order; only real files are attachments; broken MIME
still shows its body; an empty mail is empty."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import InboundMessage
from connectors.email.parse import parse_message

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 7, 21, 9, 0, tzinfo=UTC)


def parse(raw: bytes) -> InboundMessage:
    return parse_message(raw, account="office-bay", now=NOW)


def fixture(name: str) -> InboundMessage:
    return parse((FIXTURES / name).read_bytes())


def multipart(*parts: str, subtype: str = "mixed", boundary: str = "b") -> bytes:
    head = (
        "From: Ana <ana@example.org>\r\nTo: hello@bay.example\r\nSubject: x\r\n"
        f'Message-ID: <p@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'
    )
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return (head + body).encode()


def text_part(text: str, content_type: str = "text/plain", extra: str = "") -> str:
    return f"Content-Type: {content_type}; charset=utf-8\r\n{extra}\r\n{text}"


def names(message: InboundMessage) -> list[str]:
    return [a.filename for a in message.attachments]


def test_text_then_inline_photo_then_text_keeps_both_sentences_and_the_photo() -> None:
    message = fixture("text-photo-text.eml")
    assert message.text == (
        "Here is the view from our balcony:\n\n[image: balcony.jpg]\n\n"
        "Can we keep the same room next year?"
    )
    assert names(message) == ["balcony.jpg"]
    assert message.attachments[0].content_type == "image/jpeg"


def test_every_text_part_of_a_mixed_mail_in_order() -> None:
    raw = multipart(
        text_part("One."),
        text_part("<p>Two <b>bold</b>.</p>", "text/html"),
        text_part("# Three", "text/markdown"),
        text_part("<bold>Four</bold> is <<here>.", "text/enriched"),
        text_part("a,b\n1,2", "text/csv"),
    )
    assert parse(raw).text == "One.\n\nTwo bold.\n\n# Three\n\nFour is <here>.\n\na,b\n1,2"


@pytest.mark.parametrize("subtype", ["mixed", "parallel", "related", "report"])
def test_every_container_but_alternative_shows_all_its_parts(subtype: str) -> None:
    raw = multipart(text_part("First."), text_part("Second."), subtype=subtype)
    assert parse(raw).text == "First.\n\nSecond."


@pytest.mark.parametrize(
    ("alternatives", "expected"),
    [
        (["Plain words.", "<p>HTML words.</p>"], "Plain words."),
        (["<p>HTML words.</p>", "Plain words."], "Plain words."),
        (["<p>Only <i>HTML</i>.</p>"], "Only HTML."),
    ],
)
def test_alternative_shows_one_version_plain_first(alternatives: list[str], expected: str) -> None:
    parts = [text_part(a, "text/html" if a.startswith("<") else "text/plain") for a in alternatives]
    message = parse(multipart(*parts, subtype="alternative"))
    assert message.text == expected
    html = [a for a in alternatives if a.startswith("<")]
    assert message.html == html[0]  # the HTML alternative, sanitised (nothing to remove here)


def test_alternative_without_plain_or_html_takes_any_text() -> None:
    raw = multipart(
        text_part("<bold>Hi</bold> there", "text/enriched"),
        "Content-Type: application/x-unknown\r\n\r\nxx",
        subtype="alternative",
    )
    assert parse(raw).text == "Hi there"


def test_alternative_with_related_html_keeps_plain_text_and_the_image_as_a_file() -> None:
    message = fixture("alternative-related.eml")
    assert message.text == "Where is this place on the map?"
    assert message.html is not None and "<b>map</b>" in message.html
    assert [a.content_type for a in message.attachments] == ["image/png"]
    assert names(message) == ["image-1.png"]


def test_html_with_inline_image_leaves_a_marker_where_it_stood() -> None:
    message = fixture("html-related-only.eml")
    assert message.text == "Look at this:\n\n[image: IMG_0042.png]"
    assert names(message) == ["IMG_0042.png"]
    assert message.html is not None and "Look at this" in message.html


@pytest.mark.parametrize(
    ("charset", "encoding", "body", "expected"),
    [
        ("ISO-8859-1", "quoted-printable", "No=EBl =E0 l'h=F4tel", "Noël à l'hôtel"),
        ("utf-8", "base64", "SMO0dGVsIGNvbXBsZXQ/", "Hôtel complet?"),
        ("windows-1252", "quoted-printable", "=93caf=E9=94", "“café”"),
        ("utf-8", "8bit", "H\xf4tel", "Hôtel"),  # says UTF-8, is Latin-1
    ],
)
def test_text_parts_in_any_charset_and_encoding_are_shown_as_text(
    charset: str, encoding: str, body: str, expected: str
) -> None:
    raw = multipart(
        f"Content-Type: text/plain; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n{body}",
        "Content-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment\r\n\r\n%PDF",
    ).replace(b"H\xc3\xb4tel", b"H\xf4tel")
    message = parse(raw)
    assert message.text == expected
    assert message.html is None
    assert names(message) == ["a.pdf"]


def test_latin1_quoted_printable_fixture_is_text_with_its_pdf() -> None:
    message = fixture("latin1-qp.eml")
    assert message.text == "Bonjour, une chambre pour Noël à l'hôtel ?"
    assert message.author.name == "Renée Faÿe"
    assert message.subject == "Réservation"
    assert names(message) == ["plan.pdf"]


def test_calendar_and_vcard_are_files_not_text() -> None:
    raw = multipart(
        text_part("See the invitation."),
        "Content-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR",
        'Content-Type: text/vcard; name="ana.vcf"\r\n\r\nBEGIN:VCARD\r\nEND:VCARD',
    )
    message = parse(raw)
    assert message.text == "See the invitation."
    assert [a.content_type for a in message.attachments] == ["text/calendar", "text/vcard"]
    assert names(message)[1] == "ana.vcf"
    assert names(message)[0].endswith(".ics")


def test_a_text_file_attached_is_a_file() -> None:
    raw = multipart(
        text_part("Here is the list."),
        'Content-Type: text/plain; name="list.txt"\r\n'
        'Content-Disposition: attachment; filename="list.txt"\r\n\r\nbread\r\nmilk',
    )
    message = parse(raw)
    assert message.text == "Here is the list."
    assert names(message) == ["list.txt"]


def test_digest_and_nested_messages_show_every_message() -> None:
    message = fixture("digest.eml")
    assert message.text == "Is the cliff path open?\n\nIt reopened on Monday."
    assert message.attachments == ()


@pytest.mark.parametrize(
    "name", ["boundary-never-appears.eml", "wrong-boundary.eml", "truncated-last-part.eml"]
)
def test_broken_multiparts_still_show_their_body(name: str) -> None:
    message = fixture(name)
    assert message.text
    assert "Content-Type" not in message.text
    assert not any(n.startswith("part-") for n in names(message))


def test_boundary_never_appearing_falls_back_to_the_raw_body() -> None:
    assert fixture("boundary-never-appears.eml").text == (
        "Do you rent bicycles by the hour?\nThanks, Sam"
    )


def test_a_multipart_without_a_boundary_parameter_shows_its_body() -> None:
    raw = (
        b"From: a@example.org\r\nMessage-ID: <nb@x>\r\nContent-Type: multipart/mixed\r\n\r\n"
        b"Caf\xe9 ouvert ?\r\n"
    )
    assert parse(raw).text == "Café ouvert ?"


def test_a_wrong_boundary_is_recovered_from_the_body() -> None:
    message = fixture("wrong-boundary.eml")
    assert message.text == "First part of my question.\n\nSecond part of my question."
    assert names(message) == ["ticket.pdf"]


def test_a_truncated_last_part_is_kept() -> None:
    assert fixture("truncated-last-part.eml").text == (
        "The first part arrived.\n\nThe last part was cut be"
    )


def test_containers_are_never_attachments() -> None:
    inner = (
        'Content-Type: multipart/alternative; boundary="in"\r\n\r\n'
        "--in\r\nContent-Type: text/plain\r\n\r\nPlain\r\n"
        "--in\r\nContent-Type: text/html\r\n\r\n<p>Html</p>\r\n--in--"
    )
    message = parse(multipart(inner, "Content-Type: image/gif\r\n\r\nGIF89a"))
    assert message.text == "Plain\n\n[image: image-1.gif]"
    assert names(message) == ["image-1.gif"]


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@example.org\r\nMessage-ID: <e1@x>\r\n\r\n",
        b"From: a@example.org\r\nMessage-ID: <e2@x>\r\n\r\n   \r\n\r\n",
        multipart("Content-Type: application/pdf; name=x.pdf\r\n\r\n%PDF"),
        multipart(text_part("<html><body></body></html>", "text/html")),
    ],
)
def test_a_mail_without_text_has_empty_text(raw: bytes) -> None:
    assert parse(raw).text == ""


def test_empty_fixture_is_empty_text() -> None:
    assert fixture("empty.eml").text == ""


def test_a_hundred_parts_are_parsed_in_linear_time() -> None:
    parts = [text_part(f"Part {n}.") for n in range(100)]
    parts += ['Content-Type: image/png; name="p.png"\r\n\r\nPNG'] * 100
    message = parse(multipart(*parts))
    assert message.text.count("Part ") == 100
    assert len(message.attachments) == 100


def test_deep_nesting_never_raises() -> None:
    body = "Deep text."
    for level in range(200):
        body = (
            f'Content-Type: multipart/mixed; boundary="l{level}"\r\n\r\n'
            f"--l{level}\r\n{body}\r\n--l{level}--"
        )
    raw = b"From: a@example.org\r\nMessage-ID: <deep@x>\r\n" + body.encode()
    assert "Deep text." in parse(raw).text


CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "email"
ALL = [
    p
    for folder in ("talon-replies", "flanker", "mail-parser")
    for p in sorted((CORPUS / folder).iterdir())
    if p.is_file() and "dkim" not in p.name
] + sorted(FIXTURES.glob("*.eml"))


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_string_is_storable_text(path: Path) -> None:
    message = parse(path.read_bytes())
    strings = [message.text, message.subject, message.author.name, message.author.external_id]
    strings += [a.filename for a in message.attachments]
    strings.append(json.dumps(dict(message.details), ensure_ascii=False))
    for value in strings:
        value.encode("utf-8")  # no lone surrogate from 8-bit headers
        assert "\x00" not in value
    assert not any(a.filename.startswith("part-") for a in message.attachments)
    for forward in message.details.get("forwarded", []):
        assert 0 <= forward["at"] <= len(message.text)


def test_raw_8bit_headers_of_a_forwarded_mail_and_file_names_are_decoded() -> None:
    raw = multipart(
        text_part("Voir ci-dessous."),
        "Content-Type: message/rfc822\r\n\r\nFrom: Ren\xe9e <r@example.fr>\r\n"
        "Subject: Caf\xe9\r\n\r\nBonjour",
        'Content-Type: application/pdf; name="r\xe9sum\xe9.pdf"\r\n\r\n%PDF',
    ).replace("\xe9".encode(), b"\xc3\xa9")
    message = parse(raw)
    [forward] = message.details["forwarded"]
    assert (forward["from"], forward["subject"]) == ("Renée <r@example.fr>", "Café")
    assert names(message) == ["résumé.pdf"]


@pytest.mark.parametrize(
    ("params", "body", "expected"),
    [
        ("format=flowed", "Is the ferry \r\nrunning today?\r\n", "Is the ferry running today?"),
        ("format=flowed; delsp=yes", "Ferry\xa0ti \r\nmes?", "Ferry\xa0times?"),
        ("format=flowed", "New.\r\n\r\n> old \r\n> words", "New.\n\n> old words"),
        ("format=flowed", "Hi\r\n-- \r\nSam", "Hi\n-- \nSam"),
        ("format=fixed", "Is the ferry \r\nrunning?", "Is the ferry \nrunning?"),
    ],
)
def test_format_flowed_lines_are_joined(params: str, body: str, expected: str) -> None:
    raw = (
        "From: a@example.org\r\nMessage-ID: <fl@x>\r\n"
        f"Content-Type: text/plain; charset=utf-8; {params}\r\n\r\n{body}"
    ).encode()
    assert parse(raw).text == expected


@pytest.mark.parametrize(
    "body",
    [
        "Hello\r\n-- \r\nSam\r\n",
        "Hi\r\n-----\r\nFrom: x\r\nok\r\n",
        "Hi\r\n--\r\nContent: is a word here\r\n",
    ],
)
def test_a_broken_multipart_with_dash_lines_shows_its_whole_body(body: str) -> None:
    raw = (
        "From: a@example.org\r\nMessage-ID: <dl@x>\r\n"
        "Content-Type: multipart/mixed; boundary=never\r\n\r\n" + body
    ).encode()
    assert parse(raw).text == body.replace("\r\n", "\n").strip()


def test_two_plain_alternatives_take_the_first_and_html_labelled_plain_is_rendered() -> None:
    raw = multipart(
        text_part("Hello Bob,\n\nthe links below."),
        text_part("<div>Hello Bob,</div><div>the <a href='https://x.example'>links</a></div>"),
        subtype="alternative",
    )
    assert parse(raw).text == "Hello Bob,\n\nthe links below."
    only = multipart(text_part("<div dir='ltr'><p>Hi</p><p>there</p></div>"))
    assert parse(only).text == "Hi\n\nthere"
    # A visitor typing a tag in plain text keeps it.
    assert parse(multipart(text_part("Use <b> for bold?"))).text == "Use <b> for bold?"


@pytest.mark.parametrize(
    ("headers", "is_file"),
    [
        ('Content-Type: text/plain; name="notes.txt"', True),
        ('Content-Type: text/plain\r\nContent-Disposition: inline; filename="notes.txt"', True),
        ('Content-Type: text/html; name="page.html"', True),
        ('Content-Type: text/plain; name="message.txt"\r\nContent-Disposition: inline', False),
        ("Content-Type: text/plain\r\nContent-Disposition: inline", False),
    ],
)
def test_a_named_text_part_is_a_file(headers: str, is_file: bool) -> None:
    raw = multipart(text_part("Here it is."), f"{headers}\r\n\r\nline one\r\nline two")
    message = parse(raw)
    assert (message.text == "Here it is.") is is_file
    assert bool(message.attachments) is is_file


def test_a_single_part_mail_is_its_body_whatever_its_name() -> None:
    raw = (
        b"From: a@example.org\r\nMessage-ID: <n@x>\r\n"
        b'Content-Type: text/plain; name="body.txt"\r\n\r\nHello there'
    )
    message = parse(raw)
    assert message.text == "Hello there"
    assert message.attachments == ()


def test_chinese_declared_as_gb2312_but_written_in_its_superset_is_read() -> None:
    words = "这是什么屄，真的"  # the fourth character exists in GB18030 only
    encoded = words.encode("gb18030")
    raw = (
        b"From: a@example.org\r\nMessage-ID: <gb@x>\r\nSubject: =?gb2312?B?"
        + base64.b64encode(encoded)
        + b"?=\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n"
        + encoded
    )
    message = parse(raw)
    assert message.subject == words
    assert message.text == words


def test_a_charset_with_a_nul_byte_does_not_stop_the_mail() -> None:
    raw = multipart(
        text_part("Bonjour."), 'Content-Type: text/plain; charset="ut\x00f"\r\n\r\nCaf\xe9'
    )
    raw = raw.replace("Caf\xe9".encode(), b"Caf\xe9")
    message = parse(raw)
    assert message.text == "Bonjour.\n\nCafé"


@pytest.mark.parametrize("charset", ["base64", "rot13", "zlib", "hex", "idna", '"utf-8'])
def test_a_charset_that_is_not_a_text_encoding_falls_back(charset: str) -> None:
    raw = multipart(f"Content-Type: text/plain; charset={charset}\r\n\r\nCaf\xe9 ouvert")
    assert parse(raw.replace("Caf\xe9".encode(), b"Caf\xe9")).text == "Café ouvert"
