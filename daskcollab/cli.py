"""Command line: ``daskcollab demo`` (also ``python -m daskcollab demo``)."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from daskcollab.datasets import DATASETS, load_dataset

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument ends with one line and exit code 2."""

    def error(self, message):
        self.exit(2, f"daskcollab: error: {message}\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def build_parser():
    parser = _Parser(prog="daskcollab", description="Fit committees of scikit-learn models in parallel on Dask.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    demo = commands.add_parser(
        "demo",
        help="fit a committee on a local cluster and report accuracy and speedup",
        description=(
            "Start a local Dask cluster, fit a heterogeneous committee in parallel (one task per member), "
            "then print each member's accuracy and fit time, the ensemble's accuracy with equal and with "
            "learned weights, and the serial against the parallel wall time. Writes accuracy.png and "
            "speedup.png into --out."
        ),
    )
    demo.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="data set that ships with scikit-learn, or 'synthetic' (default: digits)",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("daskcollab-results"),
        help="folder for accuracy.png and speedup.png (default: ./daskcollab-results)",
    )
    demo.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: one per core)")
    demo.add_argument(
        "--seeds", type=_positive_int, default=3, help="seeded replicas of the MLP and the random forest (default: 3)"
    )
    demo.add_argument(
        "--test-size", type=_fraction, default=0.25, help="fraction of rows held out for testing (default: 0.25)"
    )
    demo.add_argument(
        "--weights",
        choices=("accuracy", "logodds"),
        default="logodds",
        help="how the learned weights are computed (default: logodds)",
    )
    demo.add_argument("--random-state", type=int, default=0, help="seed of the train/test split (default: 0)")
    demo.add_argument("--no-serial", action="store_true", help="skip the serial run (then no speedup is reported)")
    bench = commands.add_parser(
        "bench",
        help="measure daskcollab against the serial loop, scikit-learn, joblib-dask and dask-ml",
        description=(
            "The peer benchmark (daskcollab/bench.py): committee speedups, dask-ml's blockwise ensemble, "
            "tiny fits, overheads and the speedup curve. Prints the tables and writes peers.json, "
            "peers.png and speedup.png into --out. Takes several minutes; --quick takes seconds."
        ),
    )
    bench.add_argument("--quick", action="store_true", help="small data and few fits: a smoke run")
    bench.add_argument("--repeats", type=_positive_int, default=3, help="timed rounds per method (default: 3)")
    bench.add_argument(
        "--out",
        type=Path,
        default=Path("daskcollab-results"),
        help="folder for peers.json, peers.png and speedup.png (default: ./daskcollab-results)",
    )
    return parser


def demo_committee(seeds):
    """The demo's members: the classic MLP over seeds, next to other model types."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    from daskcollab.members import replicate_seeds

    mlp = make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(10,), solver="sgd", alpha=1e-4, max_iter=1000)
    )
    seeded = replicate_seeds([("mlp", mlp), ("rf", RandomForestClassifier(n_estimators=100))], seeds)
    return seeded + [
        ("logreg", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
        ("extratrees", ExtraTreesClassifier(n_estimators=100, random_state=0)),
        ("tree", DecisionTreeClassifier(random_state=0)),
        ("naivebayes", GaussianNB()),
    ]


def run_demo(args, out=sys.stdout):
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    from daskcollab.cluster import start_cluster, worker_threads
    from daskcollab.dispatch import fit_parallel
    from daskcollab.measure import compare_accuracy
    from daskcollab.plotting import plot_accuracy
    from daskcollab.voting import WeightedVotingClassifier

    def say(text=""):
        print(text, file=out, flush=True)

    X, y, description = load_dataset(args.dataset)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, stratify=y, random_state=args.random_state
    )
    members = demo_committee(args.seeds)
    args.out.mkdir(parents=True, exist_ok=True)
    say(f"data: {description}; {len(X_train)} rows to train on, {len(X_test)} to test")
    started = time.perf_counter()
    with start_cluster(n_workers=args.workers) as client:
        n_workers = len(worker_threads(client))
        say(f"cluster: {n_workers} workers x 1 thread, ready in {time.perf_counter() - started:.1f} s")
        say(f"dashboard: {client.dashboard_link}")
        say(f"fitting {len(members)} members in parallel, one task each:")
        fitted = fit_parallel(members, X_train, y_train, client=client, progress=True)
        learned = WeightedVotingClassifier(members, weights=args.weights, random_state=args.random_state)
        learned.fit(X_train, y_train)
    equal = WeightedVotingClassifier.from_estimators(fitted.estimators)
    table = compare_accuracy(equal, X_test, y_test, equal_weights=False)
    seconds = {t.name: t.seconds for t in fitted.timings}
    say()
    say(f"{'member':14s} {'fit s':>7s} {'test accuracy':>14s}")
    for row in table[table.kind == "member"].itertuples():
        say(f"{row.name:14s} {seconds[row.name]:7.2f} {row.accuracy:14.3f}")
    learned_accuracy = float(np.mean(learned.predict(X_test) == y_test))
    equal_accuracy = float(table.loc[table.kind == "ensemble", "accuracy"].iloc[0])
    best = table[table.kind == "member"].sort_values("accuracy").iloc[-1]
    say(f"{'best member':14s} {'':7s} {best.accuracy:14.3f}  ({best['name']})")
    say(f"{'ensemble, equal weights':31s} {equal_accuracy:7.3f}")
    say(f"{f'ensemble, {args.weights} weights':31s} {learned_accuracy:7.3f}")
    say()
    parallel = fitted.wall_time
    serial = None
    if not args.no_serial:
        say("fitting the same members one after another in this process (1 BLAS thread) ...")
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            begin = time.perf_counter()
            for _, est in members:
                clone(est).fit(X_train, y_train)
            serial = time.perf_counter() - begin
        say(
            f"serial {serial:.2f} s, parallel on {n_workers} workers {parallel:.2f} s: "
            f"speedup {serial / parallel:.2f}x, efficiency {serial / parallel / n_workers:.0%}"
        )
    else:
        say(f"parallel on {n_workers} workers: {parallel:.2f} s")
    learned_row = pd.DataFrame([dict(name=f"ensemble ({args.weights})", kind="ensemble", accuracy=learned_accuracy)])
    full = pd.concat(
        [table.replace({"name": {"ensemble (weights)": "ensemble (equal)"}}), learned_row], ignore_index=True
    )
    _save(plot_accuracy(full), args.out / "accuracy.png")
    _save(_plot_wall_times(serial, parallel, n_workers), args.out / "speedup.png")
    say(f"wrote {args.out / 'accuracy.png'} and {args.out / 'speedup.png'}")
    return 0


def _plot_wall_times(serial, parallel, n_workers):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    labels, values = [f"parallel, {n_workers} workers"], [parallel]
    if serial is not None:
        labels.insert(0, "serial loop")
        values.insert(0, serial)
        ax.set_title(f"speedup {serial / parallel:.2f}x on {n_workers} workers")
    ax.barh(labels, values, color=["tab:gray", "tab:blue"][-len(values) :])
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("run")
    return ax


def _save(ax, path):
    import matplotlib.pyplot as plt

    ax.figure.savefig(path, dpi=100)
    plt.close(ax.figure)


def main(argv=None):
    """Entry point of the ``daskcollab`` command."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo(args)
        if args.command == "bench":
            from daskcollab.bench import run_bench

            run_bench(quick=args.quick, repeats=args.repeats, out=args.out)
            return 0
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        print(f"daskcollab: error: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
