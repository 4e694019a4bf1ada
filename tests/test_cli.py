import subprocess
import sys

import pytest

from daskcollab.cli import build_parser, demo_committee, main


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "daskcollab", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.processes
def test_demo_runs_end_to_end(tmp_path):
    result = run("demo", "--dataset", "iris", "--seeds", "2", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "dashboard: http://127.0.0.1:" in out
    for line in (
        "member",
        "mlp-0",
        "mlp-1",
        "rf-1",
        "ensemble, equal weights",
        "ensemble, logodds weights",
        "serial",
        "speedup",
    ):
        assert line in out
    assert "fitted 1/" in result.stderr  # progress while it runs
    assert (tmp_path / "out" / "accuracy.png").stat().st_size > 0
    assert (tmp_path / "out" / "speedup.png").stat().st_size > 0


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--dataset",
        "--out",
        "--workers",
        "--seeds",
        "--test-size",
        "--weights",
        "--random-state",
        "--no-serial",
        "iris",
        "digits",
        "synthetic",
    ):
        assert option in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["demo", "--workers", "0"], "expected a positive integer, got '0'"),
        (["demo", "--test-size", "2"], "expected a number between 0 and 1, got '2'"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["bench", "--repeats", "0"], "expected a positive integer, got '0'"),
        (["bench", "--fast"], "unrecognized arguments: --fast"),
        ([], "required: command"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_bench_help_documents_its_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--quick", "--repeats", "--out", "dask-ml", "peers.json"):
        assert option in text


def test_demo_committee_has_the_classic_mlp_over_seeds():
    members = dict(demo_committee(3))
    for seed in range(3):
        mlp = members[f"mlp-{seed}"][-1]
        assert (mlp.hidden_layer_sizes, mlp.solver, mlp.alpha, mlp.max_iter, mlp.random_state) == (
            (10,),
            "sgd",
            1e-4,
            1000,
            seed,
        )
    assert build_parser().parse_args(["demo"]).dataset == "digits"
