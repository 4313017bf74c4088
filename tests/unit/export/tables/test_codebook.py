"""The codebook: every column of every CSV file, described once, in CSV and in a readable page."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from epro.export.records import MISSING_CODES
from epro.scoring.catalogue import score_columns
from tests.helpers.tables_kit import INFUSION_LABEL, Scenario, read_csv, read_header, write_all

FILES = ("long.csv", "wide.csv", "scores.csv", "score_notes.csv")
CODEBOOK_HEADER = [
    "file",
    "variable",
    "label",
    "form",
    "respondent",
    "versions",
    "type",
    "measure",
    "codes",
    "missing",
    "empty_cell",
    "rule",
    "definition",
]


def codebook(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    return {(row["file"], row["variable"]): row for row in read_csv(out / "codebook.csv")}


@pytest.mark.parametrize("which", ["scenario", "deidentified", "every_form"])
def test_the_codebook_lists_every_column_of_every_file_in_file_order(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    scenario: Scenario = request.getfixturevalue(which)
    write_all(scenario, tmp_path)
    assert read_header(tmp_path / "codebook.csv") == CODEBOOK_HEADER
    rows = read_csv(tmp_path / "codebook.csv")
    listed = [(row["file"], row["variable"]) for row in rows]
    in_files = [(name, column) for name in FILES for column in read_header(tmp_path / name)]
    assert listed == in_files
    assert all(row["label"] and row["type"] and row["measure"] for row in rows)


def test_the_codebook_describes_an_item_with_its_codes_and_missing_codes(
    scenario: Scenario, tmp_path: Path
) -> None:
    """instruments.md §2.1 answer codes 0–3 and "na"; missing codes as SPSS numbers too."""
    write_all(scenario, tmp_path)
    found = codebook(tmp_path)
    dress = found[("wide.csv", "chaq_dress_a_parent")]
    assert dress == {
        "file": "wide.csv",
        "variable": "chaq_dress_a_parent",
        "label": "In the past week, how hard was it for your child to put on all their clothes, "
        "with buttons and shoe laces?",
        "form": "chaq",
        "respondent": "parent",
        "versions": "1.0.0",
        "type": "code",
        "measure": "ordinal",
        "codes": "0=Not hard at all; 1=A bit hard; 2=Very hard; 3=Could not do it",
        "missing": "na=-8; skipped=-7; not_reached=-9; not_collected=-6",
        "empty_cell": "",
        "rule": "",
        "definition": "",
    }
    wheelchair = found[("wide.csv", "chaq_devices_child__wheelchair")]
    assert (wheelchair["type"], wheelchair["codes"], wheelchair["measure"]) == (
        "flag",
        "0=no; 1=yes",
        "nominal",
    )
    assert wheelchair["label"].endswith(": A wheelchair")


def test_the_codebook_names_the_versions_that_have_each_item(
    scenario: Scenario, tmp_path: Path
) -> None:
    """A variable never changes meaning; a newer version's item is not_collected on older ones."""
    write_all(scenario, tmp_path)
    found = codebook(tmp_path)
    assert found[("wide.csv", "phys_global")]["versions"] == "1.0.0, 1.1.0"
    infusion = found[("wide.csv", "infusion_given")]
    assert (infusion["versions"], infusion["label"], infusion["type"]) == (
        "1.1.0",
        INFUSION_LABEL,
        "flag",
    )
    # A yes/no item offers no "not applicable".
    # Version 1.0.0 has no such item, so it may be "not asked".
    assert infusion["missing"] == "skipped=-7; not_reached=-9; not_asked=-5; not_collected=-6"
    assert found[("wide.csv", "clinician_version")]["versions"] == "1.0.0, 1.1.0"
    assert found[("long.csv", "form_version")]["versions"] == (
        "chaq 1.0.0, clinician 1.0.0, clinician 1.1.0, vas_pain 1.0.0"
    )


def test_the_codebook_says_the_wide_file_holds_the_last_of_two_submissions(
    scenario: Scenario, tmp_path: Path
) -> None:
    write_all(scenario, tmp_path)
    label = codebook(tmp_path)[("wide.csv", "vas_pain_parent_response_id")]["label"]
    assert "the last submitted, which the scores are computed from" in label
    page = (tmp_path / "codebook.html").read_text(encoding="utf-8")
    assert "the row holds the last submitted, the one the scores are computed from" in page


def test_every_score_in_the_codebook_names_its_section_of_instruments_md_and_its_rule(
    scenario: Scenario, tmp_path: Path
) -> None:
    write_all(scenario, tmp_path)
    found = codebook(tmp_path)
    for name, spec in score_columns():
        row = found[("scores.csv", name)]
        assert row["rule"] == f"instruments.md {spec.rule}", name
        assert row["definition"] == spec.definition, name
        assert row["type"] == spec.kind, name
        assert row["empty_cell"] == "null: score_notes.csv says why", name
    assert found[("scores.csv", "chaq_di")]["rule"] == "instruments.md §2.1"
    assert found[("scores.csv", "jadas71_category")]["codes"] == (
        "0=inactive; 1=low; 2=moderate; 3=high"
    )
    assert found[("scores.csv", "jadas71_category")]["measure"] == "ordinal"
    assert found[("scores.csv", "acr_pedi_30")]["codes"] == "0=no; 1=yes"
    copy = found[("scores.csv", "chaq_di_parent")]
    assert (copy["form"], copy["respondent"]) == ("chaq", "parent")
    assert copy["label"] == "CHAQ disability index (0–3), from the parent's answers only"


def test_the_long_file_missing_column_lists_its_four_words(
    scenario: Scenario, tmp_path: Path
) -> None:
    write_all(scenario, tmp_path)
    missing = codebook(tmp_path)[("long.csv", "missing")]
    words = [pair.split("=")[0] for pair in missing["codes"].split("; ")]
    assert words == ["na", "skipped", "not_reached", "not_asked"]
    assert missing["empty_cell"] == "answered"
    visit = codebook(tmp_path)[("long.csv", "visit")]
    assert visit["codes"] == "V0=week -12; V1=week 0 (baseline); V2=week 4; V3=week 8"


class Page(HTMLParser):
    """The tables of the page, each as rows of cell texts, and every tag and attribute seen."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.sections: list[str] = []
        self.tags: set[str] = set()
        self.links: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.links += [value or "" for key, value in attrs if key in ("href", "src")]
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "h2":
            self.sections.append(dict(attrs).get("id") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_the_readable_codebook_has_a_table_per_file_with_every_column(
    scenario: Scenario, tmp_path: Path
) -> None:
    write_all(scenario, tmp_path)
    page = Page()
    page.feed((tmp_path / "codebook.html").read_text(encoding="utf-8"))
    missing, *files = page.tables
    assert missing[1:] == [
        ["na", "-8", "not applicable (an answer the instrument offers)"],
        ["skipped", "-7", "skipped by the respondent after a confirmation"],
        ["not_reached", "-9", "not reached (the form was submitted without this item answered)"],
        ["not_collected", "-6", "not collected (the form was not submitted at this visit)"],
        [
            "not_asked",
            "-5",
            "not asked (the form's branching left it out given earlier answers, or the version "
            "answered has no such item)",
        ],
    ]
    assert [row[1] for row in missing[1:]] == [str(code) for code in MISSING_CODES.values()]
    assert [s for s in page.sections if s] == list(FILES)
    for name, table in zip(FILES, files, strict=True):
        assert [row[0] for row in table[1:]] == read_header(tmp_path / name), name
    infusion = next(row for row in files[1] if row[0] == "infusion_given")
    assert infusion[1] == INFUSION_LABEL


def test_the_readable_codebook_is_self_contained_and_escapes_form_texts(
    scenario: Scenario, tmp_path: Path
) -> None:
    """No scripts, nothing fetched from elsewhere; a label's markup characters stay text."""
    write_all(scenario, tmp_path)
    text = (tmp_path / "codebook.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    assert "script" not in page.tags
    assert all(link.startswith("#") for link in page.links)
    assert "&lt;V1, V3 or V5 only&gt; &amp; recorded" in text
    assert "<V1" not in text
