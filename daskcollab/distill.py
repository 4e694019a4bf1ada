"""Distillation: one deployable model trained on what an ensemble says about a transfer set."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
from dask.base import is_dask_collection
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from daskcollab.cluster import worker_threads
from daskcollab.dispatch import client_or_temporary
from daskcollab.prediction import predict_with
from daskcollab.tasks import take_rows

__all__ = ["distill"]


def distill(teacher, student, X_transfer, *, soft=True, client=None):
    """Fit ``student`` to imitate the fitted ``teacher`` on ``X_transfer``.

    Parameters
    ----------
    teacher : fitted classifier
        Usually an ensemble (``WeightedVotingClassifier``,
        ``StackingClassifier``); any fitted classifier works. It predicts the
        transfer set on the cluster, block by block.
    student : classifier
        The model to deploy; it is cloned.
    X_transfer : array-like, DataFrame, dask array or dask DataFrame
        Rows to learn from; they need no labels. The student is fitted in
        this process, so a dask transfer set is computed here.
    soft : bool, default=True
        ``True``: the student learns the teacher's probabilities. Each row
        becomes one row per class the teacher gives a non-zero probability,
        weighted by that probability (``sample_weight``, which the student,
        or a Pipeline's last step, must accept). ``False``: the student
        learns the teacher's predicted labels.
    client : distributed.Client, default=None
        As in ``fit_parallel``.

    Returns
    -------
    student : classifier
        The fitted student.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from daskcollab import distill, start_cluster
    >>> X, y = load_iris(return_X_y=True)
    >>> forest = RandomForestClassifier(50, random_state=0).fit(X, y)
    >>> with start_cluster(n_workers=2, processes=False):
    ...     tree = distill(forest, DecisionTreeClassifier(max_depth=3, random_state=0), X)
    >>> bool((tree.predict(X) == forest.predict(X)).mean() > 0.9)
    True
    """
    weight_key = _check_arguments(teacher, student, soft)
    X_transfer = _check_transfer(X_transfer)
    n_features = getattr(teacher, "n_features_in_", None)
    if n_features is not None and X_transfer.shape[1] != n_features:
        raise ValueError(f"X_transfer has {X_transfer.shape[1]} features, but the teacher expects {n_features}.")
    method = "predict_proba" if soft else "predict"
    with client_or_temporary(client) as active:
        on_cluster = _as_blocks(X_transfer, len(worker_threads(active)))
        targets = np.asarray(predict_with(teacher, on_cluster, method).compute())
    X_local = X_transfer.compute() if is_dask_collection(X_transfer) else X_transfer
    if not soft:
        return clone(student).fit(X_local, targets)
    rows, columns = np.nonzero(targets > 0)
    labels = np.asarray(teacher.classes_)[columns]
    return clone(student).fit(take_rows(X_local, rows), labels, **{weight_key: targets[rows, columns]})


def _as_blocks(X, n_workers):
    """``X`` as a dask collection of about one block per worker (already-dask input as it is)."""
    if is_dask_collection(X):
        return X
    if hasattr(X, "iloc"):
        # Imported here: dask.dataframe brings pyarrow (~130 MB), and spawned
        # worker processes re-import this package with the user's script.
        import dask.dataframe as dd

        return dd.from_pandas(X, npartitions=max(n_workers, 1))
    return da.from_array(X, chunks=(math.ceil(X.shape[0] / max(n_workers, 1)), -1))


def _check_arguments(teacher, student, soft):
    if not isinstance(soft, bool):
        raise TypeError(f"soft must be True or False, got {soft!r}.")
    try:
        check_is_fitted(teacher)
    except Exception as error:
        raise ValueError(f"teacher must be a fitted classifier: {error}") from None
    if not hasattr(teacher, "classes_"):
        raise ValueError(f"teacher must be a fitted classifier with classes_, got {teacher!r}.")
    if not (hasattr(student, "fit") and hasattr(student, "get_params")):
        raise TypeError(f"student must be a scikit-learn estimator, got {student!r}.")
    if not soft:
        return None
    if not hasattr(teacher, "predict_proba"):
        raise ValueError(f"soft=True needs the teacher's predict_proba, which {type(teacher).__name__} lacks.")
    if isinstance(student, Pipeline):
        name, last = student.steps[-1]
        if last != "passthrough" and has_fit_parameter(last, "sample_weight"):
            return f"{name}__sample_weight"
    elif has_fit_parameter(student, "sample_weight"):
        return "sample_weight"
    raise TypeError(
        f"soft=True trains on the teacher's probabilities as sample weights, but {type(student).__name__}.fit "
        "takes no sample_weight; use soft=False (the teacher's labels) or a student that takes sample weights."
    )


def _check_transfer(X):
    if X is None:
        raise ValueError("X_transfer is None; give the rows the student learns from.")
    if not (is_dask_collection(X) or hasattr(X, "iloc")):
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X_transfer must be 2-D (rows x features), got shape {tuple(X.shape)}.")
    if not is_dask_collection(X) and X.shape[0] == 0:
        raise ValueError("X_transfer has 0 rows.")
    return X
