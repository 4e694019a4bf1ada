"""Where a Dask worker loses time on the core committee, and what daskcollab does about it.

Run ``python benchmarks/overheads.py`` (``--quick`` for a small smoke run).
Three side-by-side measurements, medians of ``--repeats``:

1. aligned data: LogisticRegression fitted on a worker on X as distributed
   delivers it (often at an odd address) against a one-off aligned copy;
2. fitted models coming back: a 60-tree ExtraTrees gathered from a worker
   that is busy with the next fit, sent as distributed pickles it (many
   buffers), pickled in the task as ``bytes``, and pickled in the task as a
   uint8 array (``fit_member_packed``); wall time and this process's CPU;
3. worker settings: the workers' summed fit time for one wave of the
   committee on a plain ``LocalCluster`` (distributed's defaults) against
   ``start_cluster()`` (memory monitor and tick once a second, no profiler,
   glibc's adaptive mmap threshold kept; see ``daskcollab.cluster``).
"""

from __future__ import annotations

import argparse
import logging
import pickle
import statistics
import time
import warnings

import cloudpickle
import numpy as np
import psutil
from distributed import Client, LocalCluster, wait
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

import daskcollab as dc
from daskcollab.bench import committee, committee_data
from daskcollab.tasks import aligned


def fit_seconds(X, y, align):
    """Seconds to fit LogisticRegression on the worker, and whether X arrived aligned."""
    arrived_aligned = bool(X.flags.aligned)
    if align:
        X, y = aligned(X), aligned(y)
    started = time.perf_counter()
    LogisticRegression(max_iter=500).fit(X, y)
    return time.perf_counter() - started, arrived_aligned


def fit_plain(X, y, n_trees):
    return ExtraTreesClassifier(n_trees, random_state=0).fit(X, y)


def fit_bytes(X, y, n_trees):
    return cloudpickle.dumps(fit_plain(X, y, n_trees), protocol=pickle.HIGHEST_PROTOCOL)


def fit_array(X, y, n_trees):
    return np.frombuffer(fit_bytes(X, y, n_trees), dtype=np.uint8)


def keep_busy(X, y):
    return MLPClassifier((32,), max_iter=30, random_state=0).fit(X, y)


def cpu_seconds():
    times = psutil.Process().cpu_times()
    return times.user + times.system


def alignment(X, y, repeats):
    with dc.start_cluster(n_workers=1, dashboard=False) as client:
        X_f, y_f = client.scatter(X, hash=False), client.scatter(y, hash=False)
        runs = {False: [], True: []}
        arrived = set()
        for _ in range(repeats + 1):  # the first round warms imports up
            for align in (False, True):
                seconds, was_aligned = client.submit(fit_seconds, X_f, y_f, align, pure=False).result()
                runs[align].append(seconds)
                arrived.add(was_aligned)
    plain, fixed = (statistics.median(runs[a][1:]) for a in (False, True))
    print(
        f"1. LogisticRegression on a worker: X as delivered {plain:.3f} s, aligned copy {fixed:.3f} s "
        f"({plain / fixed:.2f}x); X arrived aligned: {sorted(arrived)}"
    )


def model_transfer(X, y, n_trees, repeats):
    with dc.start_cluster(n_workers=1, dashboard=False) as client:
        X_f, y_f = client.scatter(X, hash=False), client.scatter(y, hash=False)
        runs = {
            name: ([], [])
            for name in ("as distributed pickles it", "pickled in the task, bytes", "pickled in the task, uint8 array")
        }
        functions = dict(zip(runs, (fit_plain, fit_bytes, fit_array)))
        for _ in range(repeats):
            for name, function in functions.items():
                model = client.submit(function, X_f, y_f, n_trees, pure=False)
                wait(model)
                busy = client.submit(keep_busy, X_f, y_f, pure=False)
                time.sleep(0.2)  # the next fit is running when the model is asked for
                cpu, started = cpu_seconds(), time.perf_counter()
                value = model.result()
                if not hasattr(value, "predict"):
                    value = pickle.loads(value)
                runs[name][0].append(time.perf_counter() - started)
                runs[name][1].append(cpu_seconds() - cpu)
                wait(busy)
                del model, busy
    size = len(cloudpickle.dumps(value)) / 1e6
    print(f"2. a {n_trees}-tree ExtraTrees ({size:.0f} MB) gathered from a busy worker:")
    for name, (wall, cpu) in runs.items():
        print(f"   {name:34s} wall {statistics.median(wall):.3f} s, this process's CPU {statistics.median(cpu):.3f} s")


def summed_fit_time(client, members, X, y, repeats):
    dc.fit_parallel(members, X, y, client=client)  # warm-up
    return [sum(t.seconds for t in dc.fit_parallel(members, X, y, client=client).timings) for _ in range(repeats)]


def worker_settings(members, X, y, repeats):
    runs = {"distributed's defaults (LocalCluster)": [], "start_cluster()": []}
    for _ in range(2):  # two alternating phases each
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR
            ) as cluster,
            Client(cluster) as client,
        ):
            runs["distributed's defaults (LocalCluster)"] += summed_fit_time(client, members, X, y, repeats)
        with dc.start_cluster(n_workers=2, dashboard=False) as client:
            runs["start_cluster()"] += summed_fit_time(client, members, X, y, repeats)
    print("3. one wave of the committee on 2 workers, the workers' summed fit time:")
    for name, values in runs.items():
        print(f"   {name:40s} {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats per measurement (default 3)")
    parser.add_argument("--quick", action="store_true", help="small data and forests, for a smoke test")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*Maximum iterations")
    X, y, _, _ = committee_data(args.quick)
    alignment(X, y, args.repeats)
    model_transfer(X, y, 5 if args.quick else 60, args.repeats)
    worker_settings(committee(args.quick), X, y, args.repeats)


if __name__ == "__main__":
    main()
