"""Every bad response in a bundle (DESIGN §9): one row of problems.csv with a plain reason,
and every good response still exported.

The damaged bundle comes from a real server database: kiosk-signed, really sealed envelopes,
damaged in the database or forged with a real kiosk's key and uploaded through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from epro.export.pipeline import ExportOptions, ExportReport, run_export
from tests.helpers.export_support import Built, RecordsWriter, read_problems, read_records


@dataclass
class Damaged:
    out: Path
    report: ExportReport
    problems: list[dict[str, str]]
    records: dict[str, dict[str, Any]]
    exported: set[str]


@pytest.fixture(scope="module")
def damaged(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Damaged:
    out = tmp_path_factory.mktemp("damaged") / "export"
    report = run_export(
        built.damaged,
        built.trial.key.private,
        out,
        writers=[RecordsWriter()],
        options=ExportOptions(workers=0),
    )
    records = read_records(out)
    exported = {r["response_id"] for record in records.values() for r in record["responses"]}
    return Damaged(out, report, read_problems(out), records, exported)


def _only_row(damaged: Damaged, response_id: str, kind: str = "rejected") -> dict[str, str]:
    rows = [row for row in damaged.problems if row["response_id"] == response_id]
    assert len(rows) == 1, rows
    assert rows[0]["kind"] == kind
    return rows[0]


def test_every_good_response_is_exported_in_spite_of_the_bad_ones(
    built: Built, damaged: Damaged
) -> None:
    good = {rid for ids in built.ids.good.values() for rid in ids}
    assert damaged.exported == good
    assert not set(built.ids.damaged.values()) - {built.ids.damaged["conflict"]} & good


def test_an_export_with_problems_is_written_and_exits_with_status_1(damaged: Damaged) -> None:
    assert damaged.report.exit_status == 1
    assert (damaged.out / "MANIFEST.json").is_file()
    assert [row["kind"] for row in damaged.problems].count("rejected") == 6
    assert damaged.report.problems == len(damaged.problems) == 9


def test_a_flipped_byte_in_one_stored_envelope_rejects_that_response(
    built: Built, damaged: Damaged
) -> None:
    row = _only_row(damaged, built.ids.damaged["content_hash"])
    assert row["check"] == "content_hash"
    assert "it was changed after it was signed" in row["reason"]
    assert row["patient"] == "DEMO-003"
    assert built.ids.damaged["content_hash"] not in damaged.exported


def test_an_envelope_re_signed_with_another_kiosk_s_key_is_rejected(
    built: Built, damaged: Damaged
) -> None:
    row = _only_row(damaged, built.ids.damaged["signature"])
    assert row["check"] == "signature"
    assert row["reason"] == "the signature is not valid for the key registered for its kiosk"
    assert row["device_id"] == built.trial.kiosks[1].device_id
    assert built.ids.damaged["signature"] not in damaged.exported


def test_sealed_answers_of_another_patient_than_their_envelope_are_a_forgery(
    built: Built, damaged: Damaged
) -> None:
    row = _only_row(damaged, built.ids.damaged["routing"])
    assert row["check"] == "routing"
    assert "name another patient than their envelope: a forgery" in row["reason"]
    # Neither the patient the envelope names nor the one inside gets the forged answers.
    assert built.ids.damaged["routing"] not in damaged.exported


def test_an_unknown_form_version_is_rejected_saying_where_its_file_goes(
    built: Built, damaged: Damaged
) -> None:
    row = _only_row(damaged, built.ids.damaged["form_version"])
    assert row["check"] == "form_version"
    assert row["reason"] == (
        "form vas_pain version 1.1.0 is not known to this export; add its form file to "
        "forms/versions/"
    )


def test_an_answer_outside_its_scale_is_rejected_naming_the_item_not_the_value(
    built: Built, damaged: Damaged
) -> None:
    row = _only_row(damaged, built.ids.damaged["answers"])
    assert row["check"] == "answers"
    assert "item vas_wellbeing: the answer is above the highest value, 100" in row["reason"]
    assert "150" not in row["reason"]


def test_a_response_submitted_after_its_kiosk_was_revoked_is_rejected(
    built: Built, damaged: Damaged
) -> None:
    row = _only_row(damaged, built.ids.damaged["revocation"])
    assert row["check"] == "revocation"
    assert row["reason"].startswith("submitted after its kiosk was revoked")
    # The patient is still exported (from the roster), without that response.
    assert damaged.records["DEMO-004"]["responses"] == []


def test_a_quarantined_conflict_is_its_own_kind_and_the_first_copy_is_exported(
    built: Built, damaged: Damaged
) -> None:
    row = _only_row(damaged, built.ids.damaged["conflict"], kind="conflict")
    assert "kept apart in quarantine and only the first copy is exported" in row["reason"]
    assert "validly signed by its kiosk" in row["reason"]
    (first,) = damaged.records["DEMO-003"]["responses"]
    assert first["response_id"] == built.ids.damaged["conflict"]
    assert first["language"] == "en"  # the copy said "nl"


def test_a_patient_the_roster_does_not_know_is_exported_without_ages_and_reported(
    damaged: Damaged,
) -> None:
    rows = [row for row in damaged.problems if row["patient"] == "DEMO-099"]
    assert [(row["kind"], row["check"]) for row in rows] == [("roster", "roster")]
    record = damaged.records["DEMO-099"]
    assert record["birth_ym"] is None
    assert [visit["age_years"] for visit in record["visits"]] == [None]


def test_two_responses_of_one_form_at_one_visit_score_the_later_and_export_both(
    built: Built, damaged: Damaged
) -> None:
    """DESIGN §9: the latest submission is scored; every one is exported."""
    row = _only_row(damaged, built.ids.superseded, kind="superseded")
    assert row["reason"] == (
        "vas_pain by the child at V2: a later submission of this form by the same respondent "
        "at this visit is the one scored"
    )
    record = damaged.records["DEMO-001"]
    statuses = {r["response_id"]: r["status"] for r in record["responses"]}
    assert statuses[built.ids.superseded] == "superseded"
    assert statuses[built.ids.superseding] == "valid"
    (v2,) = [visit for visit in record["visits"] if visit["visit"] == "V2"]
    assert built.ids.superseded not in [r["response_id"] for r in v2["responses"]]
    assert v2["scores"]["vas_pain"] == 20  # the later answer; the earlier one said 50


def test_no_row_of_problems_csv_quotes_an_answer(built: Built, damaged: Damaged) -> None:
    assert built.ids.free_text not in (damaged.out / "problems.csv").read_text(encoding="utf-8")
    for row in damaged.problems:
        assert "150" not in row["reason"]
        assert "44" not in row["reason"]


def test_every_format_writes_the_damaged_bundle_with_its_superseded_response(
    built: Built, tmp_path: Path
) -> None:
    """The real writers, not only the records: a bundle with rejected, conflicting and
    superseded responses is written whole by every format, the superseded one marked."""
    import json

    out = tmp_path / "export"
    report = run_export(built.damaged, built.trial.key.private, out, options=ExportOptions())
    assert report.exit_status == 1
    superseded = built.ids.superseded
    lines = (out / "fhir" / "QuestionnaireResponse.ndjson").read_text(encoding="utf-8")
    (line,) = [json.loads(x) for x in lines.splitlines() if superseded in x and '"id"' in x]
    assert line["status"] == "completed"
    from epro.export.assemble import SUPERSEDED_REASON

    reasons = {
        e.get("valueString") for e in line["extension"] if e["url"].endswith("status-reason")
    }
    assert reasons == {SUPERSEDED_REASON}
    odm = (out / "odm" / "study.xml").read_text(encoding="utf-8")
    form = odm[odm.index(f'FormRepeatKey="{superseded}"') :]
    assert '<FlagValue CodeListOID="CL.EPRO.FLAG">superseded</FlagValue>' in form[:2000]
    long_rows = (out / "long.csv").read_text(encoding="utf-8").splitlines()
    assert any(superseded in row and ",superseded," in row for row in long_rows)
