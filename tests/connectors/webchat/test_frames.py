from datetime import UTC, datetime

import pytest

from connectors.base import Channel
from connectors.webchat.frames import FrameError, PingFrame, TypingFrame, parse_frame, to_inbound


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{oops", "malformed"),
        (b"\xff\xfe", "malformed"),
        ("[]", "malformed"),
        ('"text"', "malformed"),
        ('{"type": "typed"}', "unknown_type"),
        ('{"type": "typing", "active": "no"}', "malformed"),
        ('{"type": "typing", "active": 0}', "malformed"),
        ('{"text": "no type"}', "unknown_type"),
        ('{"type": "message", "client_id": "abcdefgh", "text": ""}', "empty"),
        ('{"type": "message", "client_id": "abcdefgh", "text": " \\n\\t "}', "empty"),
        ('{"type": "message", "client_id": "abcdefgh", "text": 5}', "malformed"),
        ('{"type": "message", "client_id": "short", "text": "hi"}', "malformed"),
        ('{"type": "message", "client_id": "has space!", "text": "hi"}', "malformed"),
        ('{"type": "message", "text": "hi"}', "malformed"),
        ('{"type": "message", "client_id": "abcdefgh", "text": "' + "a" * 4001 + '"}', "too_long"),
        ("x" * 70_000, "too_long"),
    ],
)
def test_bad_frames_name_their_reason(raw: str | bytes, code: str) -> None:
    with pytest.raises(FrameError) as info:
        parse_frame(raw, 4000)
    assert info.value.code == code


def test_good_frames() -> None:
    assert isinstance(parse_frame('{"type": "ping"}', 4000), PingFrame)
    assert parse_frame('{"type": "typing"}', 4000) == TypingFrame(active=True)
    assert parse_frame('{"type": "typing", "active": false}', 4000) == TypingFrame(active=False)
    frame = parse_frame(
        '{"type": "message", "client_id": "abc-123_XYZ", "text": "\\nBonjour <b>!</b>\\n"}', 4000
    )
    assert frame == type(frame)(client_id="abc-123_XYZ", text="Bonjour <b>!</b>")
    exactly = parse_frame(
        '{"type": "message", "client_id": "abcdefgh", "text": "' + "é" * 4000 + '"}', 4000
    )
    assert len(exactly.text) == 4000  # type: ignore[union-attr]


def test_to_inbound_keys_messages_by_visitor_and_client_id() -> None:
    frame = parse_frame('{"type": "message", "client_id": "abcdefgh", "text": "hi"}', 4000)
    at = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)
    inbound = to_inbound(frame, account="chat-x", visitor_id="v1", received_at=at)  # type: ignore[arg-type]
    assert inbound.channel == Channel.WEBCHAT
    assert inbound.external_id == "v1:abcdefgh"
    assert inbound.thread_key == "v1"
    assert inbound.author.external_id == "v1"
    assert inbound.metadata["client_id"] == "abcdefgh"


def test_naive_received_at_is_refused() -> None:
    frame = parse_frame('{"type": "message", "client_id": "abcdefgh", "text": "hi"}', 4000)
    with pytest.raises(ValueError, match="timezone-aware"):
        to_inbound(frame, account="a", visitor_id="v", received_at=datetime(2026, 1, 1))  # type: ignore[arg-type]  # noqa: DTZ001
