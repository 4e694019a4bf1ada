"""Check training data and put it on the cluster once.

The one place that moves training data to the workers. In-memory data is
scattered once per call under a fresh key (``hash=False``): re-scattering the
same content under the same key right after it was released is a known way to
get "lost dependencies" or a hang. Dask collections are computed on the
cluster into one future each and never gathered on the client.
"""

from __future__ import annotations

import math
import uuid

import dask
import numpy as np
from dask.base import is_dask_collection
from sklearn.utils import column_or_1d

from daskcollab.cluster import worker_threads

__all__ = ["check_training_data", "place_on_cluster", "place_shards", "lazy_inputs"]


def check_training_data(X, y):
    """Validate the shapes of ``X`` and ``y`` without computing dask inputs.

    Returns ``(X, y, n_rows)``; lists become numpy arrays and ``n_rows`` is
    ``None`` where a dask collection does not know its length.
    """
    if X is None:
        raise ValueError("X is None; give a 2-D array or DataFrame of training rows.")
    if y is None:
        raise ValueError("fit requires y to be passed, but the target y is None.")
    if (
        not is_dask_collection(X)
        and not hasattr(X, "iloc")
        and not hasattr(X, "tocsr")
        and not isinstance(X, np.ndarray)
    ):
        X = np.asarray(X)
    if not is_dask_collection(y) and not hasattr(y, "iloc") and not isinstance(y, np.ndarray):
        y = np.asarray(y)
    x_ndim = _ndim(X)
    if x_ndim != 2:
        raise ValueError(
            f"X must be 2-D (rows x features), got {x_ndim}-D input with shape {_shape(X)}; "
            "reshape a single feature with X.reshape(-1, 1)."
        )
    if _ndim(y) == 2 and _shape(y)[1] == 1 and not is_dask_collection(y):
        y = column_or_1d(y, warn=True)  # as scikit-learn does: a warning, then ravel
    if _ndim(y) != 1:
        raise ValueError(f"y must be 1-D, got shape {_shape(y)}.")
    n_x, n_y = _length(X), _length(y)
    if n_x is not None and n_y is not None and n_x != n_y:
        raise ValueError(f"X and y have different lengths: X has {n_x} rows, y has {n_y}.")
    if n_x == 0:
        raise ValueError("X has 0 rows; give at least one training row.")
    return X, y, n_x if n_x is not None else n_y


def place_on_cluster(client, *data):
    """Put each of ``data`` on the cluster once; return one Future each."""
    futures = []
    for item in data:
        if is_dask_collection(item):
            futures.append(client.compute(item))
        else:
            futures.append(client.scatter(item, hash=False))
    return futures


def place_shards(client, shards, sizes):
    """Put each shard ``(X_k, y_k)`` of ``sizes[k]`` rows on one worker; return ``[(X_future, y_future, worker), ...]``.

    A shard given as ``None`` is not needed and not placed (``(None, None, None)``).

    In-memory shards go to workers largest first, each to the worker holding
    the fewest rows so far, and every task that reads a shard is then pinned
    to its worker (see ``waves``), so the shard is never copied to another
    one. Keys are named ``shard-data-<k>-X-...`` for the dashboard.

    The blocks of a dask collection are left to Dask instead (``worker`` is
    ``None``): unrestricted, they are computed as the scheduler's root-task
    queue allows, one or two per worker thread at a time, and the tasks that
    read a block follow it there. Pinned, every block would be computed at
    once, and data larger than the cluster's memory would not fit.
    """
    workers = sorted(worker_threads(client))
    if not workers:
        raise RuntimeError("the cluster has no workers to hold the shards.")
    load = dict.fromkeys(workers, 0)
    owner = [None] * len(shards)
    for k in sorted((k for k in range(len(shards)) if shards[k] is not None), key=lambda k: -sizes[k]):
        owner[k] = min(workers, key=lambda w: (load[w], workers.index(w)))
        load[owner[k]] += sizes[k]
    placed = []
    for k, shard in enumerate(shards):
        if shard is None:
            placed.append((None, None, None))
            continue
        X_k, y_k = shard
        suffix = uuid.uuid4().hex[:12]
        parts = []
        for label, item in (("X", X_k), ("y", y_k)):
            key = f"shard-data-{k}-{label}-{suffix}"
            if is_dask_collection(item):
                [future] = client.compute([item])
            else:
                future = client.scatter({key: item}, workers=[owner[k]], hash=False)[key]
            parts.append(future)
        lazy = is_dask_collection(X_k)
        placed.append((*parts, None if lazy else owner[k]))
    return placed


def lazy_inputs(*data):
    """Wrap each of ``data`` for a ``dask.delayed`` graph, as a single key each."""
    return [item if is_dask_collection(item) else dask.delayed(item, pure=False) for item in data]


def _ndim(data):
    if hasattr(data, "ndim"):
        return data.ndim
    return len(_shape(data))


def _shape(data):
    return tuple(getattr(data, "shape", (len(data),)))


def _length(data):
    if is_dask_collection(data):
        if hasattr(data, "shape") and hasattr(data, "chunks"):  # dask array
            n = data.shape[0]
            return None if n is None or (isinstance(n, float) and math.isnan(n)) else int(n)
        return None  # dask DataFrame/Series: knowing the length would need a pass
    return data.shape[0] if hasattr(data, "shape") else len(data)
