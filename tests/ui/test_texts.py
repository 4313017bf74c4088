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
