import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.processes
def test_peer_benchmark_quick_mode_prints_every_section_and_writes_its_files(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "peers.py"), "--quick", "--repeats", "1", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for text in (
        "serial loop",
        "loky",
        "joblib-dask",
        "daskcollab fit_parallel",
        "start_cluster()",
        "dask-ml BlockwiseVotingClassifier",
        "string labels",
        "tiny fits",
        "per no-op task",
        "Karp-Flatt",
        "Amdahl fit",
    ):
        assert text in result.stdout, text
    report = json.loads((tmp_path / "peers.json").read_text())
    methods = {row["method"] for row in report["rows"]}
    assert {"serial loop", "daskcollab fit_parallel"} <= methods
    assert all(row["median_s"] > 0 for row in report["rows"] if "median_s" in row)
    assert report["profile"]["data_bytes"] > 0 and report["speedup"]["table"][0]["workers"] == 1
    assert (tmp_path / "peers.png").stat().st_size > 0 and (tmp_path / "speedup.png").stat().st_size > 0


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


@pytest.mark.processes
def test_out_of_core_quick_mode_fits_and_predicts_without_a_restart():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "out_of_core.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [line for line in lines if line.startswith(("SGDClassifier", "GaussianNB"))]
    assert len(rows) == 2 and all(line.rstrip().endswith("dask Array") for line in rows)
    assert all(float(line.split()[4]) > 0.85 for line in rows)  # accuracy on the lazy array
    assert "restarted (killed past their memory limit): no" in result.stdout
