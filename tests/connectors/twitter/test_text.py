import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.twitter.text import LIMIT, split_thread, weighted_length


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Bonjour !", 9),
        ("é" * 10, 10),  # Latin-1 letters weigh 1
        ("Привет", 6),  # Cyrillic weighs 1
        ("שלום עולם", 9),  # Hebrew (right to left) weighs 1
        ("مرحبا", 5),  # Arabic weighs 1
        ("東京", 4),  # CJK weighs 2
        ("こんにちは", 10),
        ("🌊", 2),  # an emoji weighs 2
        ("👍🏽", 2),  # with a skin tone: still one emoji
        ("👨‍👩‍👧", 2),  # a ZWJ family: one emoji
        ("Horaires : https://www.example.org/horaires/phare?x=1", 11 + 23),
        ("voir example.fr/plage", 5 + 23),
        ("a" * 280, 280),
    ],
)
def test_weighted_length(text: str, length: int) -> None:
    assert weighted_length(text) == length


def test_a_281_character_answer_is_split_into_numbered_parts() -> None:
    text = " ".join(["marée"] * 60)  # 359 characters
    parts = split_thread(text)
    assert len(parts) == 2
    assert parts[0].startswith("1/2 ") and parts[1].startswith("2/2 ")
    assert all(weighted_length(p) <= LIMIT for p in parts)
    assert " ".join(p.split(" ", 1)[1] for p in parts) == text
    assert split_thread("court") == ["court"]


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Z", "C"]), min_size=1, max_size=30),
        min_size=1,
        max_size=120,
    )
)
@settings(max_examples=80, deadline=None)
def test_split_keeps_every_word_and_the_limit(words: list[str]) -> None:
    text = " ".join(words)
    parts = split_thread(text)
    assert all(weighted_length(p) <= LIMIT for p in parts)
    if len(parts) > 1:
        assert [w for p in parts for w in p.split()[1:]] == text.split()
    else:
        assert parts == [text]
