"""Parsing raw mail into messages (``connectors.email.parse.parse_message``), no I/O.

- mails parsed per second for a plain reply, a text + photo + text mail, an inline forward and
  the whole corpus under ``../shared/corpus/email`` (talon, flanker, mail-parser);
- how the time grows with the number of parts: 10, 100 and 1,000 parts (text and image parts
  alternating) — it should grow about tenfold per step (linear), not a hundredfold;
- against a floor measured in the same run: the standard library alone reading the same bytes
  (``email.message_from_bytes``, every part's payload decoded), which any parser has to do.

Run: ``python -m bench.email_parse_bench``.
"""

from __future__ import annotations

import email
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email import policy
from pathlib import Path

from connectors.email.parse import parse_message

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "email"
NOW = datetime(2026, 7, 21, 9, 0, tzinfo=UTC)

REPLY = (
    b"From: Maria <maria@example.org>\r\nTo: hello@bay.example\r\nSubject: Re: Ferry\r\n"
    b"Date: Tue, 21 Jul 2026 10:00:00 +0200\r\nMessage-ID: <r@example.org>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nIs the ferry running on Saturday?\r\n\r\n"
    b"Thanks,\r\nMaria\r\n-- \r\nMaria Rossi\r\n\r\nOn Mon, 20 Jul 2026, Bay <hello@bay.example>"
    b" wrote:\r\n> Dear Maria,\r\n> thank you.\r\n"
)
FORWARD = (
    b"From: Tom <tom@example.org>\r\nSubject: Fwd: Opening hours\r\nMessage-ID: <f@x>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nCan you confirm?\r\n\r\n"
    b"---------- Forwarded message ---------\r\nFrom: Museum <info@museum.example>\r\n"
    b"Date: Mon, 20 Jul 2026 at 09:12\r\nSubject: Opening hours\r\n\r\nWe open at 10:00.\r\n"
)


def many_parts(count: int) -> bytes:
    """A multipart/mixed mail of ``count`` parts, text and inline images alternating."""
    parts = []
    for n in range(count):
        if n % 2:
            parts.append(
                f'--b\r\nContent-Type: image/png; name="p{n}.png"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
            )
        else:
            parts.append(f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPart {n}.\r\n")
    head = (
        "From: a@example.org\r\nSubject: parts\r\nMessage-ID: <many@x>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    )
    return (head + "".join(parts) + "--b--\r\n").encode()


def ours(raw: bytes) -> None:
    parse_message(raw, account="bench", now=NOW)


def floor(raw: bytes) -> None:
    """The least any parser does: the standard library reads the tree and decodes each part."""
    for part in email.message_from_bytes(raw, policy=policy.compat32).walk():
        if not part.is_multipart():
            part.get_payload(decode=True)


def rate(
    raws: Sequence[bytes], seconds: float = 1.0, parse: Callable[[bytes], None] = ours
) -> tuple[float, float]:
    """(mails per second, mean milliseconds per mail) over about ``seconds``."""
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for raw in raws:
            parse(raw)
        done += len(raws)
    elapsed = time.perf_counter() - started
    return done / elapsed, 1000 * elapsed / done


def corpus() -> list[bytes]:
    return [
        path.read_bytes()
        for folder in ("talon-replies", "flanker", "mail-parser")
        if (CORPUS / folder).is_dir()
        for path in sorted((CORPUS / folder).iterdir())
        if path.is_file() and "dkim" not in path.name
    ]


def main() -> None:
    for label, raws in (
        ("plain reply", [REPLY]),
        ("text + photo + text", [many_parts(3)]),
        ("inline forward", [FORWARD]),
        ("corpus", corpus()),
    ):
        if not raws:
            continue
        per_second, mean = rate(raws)
        _, least = rate(raws, parse=floor)
        print(
            f"{label:<22} {per_second:9.0f} mails/s   {mean:7.3f} ms/mail  ({len(raws)} mails)"
            f"   floor {least:7.3f} ms/mail, ratio {mean / least:5.1f}"
        )
    previous = None
    for count in (10, 100, 1000):
        raw = many_parts(count)
        _, mean = rate([raw])
        _, least = rate([raw], parse=floor)
        growth = f"  x{mean / previous:.1f}" if previous else "      "
        print(
            f"{count:>5} parts            {mean:9.3f} ms/mail{growth}"
            f"   floor {least:7.3f} ms/mail, ratio {mean / least:5.1f}"
        )
        previous = mean


if __name__ == "__main__":
    main()
