import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.processes
def test_committee_benchmark_quick_mode_prints_its_table(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "committee.py"),
            "--quick",
            "--repeats",
            "1",
            "--json",
            str(tmp_path / "out.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for method in ("serial loop", "loky", "joblib-dask", "daskcollab fit_parallel", "start_cluster()"):
        assert method in result.stdout
    rows = json.loads((tmp_path / "out.json").read_text())["rows"]
    assert {row["method"] for row in rows} >= {"serial loop", "daskcollab fit_parallel"}
    assert all(row["median_s"] > 0 for row in rows)


@pytest.mark.processes
def test_overheads_benchmark_quick_mode_prints_its_three_measurements():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "overheads.py"), "--quick", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for line in ("1. LogisticRegression on a worker", "2. a 5-tree ExtraTrees", "3. one wave of the committee"):
        assert line in result.stdout
    assert "start_cluster()" in result.stdout and "distributed's defaults" in result.stdout


@pytest.mark.processes
def test_collab_accuracy_benchmark_quick_mode_prints_every_setting(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "collab_accuracy.py"),
            "--quick",
            "--json",
            str(tmp_path / "c.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for method in ("soft vote", "hard vote", "cross_eval", "stacking", "fedavg", "distilled"):
        assert method in result.stdout
    table = json.loads((tmp_path / "c.json").read_text())["table"]
    assert all(" ± " in row["accuracy"] and " ± " in row["central"] for row in table)
