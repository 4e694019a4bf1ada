"""The core committee benchmark: fit_parallel against the serial loop and the peers.

Run ``python benchmarks/committee.py`` (``--quick`` for a small smoke run).

Measured side by side in one process, warm against warm, medians of
``--repeats`` rounds whose method order rotates each round:

- serial: ``clone(est).fit`` in a loop in this process, BLAS at 1 thread;
- loky: sklearn ``VotingClassifier(n_jobs=2)`` (its worker pool stays warm);
- joblib-dask: the same VotingClassifier under ``joblib.parallel_backend("dask")``
  on the same cluster daskcollab uses;
- daskcollab: ``fit_parallel`` on a warm 2-worker ``start_cluster()``;
- daskcollab on 1 worker: the same code path on one worker (relative T1).

Cluster start-up time is reported on its own line.
"""

from __future__ import annotations

import argparse
import warnings
import json
import statistics
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

import daskcollab as dc


def committee(quick=False):
    """The core issue's 8-member committee (smaller forests with --quick)."""
    trees = 10 if quick else 60
    return [
        ("lr", LogisticRegression(max_iter=500)),
        ("rf-0", RandomForestClassifier(n_estimators=trees, random_state=0)),
        ("rf-1", RandomForestClassifier(n_estimators=trees, random_state=1)),
        ("et", ExtraTreesClassifier(n_estimators=trees, random_state=0)),
        ("mlp-0", MLPClassifier((32,), max_iter=20 if quick else 60, random_state=0)),
        ("mlp-1", MLPClassifier((32,), max_iter=20 if quick else 60, random_state=1)),
        ("tree-0", DecisionTreeClassifier(random_state=0)),
        ("tree-1", DecisionTreeClassifier(random_state=1)),
    ]


def data(quick=False):
    n = 2_000 if quick else 20_000
    X, y = make_classification(n_samples=n, n_features=40, n_informative=20, n_classes=3, random_state=0)
    n_train = int(0.8 * n)
    return X[:n_train], y[:n_train]


def run_serial(members, X, y, client):
    for _, est in members:
        clone(est).fit(X, y)


def run_loky(members, X, y, client):
    VotingClassifier(members, n_jobs=2).fit(X, y)


def run_joblib_dask(members, X, y, client):
    with joblib.parallel_backend("dask"):
        VotingClassifier(members, n_jobs=-1).fit(X, y)


def run_daskcollab(members, X, y, client):
    dc.fit_parallel(members, X, y, client=client)


METHODS = {
    "serial loop": run_serial,
    "sklearn VotingClassifier, loky n_jobs=2": run_loky,
    "sklearn VotingClassifier, joblib-dask": run_joblib_dask,
    "daskcollab fit_parallel": run_daskcollab,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per method (default 3)")
    parser.add_argument("--quick", action="store_true", help="small data and forests, for a smoke test")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*Maximum iterations")  # --quick MLPs stop early on purpose
    members = committee(args.quick)
    X, y = data(args.quick)
    one = dc.start_cluster(n_workers=1)
    started = time.perf_counter()
    client = dc.start_cluster(n_workers=2)  # started last, so joblib's dask backend picks it
    startup = time.perf_counter() - started
    times = {name: [] for name in METHODS}
    times["daskcollab fit_parallel, 1 worker"] = []
    runs = dict(METHODS, **{"daskcollab fit_parallel, 1 worker": lambda m, X, y, c: dc.fit_parallel(m, X, y, client=one)})
    names = list(runs)
    try:
        with threadpool_limits(1):  # the same BLAS threads as the nanny workers
            for name in names:  # warm-up: loky spawns its pool, dask learns nothing it reuses
                runs[name](members, X, y, client)
            for r in range(args.repeats):
                for name in names[r % len(names):] + names[: r % len(names)]:
                    t = time.perf_counter()
                    runs[name](members, X, y, client)
                    times[name].append(time.perf_counter() - t)
    finally:
        client.close()  # reverse order of start: each restores the log level it found
        one.close()
    serial = statistics.median(times["serial loop"])
    ours = statistics.median(times["daskcollab fit_parallel"])
    print(f"committee: {len(members)} members, X {X.shape}, {args.repeats} repeats (median), 2 cores, BLAS 1 thread")
    print(f"start_cluster() to a ready 2-worker cluster: {startup:.2f} s")
    print(f"{'method':44s} {'median s':>9s} {'min s':>7s} {'speedup':>8s} {'time / daskcollab':>18s}")
    rows = []
    for name in names:
        med = statistics.median(times[name])
        rows.append(dict(method=name, median_s=med, min_s=min(times[name]), speedup=serial / med, vs_daskcollab=med / ours))
        print(f"{name:44s} {med:9.2f} {min(times[name]):7.2f} {serial / med:7.2f}x {med / ours:17.2f}x")
    if args.json:
        args.json.write_text(json.dumps(dict(startup_s=startup, rows=rows, raw=times), indent=2))
    return rows


if __name__ == "__main__":
    main()
