"""Train on data larger than the cluster's memory: one model per block of a lazy dask array.

Run ``python benchmarks/out_of_core.py`` (``--quick`` for a small run).

The workers create ``--rows`` x 20 float64 features (8 million rows: 1.28 GB)
block by block from a seeded random generator, with labels from a fixed
linear rule plus noise; nothing is created on the client. Two worker
processes get ``memory_limit="600MB"`` each, 1.2 GB together: less than the
data. ``WeightedVotingClassifier(shards=partition(X, y))`` fits one member
per block (SGDClassifier and GaussianNB, in turn), where Dask computes the
block; blocks are freed once their fits are done. Then the ensemble predicts
the same lazy array block by block, which returns a dask array.

It reports fit and predict throughput in rows per second, the peak resident
memory of each worker (sampled every 0.2 s), and whether any worker process
was restarted (a worker past its memory limit is killed by its nanny).
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import dask.array as da
import numpy as np
import psutil
from sklearn.linear_model import SGDClassifier
from sklearn.naive_bayes import GaussianNB

import daskcollab as dc

N_FEATURES = 20


def lazy_data(n_rows, chunk, seed=0):
    """Features and labels, as dask arrays the workers compute block by block."""
    X = da.random.default_rng(seed).standard_normal((n_rows, N_FEATURES), chunks=(chunk, N_FEATURES))
    weights = np.linspace(-1.0, 1.0, N_FEATURES)
    noise = da.random.default_rng(seed + 1).standard_normal(n_rows, chunks=chunk)
    y = ((X @ weights + noise) > 0).astype(np.int64)
    return X, y


def _rss(dask_worker=None):
    return psutil.Process().memory_info().rss


class PeakMemory:
    """Samples every worker's resident memory in a background thread; keeps the maximum."""

    def __init__(self, client, every=0.2):
        self.client, self.every, self.peak = client, every, {}
        self._stop = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            try:
                for worker, rss in self.client.run(_rss).items():
                    self.peak[worker] = max(self.peak.get(worker, 0), rss)
            except Exception:  # a worker restarting mid-sample: the restart check reports it
                pass
            self._stop.wait(self.every)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def run(n_rows, chunk, memory_limit="600MB"):
    X, y = lazy_data(n_rows, chunk)
    rows = []
    with dc.start_cluster(n_workers=2, memory_limit=memory_limit, dashboard=False) as client:
        pids = client.run(os.getpid)
        idle_mb = max(client.run(_rss).values()) / 1e6
        shards = dc.partition(X, y)
        for name, member in (
            ("SGDClassifier", SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0)),
            ("GaussianNB", GaussianNB()),
        ):
            with PeakMemory(client) as fit_memory:
                started = time.perf_counter()
                model = dc.WeightedVotingClassifier([member], shards=shards).fit(X, y)
                fit_s = time.perf_counter() - started
            with PeakMemory(client) as predict_memory:
                started = time.perf_counter()
                predicted = model.predict(X)
                accuracy = float((predicted == y).mean().compute())
                predict_s = time.perf_counter() - started
            rows.append(
                dict(
                    member=name,
                    members=len(model.estimators_),
                    fit_rows_per_s=n_rows / fit_s,
                    predict_rows_per_s=n_rows / predict_s,
                    accuracy=accuracy,
                    predict_returns=type(predicted).__module__.split(".")[0] + " " + type(predicted).__name__,
                    fit_peak_mb=max(fit_memory.peak.values(), default=0) / 1e6,
                    predict_peak_mb=max(predict_memory.peak.values(), default=0) / 1e6,
                )
            )
        restarted = client.run(os.getpid) != pids
    return rows, restarted, idle_mb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8_000_000, help="rows of the lazy array (default 8 000 000)")
    parser.add_argument("--chunk", type=int, default=250_000, help="rows per block (default 250 000)")
    parser.add_argument("--quick", action="store_true", help="1 000 000 rows: a smoke run")
    args = parser.parse_args(argv)
    n_rows, chunk = (1_000_000, 125_000) if args.quick else (args.rows, args.chunk)
    gigabytes = n_rows * N_FEATURES * 8 / 1e9
    print(
        f"{n_rows:,} rows x {N_FEATURES} float64 features = {gigabytes:.2f} GB, in blocks of {chunk:,} rows "
        f"({chunk * N_FEATURES * 8 / 1e6:.0f} MB); 2 workers with memory_limit=600MB each"
    )
    rows, restarted, idle_mb = run(n_rows, chunk)
    print(f"an idle worker's resident memory, before any task: {idle_mb:.0f} MB")
    print(
        f"{'member':14s} {'blocks':>6s} {'fit rows/s':>12s} {'predict rows/s':>15s} {'accuracy':>9s} "
        f"{'peak MB fit':>12s} {'peak MB predict':>16s}  predict returns"
    )
    for row in rows:
        print(
            f"{row['member']:14s} {row['members']:6d} {row['fit_rows_per_s']:12,.0f} "
            f"{row['predict_rows_per_s']:15,.0f} {row['accuracy']:9.4f} {row['fit_peak_mb']:12.0f} "
            f"{row['predict_peak_mb']:16.0f}  {row['predict_returns']}"
        )
    print(f"worker processes restarted (killed past their memory limit): {'yes' if restarted else 'no'}")
    return rows, restarted


if __name__ == "__main__":
    main()
