from app.textnorm import fold, key


def test_fold_removes_case_and_accents_of_any_script() -> None:
    assert fold("Château d'Île-de-FRANCE") == "chateau d'ile-de-france"
    assert fold("Straße") == "strasse"
    assert fold("ﬁnale ＡＢＣ") == "finale abc"  # ligature and full-width letters
    assert fold("Ελλάδα") == "ελλαδα"
    assert fold("  two  spaces ") == "  two  spaces "


def test_key_is_the_folded_name_with_its_spacing_made_one() -> None:
    assert key("  Vélo   Location ") == "velo location"
    assert key("VELO location") == key("vélo Location")
    assert key("\u00a0") == ""
