"""Weighted length as X counts it, and numbered threads."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.twitter.text import LIMIT, split_thread, weighted_length


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Bonjour !", 9),
        ("é" * 10, 10),  # Latin-1 letters weigh 1
        ("e\u0301", 1),  # NFC first: e + combining acute is one é
        ("Привет", 6),  # Cyrillic weighs 1
        ("שלום עולם", 9),  # Hebrew (right to left) weighs 1
        ("مرحبا بكم", 9),  # Arabic weighs 1
        ("\u200fשלום\u200f", 4 + 2 + 2),  # RLM marks (U+200F) sit outside the light ranges
        ("東京", 4),  # CJK weighs 2
        ("こんにちは", 10),  # kana too
        ("안녕", 4),  # and hangul
        ("“quotes” — dash…", 15 + 2),  # U+2010–U+201F weigh 1, the ellipsis U+2026 2
        ("🌊", 2),  # an emoji weighs 2
        ("👍🏽", 2),  # with a skin tone: still one emoji
        ("👨‍👩‍👧", 2),  # a ZWJ family: one emoji
        ("🇫🇷", 2),  # a flag: one emoji
        ("1️⃣", 2),  # a keycap
        ("❤️", 2),
        ("Horaires : https://www.example.org/horaires/phare?x=1", 11 + 23),
        ("https://t.co/W5GxALkkZd", 23),
        ("voir example.fr/plage.", 5 + 23 + 1),  # trailing punctuation is not the URL's
        ("(https://example.org/a)", 1 + 23 + 1),
        ("ana@example.com", 15),  # an address is not a URL
        ("a" * 280, 280),
        ("", 0),
    ],
)
def test_weighted_length(text: str, length: int) -> None:
    assert weighted_length(text) == length


def test_a_359_character_answer_becomes_two_numbered_parts() -> None:
    text = " ".join(["marée"] * 60)
    parts = split_thread(text)
    assert len(parts) == 2
    assert parts[0].startswith("1/2 ") and parts[1].startswith("2/2 ")
    assert all(weighted_length(p) <= LIMIT for p in parts)
    assert " ".join(p.split(" ", 1)[1] for p in parts) == text
    assert split_thread("court") == ["court"]


def test_cjk_and_emoji_fill_a_part_at_half_the_characters() -> None:
    parts = split_thread(" ".join(["東京タワー🗼"] * 60))
    assert all(weighted_length(p) <= LIMIT for p in parts)
    assert all(len(p) < 160 for p in parts)


def test_a_word_longer_than_a_post_is_cut_never_an_emoji() -> None:
    parts = split_thread("a" * 600 + " " + "👨‍👩‍👧" * 200)
    assert all(weighted_length(p) <= LIMIT for p in parts)
    assert "".join(p.split(" ", 1)[1] for p in parts).replace(" ", "") == "a" * 600 + "👨‍👩‍👧" * 200


def test_line_breaks_inside_a_part_are_kept() -> None:
    text = "Horaires :\nlun–ven 9 h–18 h\n" + " ".join(["samedi"] * 60)
    assert split_thread(text)[0].startswith("1/2 Horaires :\nlun–ven 9 h–18 h\nsamedi")


words = st.text(
    alphabet=st.characters(blacklist_categories=["Z", "C"]), min_size=1, max_size=40
) | st.sampled_from(
    ["https://example.org/une/longue/adresse", "🌊", "東京", "שלום", "👍🏽", "a" * 300]
)


@given(st.lists(words, min_size=1, max_size=150), st.sampled_from([" ", "\n", "  "]))
@settings(max_examples=150, deadline=None)
def test_every_part_fits_and_the_words_stay_in_order(items: list[str], space: str) -> None:
    text = space.join(items)
    parts = split_thread(text)
    assert all(weighted_length(p) <= LIMIT for p in parts)
    if len(parts) == 1:
        assert parts == [text]
        return
    total = len(parts)
    assert [p.split(" ", 1)[0] for p in parts] == [f"{i}/{total}" for i in range(1, total + 1)]
    bodies = [p.split(" ", 1)[1] for p in parts]
    assert "".join("".join(b.split()) for b in bodies) == "".join(text.split())
    if all(weighted_length(w) <= LIMIT - 10 for w in items):  # no word needed cutting
        assert [w for b in bodies for w in b.split()] == text.split()
