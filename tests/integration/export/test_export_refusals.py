"""An export that cannot be made is refused with a plain message and exit status 2, and
nothing is written: no folder, no half-written files, no temporary folder left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from epro.cli import main
from epro.crypto import FAST_KDF, generate_study_keypair
from epro.errors import ExportError
from epro.export.pipeline import ExportOptions, run_export
from epro.export.records import ExportContext, PatientRecord, WrittenFile
from tests.helpers.export_support import STUDY_PASSPHRASE, Built, RecordsWriter


def _export(built: Built, bundle: Path, out: Path, *extra: str) -> int:
    key = str(built.trial.key.file)
    return main(["export", str(bundle), "--study-key", key, "--out", str(out), *extra])


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPRO_STUDY_KEY_PASSPHRASE", STUDY_PASSPHRASE)


def _nothing_written(folder: Path, out: Path) -> None:
    assert not out.exists()
    assert [p.name for p in folder.iterdir() if p.name.startswith(f".{out.name}")] == []


def test_a_truncated_bundle_is_refused(
    built: Built, tmp_path: Path, passphrase: None, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.bundle"
    data = built.clean.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "export"
    assert _export(built, cut, out) == 2
    err = capsys.readouterr().err
    assert "the bundle cut.bundle is truncated: it ends before its manifest" in err
    assert "Traceback" not in err
    _nothing_written(tmp_path, out)


def test_a_wrong_passphrase_is_refused(
    built: Built,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EPRO_STUDY_KEY_PASSPHRASE", "not the passphrase")
    out = tmp_path / "export"
    assert _export(built, built.clean, out) == 2
    err = capsys.readouterr().err
    assert "the passphrase of the study private key is not right" in err
    assert "nothing was written" in err
    _nothing_written(tmp_path, out)


def test_an_output_folder_that_is_not_empty_is_refused_and_left_alone(
    built: Built, tmp_path: Path, passphrase: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    out.mkdir()
    (out / "notes.txt").write_text("last month's export", encoding="utf-8")
    assert _export(built, built.clean, out) == 2
    assert "is not empty; choose a new folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_a_study_key_that_is_not_the_bundle_s_is_refused(
    built: Built,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = tmp_path / "other-key.json"
    other.write_text(generate_study_keypair().to_encrypted_json("other passphrase", FAST_KDF))
    monkeypatch.setenv("EPRO_STUDY_KEY_PASSPHRASE", "other passphrase")
    out = tmp_path / "export"
    args = ["export", str(built.clean), "--study-key", str(other), "--out", str(out)]
    assert main(args) == 2
    assert "holds responses sealed to study key" in capsys.readouterr().err
    _nothing_written(tmp_path, out)


def test_a_file_that_is_not_a_bundle_is_refused(
    built: Built, tmp_path: Path, passphrase: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    assert _export(built, built.trial.key.file, out) == 2
    assert "is not an epro export bundle" in capsys.readouterr().err
    _nothing_written(tmp_path, out)


class _FailingWriter(RecordsWriter):
    """A format writer that fails at its second patient, as a full disk would."""

    def begin(self, out: Path, context: ExportContext) -> None:
        super().begin(out, context)
        self.seen = 0

    def add_patient(self, patient: PatientRecord) -> None:
        super().add_patient(patient)
        self.seen += 1
        if self.seen == 2:
            self._handle.close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def finish(self) -> list[WrittenFile]:
        raise AssertionError("never reached")


def test_an_export_that_fails_half_way_leaves_nothing_behind(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "export"
    with pytest.raises(
        ExportError, match=r"could not be written .*No space left.*nothing was kept"
    ):
        run_export(
            built.clean,
            built.trial.key.private,
            out,
            writers=[_FailingWriter()],
            options=ExportOptions(workers=0),
        )
    _nothing_written(tmp_path, out)


def test_max_shift_days_without_deidentify_is_refused(
    built: Built, tmp_path: Path, passphrase: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    assert _export(built, built.clean, out, "--max-shift-days", "30") == 2
    assert "--max-shift-days goes with --deidentify" in capsys.readouterr().err
    _nothing_written(tmp_path, out)


def test_a_forms_folder_that_cannot_be_read_is_refused(
    built: Built, tmp_path: Path, passphrase: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    assert _export(built, built.clean, out, "--forms", str(tmp_path / "no-forms")) == 2
    err = capsys.readouterr().err
    assert "the forms cannot be used: the forms folder" in err
    assert "nothing was written" in err
    _nothing_written(tmp_path, out)
