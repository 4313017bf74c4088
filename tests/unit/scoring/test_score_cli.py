"""`epro score`: real form files, JSON in, one JSON object out, clear messages on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from epro.cli import main


def complete_chaq(forms_dir: Path) -> tuple[dict[str, Any], Fraction]:
    """Every CHAQ activity item of forms/chaq.toml answered, and the DI worked out by hand."""
    form = tomllib.loads((forms_dir / "chaq.toml").read_text(encoding="utf-8"))
    pattern: list[int | str] = [0, 1, "na", 2, 3, 1, 0]
    answers: dict[str, Any] = {}
    highest: dict[str, int] = {}
    scored_items = [item for item in form["items"] if item.get("options") == "difficulty"]
    assert len(scored_items) == 30  # instruments.md §2.1: 30 items
    for n, item in enumerate(scored_items):
        value = pattern[n % len(pattern)]
        answers[item["link_id"]] = value
        if isinstance(value, int):
            highest[item["group"]] = max(highest.get(item["group"], 0), value)
    answers["chaq_devices"] = []
    answers["chaq_help"] = []
    assert len(highest) == 8
    return answers, Fraction(sum(highest.values()), len(highest))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(["score", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def write(tmp_path: Path, data: object, name: str = "visit.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_complete_chaq_from_the_form_file_scores_the_hand_computed_di(
    tmp_path: Path, forms_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§2.1: DI = mean of the domain maxima, "na" excluded."""
    answers, di = complete_chaq(forms_dir)
    path = write(tmp_path, {"form": "chaq", "respondent": "child", "answers": answers})
    code, output, _ = run(capsys, str(path))
    assert code == 0
    assert output["scores"]["chaq_di"] == float(di)
    assert output["scores"]["chaq_domains_scored"] == 8


def epro_command() -> list[str]:
    script = Path(sys.executable).parent / "epro"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from epro.cli import main; sys.exit(main())"]


def test_epro_score_in_a_real_process(tmp_path: Path, forms_dir: Path) -> None:
    answers, di = complete_chaq(forms_dir)
    path = write(
        tmp_path,
        {"responses": [{"form": "chaq", "respondent": "parent", "answers": answers}], "age": 6},
    )
    done = subprocess.run(
        [*epro_command(), "score", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scores"]["chaq_di"] == float(di)
    bad = subprocess.run(
        [*epro_command(), "score", str(tmp_path / "absent.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0
    assert bad.stderr.startswith("epro: ")
    assert "Traceback" not in bad.stderr


def visit(
    phys: float, wellbeing: int, chaq_first_items: list[int], joints: int, limited: int, esr: int
) -> dict[str, Any]:
    items = [
        "chaq_dress_a",
        "chaq_arise_a",
        "chaq_eat_a",
        "chaq_walk_a",
        "chaq_hygiene_a",
        "chaq_reach_a",
        "chaq_grip_a",
        "chaq_activ_a",
    ]
    return {
        "age": 12,
        "responses": [
            {
                "form": "chaq",
                "respondent": "child",
                "answers": dict(zip(items, chaq_first_items, strict=True)),
            },
            {
                "form": "vas_wellbeing",
                "respondent": "child",
                "answers": {"vas_wellbeing": wellbeing},
            },
            {
                "form": "clinician",
                "answers": {
                    "phys_global": phys,
                    "active_joints": joints,
                    "active_joints_27": min(joints, 27),
                    "limited_joints": limited,
                    "esr": esr,
                    "jia_course": "poly",
                },
            },
        ],
    }


def test_baseline_option_gives_acr_pedi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """§4 worked check through the CLI: Pedi 30 yes, Pedi 50 no."""
    base = write(tmp_path, visit(6, 70, [2, 2, 2, 2, 1, 1, 1, 1], 10, 8, 40), "base.json")
    now = write(tmp_path, visit(3, 40, [2, 2, 1, 1, 1, 1, 1, 1], 5, 8, 42))
    code, output, _ = run(capsys, str(now), "--baseline", str(base))
    assert code == 0
    assert output["scores"]["acr_pedi_30"] is True
    assert output["scores"]["acr_pedi_50"] is False
    assert output["scores"]["acr_change_chaq_di"] == pytest.approx(50 / 3)
    assert output["notes"] == {}


BAD_INPUT = [
    pytest.param(None, "no such file", id="missing file"),
    pytest.param(
        '{"form": "chaq",\n  "answers": {,}}',
        "line 2, column 15",
        id="malformed JSON names line and column",
    ),
    pytest.param('{"form": "chaq", "answers": {"chaq_walk_a": NaN}}', "NaN", id="NaN refused"),
    pytest.param("[1, 2]", "expected a JSON object", id="not an object"),
    pytest.param({"form": "chac", "answers": {}}, "did you mean 'chaq'", id="unknown form"),
    pytest.param(
        {"form": "chaq", "answers": {"chaq_wlak_a": 1}},
        "did you mean 'chaq_walk_a'",
        id="unknown variable",
    ),
    pytest.param(
        {"form": "chaq", "answers": {"chaq_walk_a": 4}},
        "chaq_walk_a",
        id="§2.1 value outside the scale",
    ),
    pytest.param(
        {"form": "vas_pain", "answers": {"vas_pain": 101}}, "vas_pain", id="§2.3 VAS above 100"
    ),
    pytest.param({"responses": {"form": "chaq"}}, "non-empty list", id="responses not a list"),
    pytest.param(
        {"form": "chaq", "answers": [1]}, '"answers" must be an object', id="answers not an object"
    ),
    pytest.param(
        {"form": "chaq", "answers": {}, "age": "ten"}, "'age' must be", id="age not a number"
    ),
    pytest.param(
        {"form": "chaq", "respondent": "nurse", "answers": {}},
        "respondent",
        id="unknown respondent",
    ),
    pytest.param(
        {"form": "chaq", "answers": {}, "vist": "V2"}, "unknown key(s) 'vist'", id="unknown key"
    ),
    pytest.param(
        {"form": "chaq", "answers": {}, "visit": 3}, "'visit' must be a visit code", id="visit code"
    ),
    pytest.param(
        {"form": "chaq", "answers": {}, "visit": "V9"},
        "'V9' is not a visit of study MSC-JIA-DEMO; use one of V0, V1",
        id="unknown visit",
    ),
    pytest.param({"answers": {}}, '"responses"', id="neither responses nor form"),
]


@pytest.mark.parametrize(("content", "fragment"), BAD_INPUT)
def test_bad_input_gives_a_clear_message_and_non_zero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object, fragment: str
) -> None:
    path = tmp_path / "visit.json"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        write(tmp_path, content)
    code = main(["score", str(path)])
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    assert err.startswith("epro: ")
    assert fragment in err
    assert "Traceback" not in err


def test_out_of_scale_message_does_not_repeat_the_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, {"form": "vas_pain", "answers": {"vas_pain": 4321}})
    assert main(["score", str(path)]) != 0
    assert "4321" not in capsys.readouterr().err


def test_bad_baseline_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = write(tmp_path, {"form": "vas_pain", "answers": {"vas_pain": 10}})
    code, _, err = run(capsys, str(now), "--baseline", str(tmp_path / "base.json"))
    assert code != 0
    assert "base.json: no such file" in err
