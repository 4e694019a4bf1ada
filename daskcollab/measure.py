"""Measure what the parallelism and the ensemble bought: speedup, and member against ensemble accuracy."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import pandas as pd
from distributed.comm import get_address_host
from sklearn.utils.validation import check_is_fitted

from daskcollab.cluster import start_cluster, worker_threads
from daskcollab.dispatch import fit_parallel
from daskcollab.members import name_members, replicate_seeds
from daskcollab.placement import check_training_data

__all__ = ["compare_accuracy", "measure_speedup", "SpeedupResult"]


@dataclass
class SpeedupResult:
    """Wall times of the same fits on 1..p workers, and what follows from them.

    All measures are relative: ``T1`` is the same code path on one worker,
    not the best serial program.

    Attributes
    ----------
    times : dict of int to list of float
        Wall seconds of each repeat, by worker count.
    n_fits : int
        Fits per run (members times seeds).
    oversubscribed : dict of int to bool
        Whether, with that many workers, some machine ran more worker threads
        than it has cores.
    cores : int
        CPU cores of the machine that measured (``os.cpu_count()``).
    metadata : dict
        Library versions and what was fitted.
    """

    times: dict
    n_fits: int
    oversubscribed: dict = field(default_factory=dict)
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    metadata: dict = field(default_factory=dict)

    @property
    def workers(self):
        return sorted(self.times)

    def to_frame(self) -> pd.DataFrame:
        """One row per worker count p.

        Columns: ``workers``, ``mean_s`` and ``std_s`` (wall time over the
        repeats), ``speedup`` S = T1/Tp and ``speedup_std`` (of T1 mean over
        each repeat), ``efficiency`` E = S/p, ``karp_flatt`` e = (1/S - 1/p) /
        (1 - 1/p) (the experimentally determined serial fraction; NaN at
        p = 1), ``fits_per_s`` (throughput), ``oversubscribed``.
        """
        t1 = float(np.mean(self.times[1]))
        rows = []
        for p in self.workers:
            values = np.asarray(self.times[p], dtype=float)
            speedup = t1 / values.mean()
            rows.append(
                dict(
                    workers=p,
                    mean_s=values.mean(),
                    std_s=values.std(ddof=1) if len(values) > 1 else 0.0,
                    speedup=speedup,
                    speedup_std=(t1 / values).std(ddof=1) if len(values) > 1 else 0.0,
                    efficiency=speedup / p,
                    karp_flatt=karp_flatt(speedup, p),
                    fits_per_s=self.n_fits / values.mean(),
                    oversubscribed=bool(self.oversubscribed.get(p, p > self.cores)),
                )
            )
        return pd.DataFrame(rows)

    @property
    def serial_fraction(self) -> float:
        """Amdahl's f, fitted to the measured speedups: S(p) = 1 / (f + (1 - f) / p).

        Least squares on ``1/S - 1/p = f (1 - 1/p)``, over the worker counts
        above 1 that are not oversubscribed (all of them if all are), clipped
        to [0, 1]. NaN with one worker count.
        """
        frame = self.to_frame()
        frame = frame[frame["workers"] > 1]
        fair = frame[~frame["oversubscribed"]]
        frame = fair if len(fair) else frame
        if frame.empty:
            return float("nan")
        x = 1 - 1 / frame["workers"].to_numpy(float)
        y = 1 / frame["speedup"].to_numpy(float) - 1 / frame["workers"].to_numpy(float)
        return float(np.clip(np.dot(x, y) / np.dot(x, x), 0.0, 1.0))

    def to_json(self) -> str:
        """The raw times, the table, Amdahl's f and the metadata, as JSON."""
        return json.dumps(
            dict(
                times={str(p): list(v) for p, v in self.times.items()},
                n_fits=self.n_fits,
                cores=self.cores,
                serial_fraction=self.serial_fraction,
                relative_to="the same fits on 1 worker",
                table=self.to_frame().to_dict(orient="records"),
                metadata=self.metadata,
            ),
            indent=1,
        )

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>SpeedupResult</b>: {self.n_fits} fits, speedup relative to 1 worker (same code path), "
            f"Amdahl serial fraction f = {self.serial_fraction:.3f}, {self.cores} cores here</p>"
        )
        return head + self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self):
        frame = self.to_frame()
        pairs = ", ".join(f"{p}: {s:.2f}x" for p, s in zip(frame["workers"], frame["speedup"]))
        return f"SpeedupResult(n_fits={self.n_fits}, speedup={{{pairs}}}, serial_fraction={self.serial_fraction:.3f})"


def karp_flatt(speedup, p):
    """The Karp-Flatt metric e = (1/S - 1/p) / (1 - 1/p); NaN for p = 1.

    Examples
    --------
    >>> round(karp_flatt(1.8, 2), 4)
    0.1111
    """
    if p <= 1:
        return float("nan")
    return (1 / speedup - 1 / p) / (1 - 1 / p)


def amdahl_speedup(p, f):
    """S(p) = 1 / (f + (1 - f) / p)."""
    p = np.asarray(p, dtype=float)
    return 1 / (f + (1 - f) / p)


def measure_speedup(estimators, X, y, *, workers=(1, 2), repeats=3, seeds=None, client_factory=None) -> SpeedupResult:
    """Time ``fit_parallel(estimators, X, y)`` on clusters of each size in ``workers``.

    Parameters
    ----------
    estimators : list of estimators or (name, estimator) pairs
        What to fit, as for :func:`fit_parallel`.
    X, y : array-like
        Training data.
    workers : iterable of int, default=(1, 2)
        Worker counts. 1 is always measured (it is T1). Counts above the
        machine's cores are allowed and flagged as oversubscribed.
    repeats : int, default=3
        Timed runs per worker count, after one untimed warm-up run on the
        same cluster (imports, worker memory, member durations).
    seeds : int or list of int, default=None
        Passed to ``fit_parallel``.
    client_factory : callable, default=None
        ``client_factory(p)`` returns a Client (used as a context manager and
        closed afterwards) for ``p`` workers. ``None`` starts a local cluster
        with :func:`start_cluster` (one-thread nanny workers, BLAS at 1
        thread) for each count.

    Returns
    -------
    result : SpeedupResult
        Times, speedup, efficiency, Karp-Flatt serial fraction, throughput,
        and Amdahl's f (``result.serial_fraction``).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from daskcollab import measure_speedup, start_cluster
    >>> X, y = load_iris(return_X_y=True)
    >>> result = measure_speedup([DecisionTreeClassifier()], X, y, workers=(1, 2), repeats=2, seeds=4,
    ...                          client_factory=lambda p: start_cluster(n_workers=p, processes=False))
    >>> result.to_frame()[["workers", "efficiency"]].shape
    (2, 2)
    """
    members = replicate_seeds(name_members(estimators), seeds)
    X, y, _ = check_training_data(X, y)
    counts = _check_workers(workers)
    if isinstance(repeats, bool) or not isinstance(repeats, Integral) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}.")
    if client_factory is not None and not callable(client_factory):
        raise TypeError(f"client_factory must be a callable taking a worker count, got {client_factory!r}.")
    factory = client_factory or (lambda p: start_cluster(n_workers=p, dashboard=False))
    times, oversubscribed = {}, {}
    for p in counts:
        with factory(p) as client:
            oversubscribed[p] = _oversubscribed(client)
            fit_parallel(members, X, y, client=client)  # warm-up, untimed
            times[p] = []
            for _ in range(repeats):
                started = time.perf_counter()
                fit_parallel(members, X, y, client=client)
                times[p].append(time.perf_counter() - started)
    import sklearn

    metadata = dict(
        members=[name for name, _ in members],
        X_shape=list(np.shape(X)) if hasattr(X, "shape") else None,
        repeats=repeats,
        python=platform.python_version(),
        scikit_learn=sklearn.__version__,
    )
    return SpeedupResult(times, len(members), oversubscribed, metadata=metadata)


def _check_workers(workers):
    if isinstance(workers, (str, bytes)) or not isinstance(workers, Iterable):
        raise TypeError(f"workers must be an iterable of positive integers, got {workers!r}.")
    counts = list(workers)
    if not counts or any(isinstance(p, bool) or not isinstance(p, Integral) or p < 1 for p in counts):
        raise ValueError(f"workers must be positive integers, got {workers!r}.")
    return sorted(set(counts) | {1})


def _oversubscribed(client):
    """True when some host runs more worker threads than it has cores."""
    cores = client.run(os.cpu_count)
    threads, host_cores = {}, {}
    for address, n in worker_threads(client).items():
        host = get_address_host(address)
        threads[host] = threads.get(host, 0) + n
        host_cores[host] = cores.get(address) or 1
    return any(threads[h] > host_cores[h] for h in threads)


def compare_accuracy(model, X_test, y_test, *, equal_weights=True):
    """Test accuracy of every member and of the ensemble, as a table.

    Parameters
    ----------
    model : fitted WeightedVotingClassifier
    X_test, y_test : array-like
        Held-out data.
    equal_weights : bool, default=True
        Also score the same members with equal weights, when the model's
        weights are not already equal.

    Returns
    -------
    table : DataFrame
        Columns ``name``, ``kind`` ("member" or "ensemble"), ``weight`` and
        ``accuracy``; members first, in the model's order.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from daskcollab import WeightedVotingClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> trees = [DecisionTreeClassifier(max_depth=d, random_state=0).fit(X, y) for d in (1, 3)]
    >>> model = WeightedVotingClassifier.from_estimators(trees, weights=[1, 2])
    >>> compare_accuracy(model, X, y)  # doctest: +NORMALIZE_WHITESPACE
                           name      kind  weight  accuracy
    0  decisiontreeclassifier-1    member     1.0  0.666667
    1  decisiontreeclassifier-2    member     2.0  0.973333
    2        ensemble (weights)  ensemble     NaN  0.973333
    3          ensemble (equal)  ensemble     NaN  0.973333
    """
    check_is_fitted(model, "estimators_")
    y_test = np.asarray(y_test)

    def row(name, kind, weight, predictor):
        accuracy = float(np.mean(np.asarray(predictor.predict(X_test)) == y_test))
        return dict(name=name, kind=kind, weight=weight, accuracy=accuracy)

    rows = [
        row(name, "member", float(w), est) for (name, est), w in zip(model.named_estimators_.items(), model.weights_)
    ]
    rows.append(row("ensemble (weights)", "ensemble", np.nan, model))
    if equal_weights:
        members = list(model.named_estimators_.items())
        equal = type(model).from_estimators(members, voting=model.voting, classes=model.classes_)
        rows.append(row("ensemble (equal)", "ensemble", np.nan, equal))
    return pd.DataFrame(rows, columns=["name", "kind", "weight", "accuracy"])
