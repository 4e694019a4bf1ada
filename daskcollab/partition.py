"""Split a dataset into shards, as separate sites or devices would hold it.

``partition`` decides which rows go to which shard (IID, Dirichlet label skew,
or a few classes per shard) and returns a :class:`Partition`: the data, the
rows of each shard, and a summary of how skewed the shards are. Shards are put
on workers by ``placement.place_shards``; this module never talks to a cluster.
"""

from __future__ import annotations

import functools
import math
from numbers import Integral, Real

import dask
import numpy as np
import pandas as pd
from dask.base import is_dask_collection

from daskcollab.placement import check_training_data
from daskcollab.tasks import take_rows

__all__ = ["partition", "Partition", "resolve_shards"]

SCHEMES = ("iid", "dirichlet", "pathological")
_DIRICHLET_DRAWS = 200


class Partition:
    """Rows of a dataset split into shards; made by :func:`partition`.

    Attributes
    ----------
    X, y : the data the shards are cut from (not copied).
    indices : list of ndarray, or None
        Row positions of each shard, sorted; ``None`` for a dask collection,
        whose shards are its blocks.
    scheme : str
        How the rows were assigned: "iid", "dirichlet", "pathological",
        "blocks" (a dask collection's blocks) or "given" (``from_shards``).
    params : dict
        The arguments that made the partition (``alpha``, ``seed``...).
    classes : ndarray
        Every class in ``y``, sorted: the global class list.
    """

    def __init__(self, X, y, indices, scheme, params, classes, counts):
        self.X = X
        self.y = y
        self.indices = indices
        self.scheme = scheme
        self.params = params
        self.classes = classes
        self._counts = counts  # (n_shards, n_classes) rows per shard and class

    @classmethod
    def from_shards(cls, shards):
        """A partition of data that arrives already split: one ``(X_k, y_k)`` per site.

        The shards are kept in the order given (shard ``k`` is the ``k``-th
        pair) and must have the same features.

        Examples
        --------
        >>> import numpy as np
        >>> p = Partition.from_shards([(np.zeros((3, 2)), [0, 0, 1]), (np.ones((2, 2)), [1, 1])])
        >>> p.sizes.tolist(), p.classes.tolist()
        ([3, 2], [0, 1])
        """
        pairs = list(shards)
        if not pairs:
            raise ValueError("shards is empty; give at least one (X, y) pair.")
        checked = []
        for k, pair in enumerate(pairs):
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TypeError(f"shards[{k}] must be an (X, y) pair, got {type(pair).__name__}.")
            if is_dask_collection(pair[0]) or is_dask_collection(pair[1]):
                raise TypeError(f"shards[{k}] is a dask collection; use partition(X, y) on dask data instead.")
            X_k, y_k, _ = check_training_data(*pair)
            checked.append((X_k, np.asarray(y_k) if not hasattr(y_k, "iloc") else y_k))
        widths = [X_k.shape[1] for X_k, _ in checked]
        if len(set(widths)) > 1:
            raise ValueError(
                f"shards have different feature counts: {dict(enumerate(widths))}; every shard needs the same features."
            )
        frames = hasattr(checked[0][0], "iloc")
        X = (
            pd.concat([X_k for X_k, _ in checked], ignore_index=True)
            if frames
            else np.concatenate([X_k for X_k, _ in checked])
        )
        y = (
            pd.concat([y_k for _, y_k in checked], ignore_index=True)
            if hasattr(checked[0][1], "iloc")
            else np.concatenate([y_k for _, y_k in checked])
        )
        ends = np.cumsum([len(y_k) for _, y_k in checked])
        indices = [np.arange(end - len(y_k), end) for end, (_, y_k) in zip(ends, checked)]
        return _in_memory_partition(X, y, indices, "given", {})

    @property
    def n_shards(self) -> int:
        return self._counts.shape[0]

    @property
    def sizes(self) -> np.ndarray:
        """Rows per shard."""
        return self._counts.sum(axis=1)

    @property
    def n_samples(self) -> int:
        return int(self._counts.sum())

    def __len__(self):
        return self.n_shards

    def split(self, X=None, y=None):
        """``[(X_k, y_k), ...]``: this partition's shards of ``X, y`` (by default its own data).

        In-memory data gives the rows of each shard; dask data gives each
        block as a ``Delayed``, computed nowhere yet. Data other than the
        partition's own must have as many rows (or blocks).
        """
        X, y = self.check_data(X, y)
        if self.indices is None:
            return list(zip(_blocks(X), _blocks(y)))
        return [(take_rows(X, rows), take_rows(y, rows)) for rows in self.indices]

    def split_labels(self, y=None):
        """``[y_k, ...]``: the labels of each shard (rows, or lazy blocks for dask data)."""
        y = self.y if y is None else y
        if self.indices is None:
            return _blocks(y)
        return [take_rows(y, rows) for rows in self.indices]

    def check_data(self, X=None, y=None):
        """``X, y`` (by default the partition's own), checked to match this partition's rows or blocks."""
        X = self.X if X is None else X
        y = self.y if y is None else y
        if self.indices is None:
            if not (is_dask_collection(X) and is_dask_collection(y)):
                raise TypeError(
                    "shards: this partition's shards are the blocks of dask data, so X and y must be dask too; "
                    f"got X: {type(X).__name__}, y: {type(y).__name__}."
                )
            if hasattr(X, "chunks"):
                X = X.rechunk({1: -1})
            n_x, n_y = len(_blocks(X)), len(_blocks(y))
            if not n_x == n_y == self.n_shards:
                raise ValueError(
                    f"shards: the partition has {self.n_shards} shards (blocks), but X has {n_x} blocks and y {n_y}."
                )
            return X, y
        n_x = X.shape[0] if hasattr(X, "shape") else len(X)
        if is_dask_collection(X) or is_dask_collection(y) or n_x != self.n_samples or len(y) != self.n_samples:
            raise ValueError(
                f"shards: the partition splits {self.n_samples} in-memory rows, but got X with {n_x} rows "
                f"({type(X).__name__}) and y with {len(y)} ({type(y).__name__}); partition this data instead."
            )
        return X, y

    def shard(self, k):
        """``(X_k, y_k)`` of shard ``k``: in-memory rows, or the ``k``-th blocks (lazy) for dask data."""
        if not 0 <= k < self.n_shards:
            raise IndexError(f"shard {k} does not exist; the partition has {self.n_shards} shards.")
        return self.split()[k]

    def __iter__(self):
        return iter(self.split())

    def __deepcopy__(self, memo):
        # clone() deep-copies parameters; the data is read-only here, so a
        # copy shares it instead of duplicating a dataset per clone.
        return Partition(self.X, self.y, self.indices, self.scheme, dict(self.params), self.classes, self._counts)

    @functools.cached_property
    def hash(self) -> str:
        """A token of the data and the row assignment: equal partitions have equal hashes.

        Computed once: tokenizing in-memory data reads every byte of it, and
        every fit over the partition records the hash.
        """
        return dask.base.tokenize(self.X, self.y, self.indices, self.scheme)

    def summary(self) -> pd.DataFrame:
        """One row per shard: rows, rows of each class, label entropy and EMD to the global mix.

        ``entropy`` is the Shannon entropy of the shard's labels in bits
        (``log2(n_classes)`` for a uniform mix, 0 for a single class). ``emd``
        is the earth mover's distance between the shard's class mix and the
        global one with a 0/1 ground distance between classes, which is half
        their L1 distance: 0 for the global mix, 1 for disjoint classes.
        """
        counts = self._counts.astype(float)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        overall = counts.sum(axis=0) / counts.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.nansum(np.where(shares > 0, shares * np.log2(shares), 0.0), axis=1)
        frame = pd.DataFrame(self._counts, columns=[f"class {c}" for c in self.classes])
        frame.insert(0, "rows", self.sizes)
        frame["entropy"] = entropy + 0.0  # turns -0.0 into 0.0
        frame["emd"] = 0.5 * np.abs(shares - overall).sum(axis=1)
        frame.index = pd.RangeIndex(self.n_shards, name="shard")
        return frame

    def _repr_html_(self):
        return f"<p><b>{self!r}</b></p>" + self.summary().to_html(float_format=lambda v: f"{v:.3f}")

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return (
            f"Partition({self.n_shards} shards of {self.n_samples} rows, scheme={self.scheme!r}"
            + (f", {params}" if params else "")
            + ")"
        )


def partition(X, y, n_shards=None, *, scheme="iid", alpha=0.5, classes_per_shard=2, seed=0, min_size=1):
    """Split ``X, y`` into ``n_shards`` shards of rows.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features), or a dask array / DataFrame
        For a dask collection the shards are its blocks (partitions), as they
        are, and nothing is gathered on the client: ``n_shards`` must be
        ``None`` or the number of blocks, and ``scheme`` "iid" (the default,
        read as "the blocks as given") or "blocks".
    y : array-like or Series of shape (n_samples,), or the matching dask collection
        Labels; the Dirichlet and pathological schemes split by class.
    n_shards : int
        Number of shards, from 1 to ``n_samples``.
    scheme : {"iid", "dirichlet", "pathological", "blocks"}, default="iid"
        - "iid": rows shuffled and dealt into shards of equal size (±1);
        - "dirichlet": for each class, the share of its rows in each shard is
          drawn from Dirichlet(``alpha``). Large ``alpha`` gives near-IID
          shards; small ``alpha`` gives shards dominated by a few classes;
        - "pathological": each shard holds ``classes_per_shard`` classes,
          and each class's rows are split evenly over the shards that hold it.
    alpha : float, default=0.5
        Concentration of the Dirichlet scheme, > 0.
    classes_per_shard : int, default=2
        Classes per shard in the pathological scheme; ``n_shards *
        classes_per_shard`` must cover every class.
    seed : int, default=0
        Seed of the shuffle and the draws: equal seeds give equal partitions.
    min_size : int, default=1
        Fewest rows a shard may have. The Dirichlet scheme redraws (up to 200
        times) until every shard has them, then raises a ValueError; the
        other schemes raise at once. Shards are never silently empty.

    Returns
    -------
    partition : Partition
        Every row is in exactly one shard; ``summary()`` shows the skew.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> p = partition(X, y, 3, scheme="pathological", classes_per_shard=1)
    >>> p.summary()[["rows", "class 0", "class 1", "class 2"]].to_numpy()
    array([[50,  0,  0, 50],
           [50, 50,  0,  0],
           [50,  0, 50,  0]])
    >>> p.summary()["emd"].round(3).tolist()  # each shard holds 1 of 3 classes
    [0.667, 0.667, 0.667]
    >>> partition(X, y, 3, scheme="dirichlet", alpha=1000.0).summary()["emd"].round(2).tolist()  # near IID
    [0.0, 0.01, 0.01]
    """
    if is_dask_collection(X) or is_dask_collection(y):
        return _partition_blocks(X, y, n_shards, scheme)
    X, y, n = check_training_data(X, y)
    _check_arguments(n, n_shards, scheme, alpha, classes_per_shard, seed, min_size)
    labels = np.asarray(y)
    classes, codes = np.unique(labels, return_inverse=True)
    if scheme == "pathological" and not (
        classes_per_shard <= len(classes) and n_shards * classes_per_shard >= len(classes)
    ):
        raise ValueError(
            f"classes_per_shard={classes_per_shard} with n_shards={n_shards} cannot cover the {len(classes)} "
            f"classes exactly once or more: it must be at most {len(classes)} and at least "
            f"{math.ceil(len(classes) / n_shards)}, or every row would not land in a shard."
        )
    rng = np.random.default_rng(seed)
    if scheme == "iid":
        shards = np.array_split(rng.permutation(n), n_shards)
        params = dict(seed=seed)
    elif scheme == "dirichlet":
        shards = _dirichlet(codes, len(classes), n_shards, alpha, min_size, rng)
        params = dict(alpha=alpha, seed=seed)
    else:
        shards = _pathological(codes, len(classes), n_shards, classes_per_shard, rng)
        params = dict(classes_per_shard=classes_per_shard, seed=seed)
    result = _in_memory_partition(X, y, [np.sort(rows) for rows in shards], scheme, params)
    small = np.flatnonzero(result.sizes < min_size)
    if len(small):
        raise ValueError(
            f"scheme={scheme!r} left shards {small.tolist()} with fewer than min_size={min_size} rows "
            f"(sizes {result.sizes.tolist()}); use fewer shards or more classes_per_shard."
        )
    return result


def _in_memory_partition(X, y, indices, scheme, params):
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    counts = np.stack([np.bincount(codes[rows], minlength=len(classes)) for rows in indices])
    return Partition(X, y, indices, scheme, params, classes, counts)


def resolve_shards(shards, X, y):
    """What a ``shards=`` argument means: ``None``, a :class:`Partition` checked against ``X, y``, or an
    int ``n`` for ``partition(X, y, n)`` (IID, seed 0)."""
    if shards is None:
        return None
    if isinstance(shards, Partition):
        shards.check_data(X, y)
        return shards
    if isinstance(shards, Integral) and not isinstance(shards, bool):
        if is_dask_collection(X):
            raise ValueError(
                f"shards={shards!r}: dask data is sharded by its blocks; pass shards=partition(X, y) instead."
            )
        return partition(X, y, int(shards))
    raise TypeError(f"shards must be None, an int or a Partition (from daskcollab.partition), got {shards!r}.")


def _dirichlet(codes, n_classes, n_shards, alpha, min_size, rng):
    """Per class, proportions over shards ~ Dir(alpha); redraw until all shards are big enough."""
    by_class = [rng.permutation(np.flatnonzero(codes == c)) for c in range(n_classes)]
    for _ in range(_DIRICHLET_DRAWS):
        shards = [[] for _ in range(n_shards)]
        for rows in by_class:
            shares = rng.dirichlet(np.full(n_shards, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
            for k, part in enumerate(np.split(rows, cuts)):
                shards[k].append(part)
        shards = [np.concatenate(parts) for parts in shards]
        if min(len(rows) for rows in shards) >= min_size:
            return shards
    raise ValueError(
        f"scheme='dirichlet' with alpha={alpha} gave a shard with fewer than min_size={min_size} rows in "
        f"{_DIRICHLET_DRAWS} draws; raise alpha, or lower n_shards={n_shards} or min_size."
    )


def _pathological(codes, n_classes, n_shards, classes_per_shard, rng):
    """Shard k holds classes order[k*c .. k*c + c - 1] (cyclically); a class's rows are split over its holders."""
    order = rng.permutation(n_classes)
    held = [order[(k * classes_per_shard + np.arange(classes_per_shard)) % n_classes] for k in range(n_shards)]
    shards = [[] for _ in range(n_shards)]
    for c in range(n_classes):
        holders = [k for k in range(n_shards) if c in held[k]]
        rows = rng.permutation(np.flatnonzero(codes == c))
        for k, part in zip(holders, np.array_split(rows, len(holders))):
            shards[k].append(part)
    return [np.concatenate(parts) if parts else np.array([], dtype=int) for parts in shards]


def _check_arguments(n, n_shards, scheme, alpha, classes_per_shard, seed, min_size):
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES} (or 'blocks' for dask data), got {scheme!r}.")
    if isinstance(n_shards, bool) or not isinstance(n_shards, Integral) or not 1 <= n_shards <= n:
        raise ValueError(f"n_shards must be an integer from 1 to n_samples={n}, got {n_shards!r}.")
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not (alpha > 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}.")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if isinstance(min_size, bool) or not isinstance(min_size, Integral) or min_size < 1:
        raise ValueError(f"min_size must be an integer >= 1, got {min_size!r}.")
    if scheme == "pathological" and (
        isinstance(classes_per_shard, bool) or not isinstance(classes_per_shard, Integral) or classes_per_shard < 1
    ):
        raise ValueError(f"classes_per_shard must be an integer >= 1, got {classes_per_shard!r}.")


def _partition_blocks(X, y, n_shards, scheme):
    if not (is_dask_collection(X) and is_dask_collection(y)):
        raise TypeError(
            "X and y must both be dask collections or both be in memory; got "
            f"X: {type(X).__name__}, y: {type(y).__name__}."
        )
    if scheme not in ("iid", "blocks"):
        raise ValueError(
            f"scheme={scheme!r} needs the labels on the client; a dask collection is partitioned by its "
            "blocks (scheme='blocks'). Rechunk it, or pass in-memory data."
        )
    X, y, _ = check_training_data(X, y)
    if hasattr(X, "chunks"):
        X = X.rechunk({1: -1})  # a shard is a block of whole rows
    x_blocks, y_blocks = _blocks(X), _blocks(y)
    if len(x_blocks) != len(y_blocks):
        raise ValueError(f"X has {len(x_blocks)} blocks but y has {len(y_blocks)}; chunk them alike.")
    if n_shards is not None and n_shards != len(x_blocks):
        raise ValueError(
            f"n_shards={n_shards!r}, but a dask collection's shards are its {len(x_blocks)} blocks; "
            "leave n_shards=None or rechunk."
        )
    # Only the labels' unique values and counts per block leave the cluster.
    uniques = dask.compute(*[dask.delayed(_unique_counts)(block) for block in y_blocks])
    classes = np.unique(np.concatenate([u for u, _ in uniques]))
    counts = np.zeros((len(y_blocks), len(classes)), dtype=int)
    for k, (values, numbers) in enumerate(uniques):
        counts[k, np.searchsorted(classes, values)] = numbers
    empty = np.flatnonzero(counts.sum(axis=1) == 0)
    if len(empty):
        raise ValueError(f"blocks {empty.tolist()} of y are empty; a shard needs at least one row.")
    return Partition(X, y, None, "blocks", {}, classes, counts)


def _unique_counts(block):
    return np.unique(np.asarray(block), return_counts=True)


def _blocks(data):
    """The blocks of a dask array (rows) or the partitions of a dask DataFrame/Series, as Delayed."""
    return list(np.ravel(data.to_delayed())) if hasattr(data, "chunks") else list(data.to_delayed())
