"""Functions that run on the workers.

Plain module-level functions: picklable, and testable without a cluster.

Examples
--------
>>> import numpy as np
>>> from sklearn.tree import DecisionTreeClassifier
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
>>> fit_member(DecisionTreeClassifier(), X, y).predict([[2.5]])
array([1])
>>> fit_and_score_member(DecisionTreeClassifier(), X, y, [0, 3], [1, 2])
1.0
"""

from __future__ import annotations

import copy
import pickle
import time
import traceback
import warnings
from dataclasses import dataclass

import cloudpickle
import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, train_test_split

from daskcollab.combine import align_proba

__all__ = [
    "Holdout",
    "fit_member",
    "fit_member_packed",
    "fit_and_score_member",
    "evaluate_member",
    "out_of_fold_proba",
    "local_update",
    "fit_batch",
    "pack",
    "take_rows",
]


@dataclass(frozen=True)
class Holdout:
    """One side of a train/validation split, drawn on the worker from ``y``.

    Drawing the split where ``y`` lives means labels never travel to the
    client, and every task given the same ``Holdout`` agrees on the rows.

    Examples
    --------
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> Holdout("validation", 0.25, random_state=0).select(y)
    array([7, 0])
    """

    part: str
    size: float
    random_state: int
    stratify: bool = True

    def select(self, y):
        rows = np.arange(len(y))
        labels = np.asarray(y)
        # A shard can hold a class only once; stratifying is then impossible,
        # and the split falls back to a plain shuffle.
        stratify = self.stratify and np.unique(labels, return_counts=True)[1].min() >= 2
        train, validation = train_test_split(
            rows,
            test_size=self.size,
            random_state=self.random_state,
            stratify=labels if stratify else None,
        )
        return train if self.part == "train" else validation


def take_rows(data, rows):
    """Rows ``rows`` of an array, sparse matrix, DataFrame or Series (all if None)."""
    if rows is None:
        return data
    if hasattr(data, "iloc"):
        return data.iloc[rows]
    if hasattr(data, "tocsr"):  # COO and DIA sparse formats cannot select rows; CSR can (tocsr() of CSR is free)
        return data.tocsr()[rows]
    return data[rows]


def aligned(data):
    """``data``, copied once if its buffer is misaligned for its dtype.

    Arrays that distributed deserializes can start at an odd address inside
    the received frame; numpy then takes slow unaligned paths (LogisticRegression
    1.34x slower in ``benchmarks/overheads.py``). The copy costs one memcpy.
    """
    if isinstance(data, np.ndarray) and not data.flags.aligned:
        return np.array(data, copy=True)
    return data


def _resolve(rows, y):
    return rows.select(y) if isinstance(rows, Holdout) else rows


def fit_member(estimator, X, y, rows=None):
    """Fit ``estimator`` on ``X[rows], y[rows]`` and return it."""
    X, y = aligned(X), aligned(y)
    rows = _resolve(rows, y)
    return estimator.fit(take_rows(X, rows), take_rows(y, rows))


def pack(model):
    """``model`` pickled into a uint8 array, to travel back as one frame.

    A forest pickles into a hundred or more out-of-band buffers. Sent as they
    are, each buffer's socket write gives up the GIL and waits up to the
    interpreter's 5 ms switch interval to get it back from the next fit
    running on the same worker. Pickled here, in the task's own thread, it
    leaves as one frame. ``benchmarks/overheads.py`` measures it: a 62 MB
    ExtraTrees arrived in 0.28 s instead of 0.50 s. It travels as a uint8
    array, which ``pickle.loads`` reads as is; against plain ``bytes`` that
    measured the same.
    """
    return np.frombuffer(cloudpickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)


def fit_member_packed(estimator, X, y, rows=None):
    """Like :func:`fit_member`, but return the fitted model :func:`pack`-ed."""
    return pack(fit_member(estimator, X, y, rows))


def _score(model, X, y, metric):
    predicted = np.asarray(model.predict(X))
    truth = np.asarray(y)
    return float(np.mean((predicted - truth) ** 2)) if metric == "mse" else float(np.mean(predicted == truth))


def aligned_proba(model, X, classes):
    """``model.predict_proba(X)`` with one column per class of ``classes`` (0 for classes it never saw)."""
    return align_proba(model.predict_proba(X), model.classes_, classes)


def evaluate_member(packed_model, X, y, output, classes=None):
    """Evaluate a :func:`pack`-ed fitted model on the data held here.

    ``output`` is ``"accuracy"`` or ``"mse"`` (a float), or ``"proba"``: the
    probabilities, one column per class of ``classes``, as float32 to halve
    what travels back.
    """
    model = pickle.loads(packed_model)
    X = aligned(X)
    if output == "proba":
        return aligned_proba(model, X, classes).astype(np.float32)
    return _score(model, X, aligned(y), output)


def out_of_fold_proba(estimator, X, y, classes, folds, random_state):
    """Probabilities for every row here from copies of ``estimator`` that never saw that row.

    The rows are cut into ``folds`` shuffled folds; each fold is predicted by
    a copy fitted on the others and aligned to ``classes`` (a fold's training
    part may miss a class). Plain, not stratified, folds: a shard may hold a
    class fewer times than there are folds.
    """
    X, y = aligned(X), aligned(y)
    out = np.zeros((len(y), len(classes)), dtype=np.float32)
    n_folds = min(folds, len(y))
    if n_folds < 2:
        return out + np.float32(1.0 / len(classes))  # one row: nothing to learn from, say so evenly
    for train, test in KFold(n_folds, shuffle=True, random_state=random_state).split(np.zeros((len(y), 1))):
        model = clone(estimator).fit(take_rows(X, train), take_rows(y, train))
        out[test] = aligned_proba(model, take_rows(X, test), classes)
    return out


def local_update(model, X, y, classes, epochs):
    """One federated round on the data held here: ``model`` trained further on ``X, y``.

    ``model`` is the global model (unfitted in round 0). ``partial_fit``
    models take ``epochs`` passes with the global ``classes``; warm-started
    models (LogisticRegression) take at most ``epochs`` solver iterations
    from the global coefficients, with a zero-weight row for each class the
    shard lacks, so their coefficients keep one row per global class.
    """
    model = copy.deepcopy(model)
    X, y = aligned(X), np.asarray(aligned(y))
    if hasattr(model, "partial_fit"):
        for _ in range(epochs):
            model.partial_fit(X, y, classes=classes)
        return model
    missing = np.setdiff1d(classes, y)
    weight = np.ones(len(y))
    if len(missing):
        X = np.vstack([np.asarray(X), np.zeros((len(missing), X.shape[1]))])
        y = np.concatenate([y, missing])
        weight = np.concatenate([weight, np.zeros(len(missing))])
    model.set_params(warm_start=True, max_iter=epochs)
    with warnings.catch_warnings():
        # A few iterations per round are the point of federated averaging,
        # not a failure to converge.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, sample_weight=weight)


def fit_batch(calls, attempts):
    """Run several small ``(function, args)`` calls in one task, each tried up to ``attempts`` times.

    Returns ``[(result, error, start, stop), ...]``, :func:`pack`-ed as one
    frame, ``error`` being ``None`` or ``(exception, traceback text)``: one
    member's failure is its own, not the batch's; ``start`` and ``stop`` are
    this worker's clock, as in the scheduler's task stream.
    """
    out = []
    for function, args in calls:
        start = time.time()
        for attempt in range(attempts):
            try:
                out.append((function(*args), None, start, time.time()))
                break
            except Exception as error:
                if attempt == attempts - 1:
                    out.append((None, (error, traceback.format_exc()), start, time.time()))
    return pack(out)


def fit_and_score_member(estimator, X, y, train_rows, test_rows, metric="accuracy", keep_model=False):
    """Fit on ``train_rows`` and return the score on ``test_rows``.

    ``metric`` is ``"accuracy"`` or ``"mse"`` (mean squared error). By default
    only the score travels back: the model fitted on part of the rows exists
    only to weigh the member trained on all of them. ``keep_model=True``
    returns ``(pack(model), score)``, for members that are kept as trained on
    ``train_rows`` (``refit=False``), so they are not fitted twice.
    """
    X, y = aligned(X), aligned(y)
    model = fit_member(estimator, X, y, train_rows)
    test_rows = _resolve(test_rows, y)
    score = _score(model, take_rows(X, test_rows), take_rows(y, test_rows), metric)
    return (pack(model), score) if keep_model else score
