import time

import pytest

from app.security import (
    VisitorTokenError,
    VisitorTokens,
    hash_password,
    same_token,
    verify_password,
)


def test_passwords_are_argon2_hashed() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password("correct horse battery", hashed)
    assert not verify_password("wrong", hashed)
    assert not verify_password("x", "not a hash")


def test_visitor_tokens_round_trip_and_refuse_tampering() -> None:
    tokens = VisitorTokens("s" * 40, max_age=60)
    token, identity = tokens.issue("chat-a")
    assert tokens.read(token) == identity
    for bad in ("", "x" * 600, token[:-3] + "abc", VisitorTokens("t" * 40, 60).issue("chat-a")[0]):
        with pytest.raises(VisitorTokenError) as info:
            tokens.read(bad)
        assert info.value.reason == "invalid"


def test_visitor_tokens_expire() -> None:
    tokens = VisitorTokens("s" * 40, max_age=1)
    token, _ = tokens.issue("chat-a")
    time.sleep(2.1)
    with pytest.raises(VisitorTokenError) as info:
        tokens.read(token)
    assert info.value.reason == "expired"


def test_same_token() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abc", "abd")
    assert not same_token(None, None)
    assert not same_token("", "")


def test_same_token_takes_any_text() -> None:
    """A form or header with non-ASCII text is a wrong token, not a TypeError (a 500 that
    schemathesis found on POST /language and /login)."""
    assert not same_token("abc", "é")
    assert same_token("jeton-é", "jeton-é")
    assert not same_token("a\ud800", "abc")
