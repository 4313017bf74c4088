"""The sync benchmark runs end to end at a small size (its figures are not judged here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_sync_benchmark_runs_and_reports_every_figure() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "sync.py"),
            "--n",
            "30",
            "--batch",
            "10",
            "--repeat",
            "1",
            "--server-rows",
            "120",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert (result["n"], result["batch"], result["server_rows"]) == (30, 10, 120)
    assert result["sqlite_app_seconds"] > 0
    assert result["bare_seconds"] > 0
    assert result["ratio"] > 0
    if os.environ.get("EPRO_TEST_POSTGRES_URL"):
        assert result["postgres_seconds_10k"] > 0
    else:
        assert result["postgres_seconds_10k"] is None
