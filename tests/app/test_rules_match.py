"""The keyword rules' matcher (app.rule_match): folded text, whole words, phrases, prefixes,
literal metacharacters, many languages and scripts."""

from __future__ import annotations

import pytest

from app.rule_match import compile_words, matches, parse, snippet
from app.textnorm import fold


def hit(words: list[str], text: str) -> bool:
    return matches(compile_words(tuple(words)), fold(text))


@pytest.mark.parametrize(
    ("words", "text", "expected"),
    [
        # accents and case, both ways
        (["velo"], "Je cherche un VÉLO !", True),
        (["vélo"], "je cherche un velo", True),
        (["Château"], "le chateau est-il ouvert ?", True),
        # whole words only…
        (["velo"], "des vélos à louer", False),
        (["velo"], "velociraptor", False),
        (["mer"], "merci beaucoup", False),
        (["mer"], "la mer, ce soir", True),
        (["tide"], "low-tide", True),
        # …unless the word ends with * (a prefix)
        (["velo*"], "des vélos à louer", True),
        (["velo*"], "un vélo", True),
        (["velo*"], "bicyclette", False),
        # phrases: words in order, any spaces or hyphens between them
        (["tide times"], "TIDE\n  times tomorrow?", True),
        (["tide times"], "times of the tide", False),
        (["saint clair"], "à Saint-Clair ce soir", True),
        (["saint-clair"], "à saint clair ce soir", True),
        (["l'île"], "on va sur l’Île demain", True),
        # regular-expression metacharacters are literal
        ([".*("], "anything at all", False),
        ([".*("], "try .*( now", True),
        (["a+b"], "aab", False),
        (["a+b"], "a+b", True),
        (["c++"], "I like C++.", True),
        (["[x]"], "x", False),
        (["(?i)x"], "X", False),
        (["\\d"], "7", False),
        (["€"], "combien €", True),
        # many languages
        (["Gezeiten"], "Wann sind die GEZEITEN?", True),
        (["Straße"], "die STRASSE ist gesperrt", True),
        (["getij"], "Wanneer is het getij?", True),
        (["marea"], "¿A qué hora es la MAREA?", True),
        (["marée", "tide", "gezeiten"], "when is high tide", True),
        (["fyr"], "Är fyren öppen?", False),
        (["fyr*"], "Är fyren öppen?", True),
        (["маяк"], "Маяк открыт?", True),
        (["φάρος"], "ΦΆΡΟΣ ανοιχτός;", True),
        (["灯台"], "灯台は今夜開いていますか", True),
        (["東京"], "私は東京タワーへ", True),
        (["ﬁnistère"], "FINISTERE", True),
        # phrases and odd words are first checked against the text's words: never wrongly
        (["bike rent*"], "any BIKE-RENTALS near?", True),
        (["bike rent*"], "bike for rent", False),
        (["c++"], "abc++ code", False),
        (["#tide"], "see #tide now", True),
        (["#tide"], "see #tides now", False),
        (["a.b"], "a.b.c", True),
        (["a.b"], "a.bc", False),
        (["tour 東京"], "TOUR 東京タワー", True),
        (["l'île d'yeu"], "L’ÎLE D’YEU ce soir", True),
    ],
)
def test_a_rule_word_matches_folded_whole_words(
    words: list[str], text: str, expected: bool
) -> None:
    assert hit(words, text) is expected


@pytest.mark.parametrize("word", ["*", "  ", "-", " - * ", ""])
def test_a_word_with_nothing_to_match_compiles_to_nothing(word: str) -> None:
    assert parse(word).text == ""
    assert compile_words((word,)) is None
    assert not hit([word], "anything * - at all")


def test_the_snippet_is_the_original_text_around_the_match() -> None:
    pattern = compile_words(("marée",))
    assert pattern is not None
    text = "x" * 300 + " À quelle heure est la MARÉE haute ? " + "y" * 300
    found = snippet(pattern, text)
    assert found is not None and "MARÉE" in found
    assert found.startswith("…") and found.endswith("…") and len(found) < 140
    # Folding changes lengths ("ß" is "ss", "ﬁ" is "fi"): the match is still found in place.
    pattern = compile_words(("strasse",))
    assert pattern is not None
    assert snippet(pattern, "ß" * 200 + " die Straße ") is not None
    assert "Straße" in (snippet(pattern, "ß" * 200 + " die Straße ") or "")
    assert snippet(pattern, "nothing here") is None
