"""enable_when at the kiosk: answers of items that become disabled are cleared and audited."""

from __future__ import annotations

import pytest

from epro.errors import SessionError
from epro.forms.enablement import condition_holds
from epro.forms.model import Condition, EnableWhen, Form, FormKind, Item, ItemType, Option
from epro.session import SessionService
from epro.session.enablement import disabled_with_answers, enabled_items
from epro.store import Store
from epro.store.domain import AuditKind
from tests.helpers.session_support import audit_of, enrol, start, stored_answers


def test_stiffness_yes_then_no_clears_the_duration_and_audits_cleared(
    service: SessionService, store: Store
) -> None:
    # instruments.md §2.2: jamar_stiffness_duration is enabled only when jamar_stiffness is yes.
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="jamar", respondent="parent")
    shown = [item.link_id for item in session.items()]
    assert "jamar_stiffness_duration" not in shown
    with pytest.raises(SessionError, match="not asked"):
        session.answer("jamar_stiffness_duration", "under_15_min")

    session.answer("jamar_stiffness", True)
    assert "jamar_stiffness_duration" in [item.link_id for item in session.items()]
    session.answer("jamar_stiffness_duration", "from_15_to_60_min")
    session.answer("jamar_stiffness", False)

    assert session.value("jamar_stiffness_duration") is None
    assert "jamar_stiffness_duration" not in [item.link_id for item in session.items()]
    assert stored_answers(store, session.response_id) == {"jamar_stiffness": False}
    events = [(e.kind, e.link_id) for e in audit_of(store, session.response_id)]
    assert events[-2:] == [
        (AuditKind.CHANGED, "jamar_stiffness"),
        (AuditKind.CLEARED, "jamar_stiffness_duration"),
    ]


def test_unticking_other_clears_the_described_device(service: SessionService, store: Store) -> None:
    # instruments.md §2.1: chaq_devices_other describes the device coded "other".
    enrol(store, "DEMO-001", age=10)
    session = start(service)
    session.answer("chaq_devices", ["walking_aid", "other"])
    session.answer("chaq_devices_other", "a cushion")
    session.answer("chaq_devices", ["walking_aid"])
    assert session.value("chaq_devices_other") is None
    assert session.value("chaq_devices") == ["walking_aid"]


def _item(link_id: str, kind: ItemType, when: EnableWhen | None = None) -> Item:
    options = (Option(1, {"en": "one"}), Option(2, {"en": "two"}))
    return Item(
        link_id=link_id,
        type=kind,
        text={"en": link_id},
        options=options if kind in (ItemType.CHOICE, ItemType.CHECKLIST) else (),
        enable_when=when,
    )


def _form(*items: Item) -> Form:
    return Form(
        id="demo",
        version="1.0.0",
        title={"en": "demo"},
        kind=FormKind.PATIENT,
        languages=("en",),
        translations=(),
        respondents=(),
        scoring_algorithm=None,
        scoring_version=None,
        groups=(),
        items=items,
        sha256="0" * 64,
    )


CONDITIONS = [
    pytest.param(Condition("q", "equals", True), {"q": True}, True, id="yes-equals-yes"),
    pytest.param(Condition("q", "equals", True), {"q": 1}, False, id="code-1-is-not-yes"),
    pytest.param(Condition("q", "equals", 1), {"q": True}, False, id="yes-is-not-code-1"),
    pytest.param(Condition("q", "equals", 2), {"q": 2.0}, True, id="number-equals-number"),
    pytest.param(Condition("q", "equals", "b"), {"q": ["a", "b"]}, True, id="ticked-in-list"),
    pytest.param(Condition("q", "equals", "c"), {"q": ["a", "b"]}, False, id="not-ticked"),
    pytest.param(Condition("q", "equals", 1), {}, False, id="equals-unanswered"),
    pytest.param(Condition("q", "equals", 1), {"q": "skipped"}, False, id="equals-skipped"),
    pytest.param(Condition("q", "not_equals", 1), {"q": 2}, True, id="not-equals-other"),
    pytest.param(Condition("q", "not_equals", 1), {"q": 1}, False, id="not-equals-same"),
    pytest.param(Condition("q", "exists", True), {"q": "na"}, True, id="na-is-an-answer"),
    pytest.param(Condition("q", "exists", True), {"q": "skipped"}, False, id="skip-is-none"),
    pytest.param(Condition("q", "exists", False), {}, True, id="exists-false-unanswered"),
]


@pytest.mark.parametrize(("condition", "answers", "expected"), CONDITIONS)
def test_condition_holds_as_the_table_says(
    condition: Condition, answers: dict[str, object], expected: bool
) -> None:
    # instruments.md §2: "na" is an answer, "skipped" is the absence of one.
    assert condition_holds(condition, answers) is expected  # type: ignore[arg-type]


def test_disabling_cascades_to_items_that_depend_on_a_disabled_item() -> None:
    form = _form(
        _item("a", ItemType.BOOLEAN),
        _item("b", ItemType.CHOICE, EnableWhen((Condition("a", "equals", True),))),
        _item("c", ItemType.INTEGER, EnableWhen((Condition("b", "exists", True),))),
    )
    answers = {"a": False, "b": 1, "c": 5}
    assert [item.link_id for item in enabled_items(form, answers)] == ["a"]
    assert disabled_with_answers(form, answers) == ["b", "c"]
    answers = {"a": True, "b": 1, "c": 5}
    assert disabled_with_answers(form, answers) == []


def test_any_behaviour_needs_one_condition_and_all_needs_every_one() -> None:
    conditions = (Condition("a", "equals", True), Condition("b", "equals", 1))
    either = _item("x", ItemType.INTEGER, EnableWhen(conditions, behavior="any"))
    both = _item("y", ItemType.INTEGER, EnableWhen(conditions, behavior="all"))
    form = _form(_item("a", ItemType.BOOLEAN), _item("b", ItemType.CHOICE), either, both)
    shown = [item.link_id for item in enabled_items(form, {"a": True, "b": 2})]
    assert shown == ["a", "b", "x"]


def test_an_unknown_operator_is_a_session_error_naming_the_item() -> None:
    # The loader refuses such a form; a hand-built one must not read "equal" as "equals".
    form = _form(
        _item("a", ItemType.CHOICE),
        _item("b", ItemType.INTEGER, EnableWhen((Condition("a", "equal", 1),))),
    )
    with pytest.raises(SessionError, match=r"item b: .* unknown operator 'equal'"):
        enabled_items(form, {"a": 1})
