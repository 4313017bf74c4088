"""``epro.forms.enablement`` on conditions the loader never builds: hand-made forms must fail
loudly instead of reading an unknown operator as ``equals``."""

from __future__ import annotations

import pytest

from epro.errors import FormError
from epro.forms.enablement import condition_holds, rule_holds
from epro.forms.model import Condition, EnableWhen


@pytest.mark.parametrize("answer", [1, 2], ids=["would-match-as-equals", "would-not-match"])
def test_an_unknown_operator_is_a_form_error_naming_it_and_the_fix(answer: int) -> None:
    with pytest.raises(
        FormError, match=r"unknown operator 'equal'; .* equals, not_equals or exists"
    ):
        condition_holds(Condition("mood", "equal", 1), {"mood": answer})


def test_an_unknown_operator_is_refused_even_when_an_any_rule_already_holds() -> None:
    # Every condition is judged: whether a broken rule errors must not depend on the answers.
    rule = EnableWhen(
        (Condition("mood", "equals", 1), Condition("mood", "bigger", 1)), behavior="any"
    )
    with pytest.raises(FormError, match="'bigger'"):
        rule_holds(rule, {"mood": 1})
