"""The export benchmark runs end to end at a small size (its figures are not judged here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_export_benchmark_runs_and_reports_every_figure() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "export.py"), "--responses", "120", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["responses"] == 120
    assert result["quarter_responses"] == 49  # the first of the three patients
    for figure in ("export_ratio", "cpu_ratio", "peak_rss_mb", "peak_rss_mb_quarter"):
        assert result[figure] > 0, figure
    assert result["rss_growth"] > 0
    assert "VmHWM" in result["memory_measured_as"]  # the benchmark says how it measured
