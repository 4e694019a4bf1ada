"""The core committee benchmark: fit_parallel against the serial loop and the peers.

Run ``python benchmarks/committee.py`` (``--quick`` for a small smoke run).

Measured in one process, warm against warm, medians of ``--repeats`` rounds
whose method order rotates each round, each method beside the serial loop:

- serial: ``clone(est).fit`` in a loop in this process, BLAS at 1 thread;
- loky: sklearn ``VotingClassifier(n_jobs=2)`` (its worker pool stays warm);
- joblib-dask: the same VotingClassifier under ``joblib.parallel_backend("dask")``
  on a fresh 2-worker ``start_cluster()`` of its own;
- daskcollab: ``fit_parallel`` on a warm 2-worker ``start_cluster()``;
- daskcollab on 1 worker: the same code path on one worker (relative T1).

Speedups are against the serial loop timed in the same phase. Cluster
start-up time is reported on its own line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import joblib
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


def run_serial(members, X, y):
    for _, est in members:
        clone(est).fit(X, y)


def run_loky(members, X, y):
    VotingClassifier(members, n_jobs=2).fit(X, y)


def run_joblib_dask(members, X, y):
    with joblib.parallel_backend("dask"):  # on the current default client
        VotingClassifier(members, n_jobs=-1).fit(X, y)


def rounds(methods, repeats):
    """Warm each method up once, then time ``repeats`` rounds in rotating order."""
    times = {name: [] for name in methods}
    names = list(methods)
    with threadpool_limits(1):  # the same BLAS threads as the nanny workers
        for name in names:  # loky spawns its pool, daskcollab learns the members' durations
            methods[name]()
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                t = time.perf_counter()
                methods[name]()
                times[name].append(time.perf_counter() - t)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per method (default 3)")
    parser.add_argument("--quick", action="store_true", help="small data and forests, for a smoke test")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*Maximum iterations")  # --quick MLPs stop early on purpose
    members = committee(args.quick)
    X, y = data(args.quick)
    serial = lambda: run_serial(members, X, y)  # noqa: E731
    phases = []
    # Each Dask-based method gets a fresh cluster of its own, measured beside
    # the serial loop: an idle second cluster, or workers that still hold
    # another library's data, would share the two cores with the runs.
    with dc.start_cluster(n_workers=1) as one:
        phases.append(
            rounds(
                {
                    "serial loop": serial,
                    "daskcollab fit_parallel, 1 worker": lambda: dc.fit_parallel(members, X, y, client=one),
                },
                args.repeats,
            )
        )
    waves = []  # daskcollab's FitResults, for the profile printed at the end
    started = time.perf_counter()
    with dc.start_cluster(n_workers=2) as client:
        startup = time.perf_counter() - started
        phases.append(
            rounds(
                {
                    "serial loop": serial,
                    "sklearn VotingClassifier, loky n_jobs=2": lambda: run_loky(members, X, y),
                    "daskcollab fit_parallel": lambda: waves.append(dc.fit_parallel(members, X, y, client=client)),
                },
                args.repeats,
            )
        )
    with dc.start_cluster(n_workers=2):
        phases.append(
            rounds(
                {
                    "serial loop": serial,
                    "sklearn VotingClassifier, joblib-dask": lambda: run_joblib_dask(members, X, y),
                },
                args.repeats,
            )
        )
    rows = []
    for times in phases:
        base = statistics.median(times["serial loop"])
        for name, values in times.items():
            if name != "serial loop" or not rows:
                rows.append(
                    dict(
                        method=name,
                        median_s=statistics.median(values),
                        min_s=min(values),
                        speedup=base / statistics.median(values),
                        serial_s=base,
                        raw=values,
                    )
                )
    ours = next(r["speedup"] for r in rows if r["method"] == "daskcollab fit_parallel")
    print(
        f"committee: {len(members)} members, X {X.shape}, {args.repeats} repeats (median), "
        f"2 cores, BLAS 1 thread everywhere"
    )
    print(f"start_cluster() to a ready 2-worker cluster: {startup:.2f} s")
    print(f"{'method':40s} {'median s':>9s} {'min s':>7s} {'serial s':>9s} {'speedup':>8s} {'time / daskcollab':>18s}")
    for row in rows:
        row["vs_daskcollab"] = ours / row["speedup"]
        print(
            f"{row['method']:40s} {row['median_s']:9.2f} {row['min_s']:7.2f} {row['serial_s']:9.2f} "
            f"{row['speedup']:7.2f}x {row['vs_daskcollab']:17.2f}x"
        )
    print(
        "speedup = median serial loop / median method, both timed in the same phase;"
        " time / daskcollab = daskcollab's speedup / the method's"
    )
    timed = waves[1:]  # the first is the warm-up
    busy = [sum(t.seconds for t in w.timings) for w in timed]
    idle = [w.n_workers * w.wall_time - b for w, b in zip(timed, busy)]
    print(
        f"daskcollab profile (median of {len(timed)} waves): summed fit time on the workers "
        f"{statistics.median(busy):.2f} s against {rows[0]['serial_s']:.2f} s serial; "
        f"worker time not spent fitting {statistics.median(idle):.2f} s (gaps, the last model's transfer, placing X)"
    )
    if args.json:
        args.json.write_text(json.dumps(dict(startup_s=startup, rows=rows), indent=2))
    return rows


if __name__ == "__main__":
    main()
