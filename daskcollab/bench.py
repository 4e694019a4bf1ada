"""The peer benchmark: daskcollab against the serial loop, scikit-learn, joblib-dask and dask-ml.

Run ``daskcollab bench`` or ``python benchmarks/peers.py`` (``--quick`` for a
smoke run, ``--repeats``, ``--out``). Everything is measured in one process, warm against warm: every
method runs once untimed, then ``--repeats`` rounds in rotating order, and
the table reports medians. Each method is timed beside the serial loop, in
the same phase, on a cluster of its own. BLAS runs at 1 thread everywhere
(nanny workers start that way; the client is limited to match).

Sections:

1. Committee: the core issue's 8 members on ``make_classification``: serial
   loop; ``VotingClassifier(n_jobs=cores)`` (loky); the same under joblib's
   dask backend; daskcollab ``fit_parallel`` on 1 and on all cores' workers.
2. Blockwise: one member per block of a dask array: dask-ml's
   ``BlockwiseVotingClassifier`` against ``WeightedVotingClassifier(shards=
   partition(X, y))``, timed, and checked on string labels, a block that
   misses a class, weights, and whether ``fit`` returns the estimator.
3. Tiny fits: 500 depth-3 trees on iris, serial loop against fit_parallel.
4. Overheads: Dask's cost per no-op task, daskcollab's worker time per fit
   task not spent fitting, and the bytes of training data the workers held.
5. Speedup curve: ``measure_speedup`` of the committee on 1, 2 and 4
   workers (4 oversubscribes 2 cores on purpose, and is flagged).

Writes ``peers.json``, ``peers.png`` and ``speedup.png`` into ``--out``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

import daskcollab as dc

CORES = os.cpu_count() or 1


def committee(quick=False):
    """The core issue's 8-member committee (smaller forests with ``quick``)."""
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


def committee_data(quick=False):
    n = 2_000 if quick else 20_000
    X, y = make_classification(n_samples=n, n_features=40, n_informative=20, n_classes=3, random_state=0)
    n_train = int(0.8 * n)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def rounds(methods, repeats):
    """Warm each method up once, then time ``repeats`` rounds in rotating order; seconds per method."""
    times = {name: [] for name in methods}
    names = list(methods)
    with threadpool_limits(1):  # the same BLAS threads as the nanny workers
        for name in names:
            methods[name]()
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                started = time.perf_counter()
                methods[name]()
                times[name].append(time.perf_counter() - started)
    return times


def rows_beside_serial(section, times, reference="serial loop"):
    """Table rows: median seconds and speedup over the serial loop timed in the same phase."""
    base = statistics.median(times[reference])
    return [
        dict(
            section=section,
            method=name,
            median_s=statistics.median(values),
            speedup=base / statistics.median(values),
            serial_s=base,
            raw=values,
        )
        for name, values in times.items()
    ]


def run_committee(quick, repeats):
    members = committee(quick)
    X, y, _, _ = committee_data(quick)

    def serial():
        for _, est in members:
            clone(est).fit(X, y)

    def joblib_dask():
        with joblib.parallel_backend("dask"):  # on the current default client
            VotingClassifier(members, n_jobs=-1).fit(X, y)

    rows, waves = [], []
    with dc.start_cluster(n_workers=1) as one:
        times = rounds(
            {"serial loop": serial, "daskcollab, 1 worker": lambda: dc.fit_parallel(members, X, y, client=one)}, repeats
        )
        rows += rows_beside_serial("committee", times)
    started = time.perf_counter()
    with dc.start_cluster() as client:
        startup = time.perf_counter() - started
        methods = {
            "serial loop": serial,
            f"sklearn VotingClassifier, loky n_jobs={CORES}": lambda: VotingClassifier(members, n_jobs=CORES).fit(X, y),
            "daskcollab fit_parallel": lambda: waves.append(dc.fit_parallel(members, X, y, client=client)),
        }
        rows += rows_beside_serial("committee", rounds(methods, repeats))[1:]
        overhead = noop_task_overhead(client, 200 if quick else 2000)
    with dc.start_cluster():
        times = rounds({"serial loop": serial, "sklearn VotingClassifier, joblib-dask": joblib_dask}, repeats)
        rows += rows_beside_serial("committee", times)[1:]
    timed = waves[1:]  # the first wave was the warm-up
    profile = dict(
        startup_s=startup,
        noop_task_s=overhead,
        data_bytes=timed[-1].data_bytes,
        X_bytes=X.nbytes + y.nbytes,
        idle_per_task_s=statistics.median(
            (w.n_workers * w.wall_time - sum(t.seconds for t in w.timings)) / w.n_tasks for w in timed
        ),
        n_members=len(members),
        X_shape=list(X.shape),
    )
    return rows, profile


def noop_task_overhead(client, n):
    """Wall seconds per trivial task, for ``n`` tasks submitted at once: Dask's own cost per task."""
    started = time.perf_counter()
    futures = client.map(_noop, range(n), pure=False)
    client.gather(futures)
    elapsed = time.perf_counter() - started
    client.cancel(futures)
    return elapsed / n


def _noop(i):
    return i


def run_blockwise(quick, repeats):
    """dask-ml's BlockwiseVotingClassifier against sharded daskcollab, on the same blocks."""
    import dask.array as da

    X, y, X_test, y_test = committee_data(quick)
    n_blocks = 4
    dX = da.from_array(X, chunks=(int(np.ceil(len(X) / n_blocks)), -1))
    dy = da.from_array(y, chunks=int(np.ceil(len(X) / n_blocks)))
    forest = RandomForestClassifier(n_estimators=10 if quick else 60, random_state=0)
    try:
        from dask_ml.ensemble import BlockwiseVotingClassifier
    except ImportError as error:
        return [dict(section="blockwise", method="dask-ml BlockwiseVotingClassifier", note=f"not run: {error}")], []
    shards = dc.partition(dX, dy)
    accuracy = {}

    def dask_ml():
        model = BlockwiseVotingClassifier(clone(forest), voting="soft", classes=np.unique(y))
        model.fit(dX, dy)  # returns None, so no chaining
        accuracy["dask-ml BlockwiseVotingClassifier"] = float(np.mean(model.predict(X_test) == y_test))

    def ours():
        model = dc.WeightedVotingClassifier([forest], shards=shards).fit(dX, dy)
        accuracy["daskcollab WeightedVotingClassifier(shards=)"] = float(np.mean(model.predict(X_test) == y_test))

    with dc.start_cluster():
        times = rounds(
            {"dask-ml BlockwiseVotingClassifier": dask_ml, "daskcollab WeightedVotingClassifier(shards=)": ours},
            repeats,
        )
        checks = blockwise_correctness(BlockwiseVotingClassifier)
    reference = "dask-ml BlockwiseVotingClassifier"
    base = statistics.median(times[reference])
    rows = [
        dict(
            section="blockwise",
            method=name,
            median_s=statistics.median(values),
            vs_dask_ml=base / statistics.median(values),
            accuracy=accuracy[name],
            raw=values,
        )
        for name, values in times.items()
    ]
    return rows, checks


def blockwise_correctness(BlockwiseVotingClassifier):
    """What each library does with the inputs that broke dask-ml: ``[{case, dask-ml, daskcollab}]``."""
    import dask.array as da

    X, y = load_iris(return_X_y=True)
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    names = np.array(["setosa", "versicolor", "virginica"])
    shuffled = np.random.default_rng(0).permutation(len(y))
    cases = {  # (X, y, rows per block, extra arguments)
        "integer labels": (X[shuffled], y[shuffled], 50, {}),
        "string labels": (X[shuffled], names[y][shuffled], 50, {}),
        "each block misses a class": (X, y, 75, {}),  # sorted: classes {0, 1} and {1, 2}
        "weights=[1, 2, 1]": (X[shuffled], y[shuffled], 50, {"weights": [1, 2, 1]}),
    }
    out = []
    for case, (X_case, y_case, rows, kwargs) in cases.items():
        dX, dy = da.from_array(X_case, chunks=(rows, -1)), da.from_array(y_case, chunks=rows)
        row = dict(case=case)

        def theirs():
            model = BlockwiseVotingClassifier(
                LogisticRegression(max_iter=500), voting="soft", classes=np.unique(y_case), **kwargs
            )
            return model.fit(dX, dy), model

        def voting():
            model = dc.WeightedVotingClassifier(
                [LogisticRegression(max_iter=500)], shards=dc.partition(dX, dy), **kwargs
            )
            return model.fit(dX, dy), model

        def stacking():
            model = dc.StackingClassifier(
                [LogisticRegression(max_iter=500)], shards=dc.partition(dX, dy), random_state=0
            )
            return model.fit(dX, dy), model

        for label, attempt in (("dask-ml", theirs), ("daskcollab voting", voting), ("daskcollab stacking", stacking)):
            if label == "daskcollab stacking" and kwargs:
                row[label] = "n/a: the meta-learner learns the weights"
                continue
            try:
                returned, model = attempt()
                accuracy = float(np.mean(np.asarray(model.predict(X_case)) == y_case))
                columns = np.asarray(model.predict_proba(X_case[:2])).shape[1]
                row[label] = f"accuracy {accuracy:.2f}, {columns} proba columns" + (
                    "" if returned is model else ", fit returned None"
                )
            except Exception as error:
                row[label] = f"fails: {type(error).__name__}: {str(error).splitlines()[0][:50]}"
        out.append(row)
    return out


def run_tiny_fits(quick, repeats):
    X, y = load_iris(return_X_y=True)
    n = 100 if quick else 500
    tree = [("tree", DecisionTreeClassifier(max_depth=3))]

    def serial():
        for seed in range(n):
            DecisionTreeClassifier(max_depth=3, random_state=seed).fit(X, y)

    with dc.start_cluster() as client:
        results = []
        times = rounds(
            {
                "serial loop": serial,
                "daskcollab fit_parallel": lambda: results.append(dc.fit_parallel(tree, X, y, seeds=n, client=client)),
            },
            repeats,
        )
    rows = rows_beside_serial("tiny fits", times)
    rows[1]["n_tasks"] = results[-1].n_tasks
    rows[1]["method"] = f"daskcollab fit_parallel ({n} fits in {results[-1].n_tasks} tasks)"
    for row in rows:
        row["n_fits"] = n
    return rows


def run_speedup(quick, repeats):
    members = committee(quick)
    X, y, _, _ = committee_data(quick)
    workers = (1, 2) if quick else (1, 2, 4)
    return dc.measure_speedup(members, X, y, workers=workers, repeats=max(1, repeats))


def print_report(rows, profile, checks, speedup, out=print):
    ours = next(r["speedup"] for r in rows if r["method"] == "daskcollab fit_parallel")
    out(f"1. committee: {profile['n_members']} members, X {tuple(profile['X_shape'])}, medians, {CORES} cores")
    out(f"   start_cluster() to a ready cluster: {profile['startup_s']:.2f} s")
    out(f"   {'method':44s} {'median s':>9s} {'serial s':>9s} {'speedup':>8s} {'time / daskcollab':>18s}")
    for row in (r for r in rows if r["section"] == "committee"):
        row["time_vs_daskcollab"] = ours / row["speedup"]
        out(
            f"   {row['method']:44s} {row['median_s']:9.2f} {row['serial_s']:9.2f} {row['speedup']:7.2f}x "
            f"{row['time_vs_daskcollab']:17.2f}x"
        )
    out("   speedup = serial loop / method, timed in the same phase; time / daskcollab = the method's time over ours")
    out("\n2. blockwise: one RandomForest per block of a 4-block dask array")
    for row in (r for r in rows if r["section"] == "blockwise"):
        if "note" in row:
            out(f"   {row['method']}: {row['note']}")
            continue
        out(
            f"   {row['method']:48s} {row['median_s']:7.2f} s  dask-ml time / this {row['vs_dask_ml']:5.2f}x  "
            f"test accuracy {row['accuracy']:.3f}"
        )
    out("   on iris (3 classes), one LogisticRegression per block:")
    for check in checks:
        out(f"   {check['case']}:")
        for label in ("dask-ml", "daskcollab voting", "daskcollab stacking"):
            out(f"      {label:20s} {check[label]}")
    out("\n3. tiny fits: depth-3 trees on iris")
    for row in (r for r in rows if r["section"] == "tiny fits"):
        out(f"   {row['method']:44s} {row['median_s']:7.3f} s  {row['speedup']:5.2f}x the serial loop")
    out("\n4. overheads")
    out(f"   Dask, per no-op task (wall / tasks, {CORES} workers): {profile['noop_task_s'] * 1e3:.2f} ms")
    out(f"   daskcollab, worker time per fit task not spent fitting: {profile['idle_per_task_s'] * 1e3:.1f} ms")
    out(
        f"   training data held on the workers per committee fit: {profile['data_bytes'] / 1e6:.1f} MB "
        f"(X and y are {profile['X_bytes'] / 1e6:.1f} MB: one copy per worker that fits)"
    )
    frame = speedup.to_frame()
    out("\n5. speedup curve (measure_speedup, relative to the same fits on 1 worker)")
    for row in frame.itertuples():
        flag = "  oversubscribed" if row.oversubscribed else ""
        out(
            f"   p={row.workers}: {row.mean_s:6.2f} ± {row.std_s:4.2f} s  S={row.speedup:4.2f}  "
            f"E={row.efficiency:4.2f}  Karp-Flatt e={row.karp_flatt:6.3f}{flag}"
        )
    out(f"   Amdahl fit: f = {speedup.serial_fraction:.3f}")


def plot_peers(rows, path):
    """Bars of speedup over the serial loop per committee method, with the ideal line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    committee_rows = [r for r in rows if r["section"] == "committee" and r["method"] != "serial loop"]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(committee_rows) + 1.5), layout="constrained")
    colors = ["tab:orange" if r["method"].startswith("daskcollab") else "tab:blue" for r in committee_rows]
    ax.barh([r["method"] for r in committee_rows], [r["speedup"] for r in committee_rows], color=colors)
    ax.axvline(CORES, color="grey", linestyle="--", label=f"ideal on {CORES} cores")
    ax.set_xlabel("speedup over the serial loop (x)")
    ax.set_ylabel("method")
    ax.set_title("Committee fit: speedup over the serial loop (medians)")
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_bench(quick=False, repeats=3, out=Path("daskcollab-results")):
    """Run every section, print the report, write peers.json, peers.png and speedup.png into ``out``."""
    warnings.filterwarnings("ignore", message=".*Maximum iterations")  # the MLPs stop early on purpose
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, profile = run_committee(quick, repeats)
    blockwise, checks = run_blockwise(quick, repeats)
    rows += blockwise + run_tiny_fits(quick, repeats)
    speedup = run_speedup(quick, repeats)
    print_report(rows, profile, checks, speedup)
    plot_peers(rows, out / "peers.png")
    import matplotlib.pyplot as plt

    axes = dc.plot_speedup(speedup, efficiency=True)
    axes[0].figure.savefig(out / "speedup.png", dpi=110)
    plt.close(axes[0].figure)
    report = dict(rows=rows, profile=profile, blockwise_checks=checks, speedup=json.loads(speedup.to_json()))
    (out / "peers.json").write_text(json.dumps(report, indent=1, default=float))
    print(f"\nwrote {out / 'peers.json'}, {out / 'peers.png'} and {out / 'speedup.png'}")
    return report
