"""SPSS variable names and the .sav header's creation time, without writing a data file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from epro.errors import ExportError
from epro.export.layout import Measure
from epro.export.spss import header_stamp, stamp_header
from epro.export.spss_dictionary import Variable, check_names, clip


def numeric(name: str) -> Variable:
    return Variable(name, "a label", Measure.SCALE, "F8.0")


def test_the_header_holds_the_bundle_time_in_utc_with_an_english_month() -> None:
    # The SPSS header spells the date "dd Mmm yy" and the time "hh:mm:ss", 17 bytes in all.
    amsterdam = timezone(timedelta(hours=1))
    assert header_stamp(datetime(2025, 3, 14, 10, 26, 53, tzinfo=amsterdam)) == (
        b"14 Mar 2509:26:53"
    )
    assert header_stamp(datetime(2031, 12, 1, 0, 0, 7, tzinfo=UTC)) == b"01 Dec 3100:00:07"


def test_stamping_refuses_a_file_that_is_not_an_spss_system_file(tmp_path: Path) -> None:
    path = tmp_path / "wide.sav"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(ExportError, match="does not start like an SPSS system file"):
        stamp_header(path, datetime(2025, 3, 14, tzinfo=UTC))


@pytest.mark.parametrize(
    "name",
    ["9lives", "with space", "x" * 65, "WITH", "all", "_leading", "dash-ed"],
)
def test_a_name_spss_cannot_hold_is_refused_with_the_rule(name: str) -> None:
    with pytest.raises(ExportError, match="not a valid SPSS variable name"):
        check_names("wide.sav", [numeric("site"), numeric(name)])


def test_two_names_that_differ_only_in_case_are_refused() -> None:
    with pytest.raises(ExportError, match="used twice"):
        check_names("scores.sav", [numeric("esr"), numeric("ESR")])


def test_names_of_64_bytes_and_underscores_are_accepted() -> None:
    check_names("wide.sav", [numeric("x" * 64), numeric("chaq_devices_parent__wheelchair")])


def test_labels_are_cut_to_the_byte_limit_without_splitting_a_character() -> None:
    text = "é" * 200  # 400 bytes of UTF-8
    cut = clip(text, 255)
    assert len(cut.encode("utf-8")) <= 255
    assert cut.endswith("...")
    assert cut.removesuffix("...") == "é" * 126
    assert clip("short", 255) == "short"
