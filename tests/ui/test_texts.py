"""The kiosk's own texts: every English text has a Dutch one, and Dutch speaks to a parent
with "u" and to a child with "je"."""

from __future__ import annotations

import re

import pytest

from epro.kiosk import i18n


def test_every_english_text_has_a_dutch_text_with_the_same_placeholders() -> None:
    # A missing Dutch text would fall back to English in front of a Dutch family.
    english, dutch = i18n._TEXTS["en"], i18n._TEXTS["nl"]
    assert sorted(set(english) - set(dutch)) == []
    for key, text in english.items():
        assert set(re.findall(r"{(\w+)}", dutch[key])) == set(re.findall(r"{(\w+)}", text)), key


@pytest.mark.parametrize("key", sorted(i18n._NL_PARENT))
def test_a_parents_dutch_text_says_u_where_the_childs_says_je(key: str) -> None:
    values = {"answer": "Met enige moeite", "na": "Niet van toepassing"}
    to_parent = i18n.tr_to("nl", "parent", key, **values)
    to_child = i18n.tr_to("nl", "child", key, **values)
    assert re.search(r"\b(u|uw|Uw)\b", to_parent)
    assert not re.search(r"\b(je|Je|jij)\b", to_parent)
    assert re.search(r"\b(je|Je)\b", to_child)
    assert key in i18n._TEXTS["en"]  # a parent's version of a text that exists for everyone


#: Words that address someone as "je" (a child) or "u" (a parent).
JE = re.compile(r"\b(je|jij|jou|jouw|jezelf)\b", re.IGNORECASE)
U = re.compile(r"\b(u|uw|uzelf)\b", re.IGNORECASE)


@pytest.mark.parametrize("key", sorted(i18n._EN))
def test_every_dutch_chrome_text_says_u_to_a_parent_and_je_or_nothing_to_a_child(key: str) -> None:
    # The same screen speaks to a parent with "u" and to a child with "je", never mixed.
    names = set(re.findall(r"{(\w+)}", i18n._EN[key]))
    to_parent = i18n.tr_to("nl", "parent", key).format(**dict.fromkeys(names, "X"))
    to_child = i18n.tr_to("nl", "child", key).format(**dict.fromkeys(names, "X"))
    assert not JE.search(to_parent), to_parent
    assert not U.search(to_child), to_child


def test_the_dutch_chrome_has_no_research_jargon() -> None:
    dutch = " ".join(i18n._NL.values()).lower()
    for jargon in ("researchverpleegkundige", "concept", "sessie", "visite", "gesynchroniseerd"):
        assert jargon not in dutch


@pytest.mark.parametrize(("value", "dutch", "english"), [(4.5, "4,5", "4.5"), (3.0, "3", "3")])
def test_numbers_have_a_decimal_comma_in_dutch(value: float, dutch: str, english: str) -> None:
    assert i18n.number("nl", value) == dutch
    assert i18n.number("en", value) == english
    assert i18n.number("nl", 1.256, 2) == "1,26"


def test_every_parent_question_says_u_and_every_child_question_je_in_dutch() -> None:
    # The forms' own wording (forms/*.toml): a parent's variant asks about "uw kind", a
    # child's speaks to the child; neither uses the other's word.
    from epro.forms import default_forms_dir, load_forms

    checked = 0
    for form in load_forms(default_forms_dir()).values():
        for item in form.items:
            parent = item.variants.get("parent", {}).get("nl")
            child = item.variants.get("child", {}).get("nl")
            if parent is not None:
                assert not JE.search(parent), (form.id, item.link_id, parent)
                checked += 1
            if child is not None:
                assert not U.search(child), (form.id, item.link_id, child)
                checked += 1
    assert checked > 100


def test_an_answer_with_a_fraction_reads_with_a_decimal_comma_in_dutch() -> None:
    from epro.kiosk.answer_text import answer_text
    from tests.helpers import ui_items as items

    assert answer_text(items.CIRCLES, 4.5, "nl") == "4,5 / 10"
    assert answer_text(items.CIRCLES, 4.5, "en") == "4.5 / 10"
    assert answer_text(items.DECIMAL, 2.5, "nl") == "2,5"
