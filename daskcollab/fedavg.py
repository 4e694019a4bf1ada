"""Federated averaging: shards train a shared linear model locally; their parameters are averaged.

Each round sends the global model to every shard's worker, trains it there on
that shard alone, and averages the returned coefficients with weights
``n_k / n`` (McMahan et al., 2017). The data never leaves its worker; only
models travel, a few kilobytes for a linear model.
"""

from __future__ import annotations

import copy
import time
import uuid
from numbers import Integral
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model._base import LinearClassifierMixin

from daskcollab.dispatch import client_or_temporary
from daskcollab.jobs import FitJob
from daskcollab.partition import Partition
from daskcollab.placement import place_shards
from daskcollab.tasks import local_update
from daskcollab.waves import release, run_metadata

__all__ = ["fedavg", "FedAvgResult"]


class FedAvgResult(NamedTuple):
    """What :func:`fedavg` returns: ``model, history, metadata = fedavg(...)``.

    Attributes
    ----------
    estimator : classifier
        The global model after the last round, fitted and ready to predict.
    history : DataFrame
        One row per round: ``round``, ``seconds`` (wall time of the round),
        and ``val_accuracy`` of the global model when validation data was
        given.
    metadata : dict
        Seeds, library versions, worker count and the partition's hash.
    """

    estimator: object
    history: pd.DataFrame
    metadata: dict


def fedavg(estimator, partition, *, rounds=10, local_epochs=1, client=None, X_val=None, y_val=None):
    """Train one linear classifier over all shards without moving their data.

    Parameters
    ----------
    estimator : linear classifier
        With ``partial_fit`` (``SGDClassifier``, ``Perceptron``,
        ``PassiveAggressiveClassifier``): each round runs ``local_epochs``
        passes of ``partial_fit`` on every shard. With ``warm_start``
        (``LogisticRegression``): each round fits on every shard starting from
        the global coefficients, for at most ``local_epochs`` solver
        iterations.
    partition : Partition
        The shards (from :func:`~daskcollab.partition` or
        ``Partition.from_shards``); each is put on one worker for all rounds.
    rounds : int, default=10
        Rounds of local training and averaging.
    local_epochs : int, default=1
        Local passes (or solver iterations) per round.
    client : distributed.Client, default=None
        As in ``fit_parallel``.
    X_val, y_val : array-like, default=None
        Validation data: the global model's accuracy on it after every round
        goes into the history.

    Returns
    -------
    result : FedAvgResult
        ``(estimator, history, metadata)``.

    Notes
    -----
    The classes and the number of features are fixed at round 0 from the
    whole partition, so a shard that lacks a class still returns a
    coefficient row for it (``partial_fit(classes=...)``; for warm-started
    models a zero-weight row of each missing class), and every shard's
    parameters have the same shape. With one shard, fedavg is local
    training: ``rounds * local_epochs`` passes over it.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import SGDClassifier
    >>> from daskcollab import fedavg, partition, start_cluster
    >>> X, y = load_iris(return_X_y=True)
    >>> shards = partition(X, y, 3, scheme="dirichlet", alpha=0.5)
    >>> with start_cluster(n_workers=2, processes=False):
    ...     model, history, _ = fedavg(SGDClassifier(random_state=0), shards, rounds=5, X_val=X, y_val=y)
    >>> model.coef_.shape, len(history)
    ((3, 4), 5)
    """
    _check_arguments(estimator, partition, rounds, local_epochs, X_val, y_val)
    classes = partition.classes
    weights = partition.sizes / partition.n_samples
    global_model, rows = clone(estimator), []
    with client_or_temporary(client) as active:
        placed = place_shards(active, partition.split(), partition.sizes)
        try:
            for r in range(rounds):
                started = time.perf_counter()
                futures = [
                    active.submit(
                        local_update,
                        global_model,
                        X_k,
                        y_k,
                        classes,
                        local_epochs,
                        key=f"fedavg-round{r}-shard{k}-{uuid.uuid4().hex[:12]}",
                        workers=[worker],
                        allow_other_workers=False,
                        pure=False,
                    )
                    for k, (X_k, y_k, worker) in enumerate(placed)
                ]
                try:
                    local_models = active.gather(futures)
                finally:
                    release(active, futures)
                global_model = average_linear_models(local_models, weights)
                row = dict(round=r + 1, seconds=time.perf_counter() - started)
                if X_val is not None:
                    row["val_accuracy"] = float(global_model.score(X_val, y_val))
                rows.append(row)
        finally:
            release(active, [f for X_f, y_f, _ in placed for f in (X_f, y_f)])
        metadata = run_metadata(active, [FitJob("global", estimator)], partition)
    metadata.update(rounds=rounds, local_epochs=local_epochs)
    return FedAvgResult(global_model, pd.DataFrame(rows), metadata)


def average_linear_models(models, weights):
    """A copy of ``models[0]`` whose ``coef_`` and ``intercept_`` are the weighted means of all.

    Examples
    --------
    >>> from types import SimpleNamespace as Model
    >>> a = Model(coef_=np.array([[1.0, 0.0]]), intercept_=np.array([0.0]))
    >>> b = Model(coef_=np.array([[3.0, 2.0]]), intercept_=np.array([1.0]))
    >>> average_linear_models([a, b], [0.75, 0.25]).coef_
    array([[1.5, 0.5]])
    """
    weights = np.asarray(weights, dtype=float) / np.sum(weights)
    averaged = copy.deepcopy(models[0])
    averaged.coef_ = sum(w * m.coef_ for w, m in zip(weights, models))
    averaged.intercept_ = sum(w * np.asarray(m.intercept_, dtype=float) for w, m in zip(weights, models))
    return averaged


def _check_arguments(estimator, partition, rounds, local_epochs, X_val, y_val):
    supported = isinstance(estimator, LinearClassifierMixin) and (
        hasattr(estimator, "partial_fit") or "warm_start" in estimator.get_params()
    )
    if not supported:
        raise TypeError(
            "fedavg averages the coefficients of a linear classifier trained with partial_fit (SGDClassifier, "
            f"Perceptron, PassiveAggressiveClassifier) or warm_start (LogisticRegression); got {estimator!r}."
        )
    if not isinstance(partition, Partition):
        raise TypeError(
            f"partition must be a Partition from daskcollab.partition(...), got {type(partition).__name__}."
        )
    for name, value in (("rounds", rounds), ("local_epochs", local_epochs)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither.")
    if X_val is not None and np.shape(X_val)[1] != _width(partition):
        raise ValueError(f"X_val has {np.shape(X_val)[1]} features, but the shards have {_width(partition)}.")
    if len(partition.classes) < 2:
        raise ValueError(f"the shards hold one class only ({partition.classes.tolist()}); a classifier needs 2.")


def _width(partition):
    return int(partition.X.shape[1])
