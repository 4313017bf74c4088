"""Loading form files from disk: exact-bytes digest, folders, and unreadable files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from epro.forms import FormProblems, default_forms_dir, load_form, load_forms, parse_form


def test_default_forms_dir_finds_the_shipped_forms(forms_dir: Path) -> None:
    assert (default_forms_dir() / "chaq.toml").read_bytes() == (
        forms_dir / "chaq.toml"
    ).read_bytes()


def test_load_form_records_the_sha256_of_the_exact_bytes(tmp_path: Path, forms_dir: Path) -> None:
    # DESIGN §3: every response records the SHA-256 of the form file.
    data = (forms_dir / "vas_pain.toml").read_bytes().replace(b"\n", b"\r\n")
    path = tmp_path / "vas_pain.toml"
    path.write_bytes(data)
    form = load_form(path)
    assert form.sha256 == hashlib.sha256(data).hexdigest()
    assert form.source == str(path)
    assert parse_form(data.decode("utf-8")).sha256 == form.sha256


def test_load_forms_skips_the_study_protocol(tmp_path: Path, forms_dir: Path) -> None:
    shutil.copy(forms_dir / "vas_pain.toml", tmp_path)
    (tmp_path / "study.toml").write_text("this is not a form", encoding="utf-8")
    assert list(load_forms(tmp_path)) == ["vas_pain"]


def test_load_forms_collects_problems_across_files(tmp_path: Path, forms_dir: Path) -> None:
    text = (forms_dir / "vas_pain.toml").read_text(encoding="utf-8")
    (tmp_path / "a.toml").write_text(text.replace('"1.0.0"\nkind', '"1"\nkind'), encoding="utf-8")
    (tmp_path / "b.toml").write_text(text, encoding="utf-8")
    (tmp_path / "c.toml").write_text(text, encoding="utf-8")
    (tmp_path / "d.toml").write_bytes(b'id = "\xff"\n')
    with pytest.raises(FormProblems) as caught:
        load_forms(tmp_path)
    found = {(Path(p.source).name, p.code) for p in caught.value.problems}
    assert found == {("a.toml", "F006"), ("c.toml", "F045"), ("d.toml", "F044")}


def test_load_form_of_a_missing_file_is_a_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(FormProblems, match=r"\[F044\] the file cannot be read"):
        load_form(tmp_path / "nope.toml")


def test_load_forms_of_a_missing_folder_is_a_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(FormProblems, match="F044"):
        load_forms(tmp_path / "nowhere")
