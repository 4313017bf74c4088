"""The shipped form files match instruments.md §2 variable for variable."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from epro.forms import NA, Form, FormKind, ItemType, load_form, validate_answer, validate_answers
from epro.forms.options import DEFAULT_KEYS

CHAQ_DOMAINS = {  # instruments.md §2.1 domain table
    "dress": 4,
    "arise": 2,
    "eat": 3,
    "walk": 2,
    "hygiene": 5,
    "reach": 4,
    "grip": 5,
    "activ": 5,
}
CHAQ_DEVICES = [  # instruments.md §2.1 aids and devices table, in table order
    "walking_aid",
    "wheelchair",
    "dressing_aid",
    "builtup_utensils",
    "special_chair",
    "raised_toilet_seat",
    "bath_seat",
    "bath_bar",
    "long_handled_bath",
    "long_handled_reach",
    "jar_opener",
    "other",
]
JAMAR_OTHER = [  # instruments.md §2.2 table, after the JAFS and PRQL items
    "jamar_pain",
    "jamar_wellbeing",
    "jamar_joints",
    "jamar_stiffness",
    "jamar_stiffness_duration",
    "jamar_activity",
    "jamar_status",
    "jamar_course",
    "jamar_side_effects",
    "jamar_med_difficulty",
    "jamar_school_problems",
    "jamar_satisfied",
]


def test_every_shipped_form_loads_with_its_scoring_algorithm(shipped: dict[str, Form]) -> None:
    algorithms = {form_id: form.scoring_algorithm for form_id, form in shipped.items()}
    assert algorithms == {
        "chaq": "chaq",
        "jamar": "jamar",
        "vas_pain": "vas",
        "vas_wellbeing": "vas",
        "clinician": "clinician",
    }


def test_every_translation_we_wrote_is_marked_unvalidated(shipped: dict[str, Form]) -> None:
    # instruments.md intro: every translation we write is marked validated = false.
    for form in shipped.values():
        assert form.languages == ("en", "nl")
        assert {(t.language, t.validated) for t in form.translations} == {
            ("en", False),
            ("nl", False),
        }


def test_no_shipped_form_file_contains_a_default_answer(forms_dir: Path) -> None:
    # instruments.md §5: no item has a default or pre-selected answer.
    for path in forms_dir.glob("*.toml"):
        if path.name == "study.toml":
            continue
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for item in data["items"]:
            assert not DEFAULT_KEYS & item.keys(), (path.name, item["link_id"])
            for option in item.get("options", []) if isinstance(item.get("options"), list) else []:
                assert not DEFAULT_KEYS & option.keys(), (path.name, item["link_id"])


def test_chaq_has_thirty_items_in_eight_domains_coded_zero_to_three(
    shipped: dict[str, Form],
) -> None:
    # instruments.md §2.1 domain table and answer codes.
    chaq = shipped["chaq"]
    assert [group.id for group in chaq.groups] == list(CHAQ_DOMAINS)
    scored = [item for item in chaq.items if item.group is not None]
    assert len(scored) == 30
    for domain, count in CHAQ_DOMAINS.items():
        names = [item.link_id for item in scored if item.group == domain]
        assert names == [f"chaq_{domain}_{letter}" for letter in "abcde"[:count]]
    for item in scored:
        assert item.type is ItemType.CHOICE
        assert item.codes == (0, 1, 2, 3)
        assert item.na_option
        assert set(item.na_text) == {"en", "nl"}


def test_chaq_aids_help_and_lines_follow_the_instrument(shipped: dict[str, Form]) -> None:
    # instruments.md §2.1 aids/devices table, help codes and the two VAS.
    chaq = shipped["chaq"]
    assert chaq.item("chaq_devices").type is ItemType.CHECKLIST
    assert list(chaq.item("chaq_devices").codes) == CHAQ_DEVICES
    assert list(chaq.item("chaq_help").codes) == list(CHAQ_DOMAINS)
    other = chaq.item("chaq_devices_other")
    assert other.type is ItemType.TEXT
    assert not other.required
    assert other.enable_when is not None
    assert other.enable_when.conditions[0].question == "chaq_devices"
    for name in ("chaq_pain_vas", "chaq_wellbeing_vas"):
        vas = chaq.item(name)
        assert (vas.type, vas.min, vas.max) == (ItemType.VAS, 0, 100)
        assert set(vas.anchor_low) == set(vas.anchor_high) == {"en", "nl"}


def test_jamar_has_every_variable_with_parent_and_child_wording(shipped: dict[str, Form]) -> None:
    # instruments.md §2.2 table of sections and variables.
    jamar = shipped["jamar"]
    expected = (
        [f"jamar_jafs_{n:02d}" for n in range(1, 16)]
        + ["jamar_pain"]
        + [f"jamar_prql_{n:02d}" for n in range(1, 11)]
        + ["jamar_wellbeing"]
        + JAMAR_OTHER[2:]
    )
    assert list(jamar.link_ids) == expected
    for item in jamar.items:
        assert set(item.variants) == {"parent", "child"}, item.link_id
        assert item.text_for("nl", "child") != item.text_for("nl", "parent") or (
            item.link_id == "jamar_stiffness_duration"
        )
    for n in range(1, 16):
        assert jamar.item(f"jamar_jafs_{n:02d}").codes == (0, 1, 2)
        assert jamar.item(f"jamar_jafs_{n:02d}").na_option
    for n in range(1, 11):
        assert jamar.item(f"jamar_prql_{n:02d}").codes == (0, 1, 2, 3)
    for name in ("jamar_pain", "jamar_wellbeing", "jamar_activity"):
        item = jamar.item(name)
        assert (item.type, item.min, item.max, item.step) == (ItemType.CIRCLES21, 0, 10, 0.5)
    assert jamar.item("jamar_status").codes == ("remission", "continued_activity", "relapse")
    assert len(jamar.item("jamar_course").codes) == 5


def test_jamar_stiffness_duration_is_asked_only_after_a_yes(shipped: dict[str, Form]) -> None:
    # instruments.md §2.2: jamar_stiffness_duration enabled when jamar_stiffness is yes.
    duration = shipped["jamar"].item("jamar_stiffness_duration")
    assert duration.enable_when is not None
    (condition,) = duration.enable_when.conditions
    assert (condition.question, condition.operator, condition.answer) == (
        "jamar_stiffness",
        "equals",
        True,
    )
    assert shipped["jamar"].item("jamar_stiffness").type is ItemType.BOOLEAN


def test_clinician_form_is_staff_only_with_the_published_ranges(shipped: dict[str, Form]) -> None:
    # instruments.md §2.4.
    clinician = shipped["clinician"]
    assert clinician.kind is FormKind.STAFF
    ranges = {item.link_id: (item.min, item.max) for item in clinician.items}
    assert ranges["phys_global"] == (0, 10)
    assert clinician.item("phys_global").step == 0.5
    assert ranges["active_joints"] == (0, 71)
    assert ranges["active_joints_27"] == (0, 27)
    assert ranges["limited_joints"] == (0, 69)
    assert ranges["esr"][0] == 0
    assert not clinician.item("crp").required
    assert clinician.item("jia_course").codes == ("oligo", "poly")


def test_clinician_form_1_1_0_adds_the_repeat_infusion_items(
    shipped: dict[str, Form], forms_dir: Path
) -> None:
    """instruments.md §4.1: a new version of clinician with infusion_given and
    disqualifying_treatment (yes/no, in English and Dutch); 1.0.0 kept as it was."""
    clinician = shipped["clinician"]
    assert clinician.version == "1.1.0"
    old = load_form(forms_dir / "versions" / "clinician-1.0.0.toml")
    assert old.version == "1.0.0"
    assert clinician.link_ids == (*old.link_ids, "infusion_given", "disqualifying_treatment")
    for link_id in ("infusion_given", "disqualifying_treatment"):
        item = clinician.item(link_id)
        assert item.type is ItemType.BOOLEAN
        # The form cannot see the visit: optional, and the text says at which visits.
        assert not item.required
        assert set(item.text) == set(item.help) == {"en", "nl"}
    assert "V1, V3 and V5" in clinician.item("infusion_given").help["en"]
    assert "V3 and V5" in clinician.item("disqualifying_treatment").help["en"]
    assert "biologic" in clinician.item("disqualifying_treatment").text["en"]
    answers = {"infusion_given": True, "disqualifying_treatment": False}
    assert validate_answers(clinician, answers) == answers


@pytest.mark.parametrize("form_id", ["vas_pain", "vas_wellbeing"])
def test_stand_alone_vas_forms_have_one_line_from_0_to_100(
    shipped: dict[str, Form], form_id: str
) -> None:
    # instruments.md §2.3.
    (item,) = shipped[form_id].items
    assert (item.link_id, item.type, item.min, item.max) == (form_id, ItemType.VAS, 0, 100)


def test_a_complete_chaq_answer_set_can_be_built_from_the_form_file(
    shipped: dict[str, Form],
) -> None:
    # Every answerable CHAQ item gets a valid answer derived only from the form file.
    chaq = shipped["chaq"]
    answers: dict[str, object] = {}
    for item in chaq.answerable_items:
        if item.type is ItemType.CHOICE:
            answers[item.link_id] = item.codes[-1]
        elif item.type is ItemType.CHECKLIST:
            # Every code ticked, "other" included, so chaq_devices_other is asked (§2.1).
            answers[item.link_id] = list(item.codes)
        elif item.type is ItemType.VAS:
            answers[item.link_id] = 37.0
        elif item.type is ItemType.TEXT:
            answers[item.link_id] = "a reacher"
    answers["chaq_walk_a"] = NA
    valid = validate_answers(chaq, answers)
    assert list(valid) == list(chaq.link_ids)
    assert valid["chaq_pain_vas"] == 37
    assert isinstance(valid["chaq_pain_vas"], int)
    assert valid["chaq_walk_a"] == NA
    assert valid["chaq_dress_a"] == 3


def test_chaq_devices_other_is_the_only_patient_text_item(shipped: dict[str, Form]) -> None:
    # F033: free text in patient forms only as an optional "other, describe" line.
    texts = [
        (form.id, item.link_id)
        for form in shipped.values()
        if form.kind is FormKind.PATIENT
        for item in form.items
        if item.type is ItemType.TEXT
    ]
    assert texts == [("chaq", "chaq_devices_other")]
    assert (
        validate_answer(shipped["chaq"].item("chaq_devices_other"), "  a grabber ") == "a grabber"
    )


def test_every_patient_question_has_parent_and_child_wording(shipped: dict[str, Form]) -> None:
    # instruments.md §2: parent (proxy) and child self-report versions of every patient form.
    for form in shipped.values():
        if form.kind is not FormKind.PATIENT:
            continue
        for item in form.items:
            for language in ("en", "nl"):
                parent = item.text_for(language, "parent")
                child = item.text_for(language, "child")
                assert parent
                assert child
                assert parent != child or item.link_id == "jamar_stiffness_duration", item.link_id


def test_chaq_not_applicable_answer_is_any_reason_not_only_age(shipped: dict[str, Form]) -> None:
    # instruments.md §2.1: "na" is "not applicable (e.g. too young)", not "not yet".
    for item in shipped["chaq"].answerable_items:
        if item.na_option:
            assert item.na_text == {
                "en": "Does not apply (for example, too young)",
                "nl": "Geldt niet (bijvoorbeeld: te jong)",
            }


@pytest.mark.parametrize("respondent", ["parent", "child"])
@pytest.mark.parametrize(
    ("language", "sentence"),
    [("en", "Tick nothing if no help was needed."), ("nl", "Kies niets als er geen hulp")],
)
def test_chaq_help_says_to_tick_nothing_when_no_help_was_needed(
    shipped: dict[str, Form], respondent: str, language: str, sentence: str
) -> None:
    # instruments.md §2.1: an empty chaq_help means no help; the question must say so.
    assert sentence in shipped["chaq"].item("chaq_help").text_for(language, respondent)


@pytest.mark.parametrize(
    ("link_id", "words"),
    [
        ("jamar_jafs_12", "comb your hair"),
        ("jamar_jafs_14", "turn your head to look over your shoulder"),
        ("jamar_jafs_15", "on your back"),
    ],
)
def test_jamar_child_questions_speak_of_the_childs_own_body(
    shipped: dict[str, Form], link_id: str, words: str
) -> None:
    # instruments.md §2.2: the child version's wording is addressed to the child.
    assert words in shipped["jamar"].item(link_id).text_for("en", "child")


def test_dutch_child_questions_say_je_haar_not_het_haar(shipped: dict[str, Form]) -> None:
    # instruments.md §2.2: child wording is addressed to the child, "je haar", not "het haar".
    checked = 0
    for form_id in ("chaq", "jamar"):
        for item in shipped[form_id].answerable_items:
            if "child" not in item.variants:
                continue
            text = item.text_for("nl", "child")
            for impersonal in ("het haar", "de nagels", "het hoofd", "de rug", "de schouder"):
                assert impersonal not in text, (item.link_id, impersonal)
            checked += any(own in text for own in ("je haar", "je nagels", "je hoofd"))
    assert checked >= 8  # CHAQ hair, nails, comb, shelf, sweater, head; JAMAR comb, head
