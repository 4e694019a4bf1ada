"""How differently the members of an ensemble err: the reason an ensemble can beat its members."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

__all__ = ["diversity"]


def diversity(model, X, y):
    """Pairwise disagreement and error correlation of a fitted ensemble's members on ``X, y``.

    Parameters
    ----------
    model : fitted ensemble
        Anything with ``estimators_`` (and ``named_estimators_`` for names):
        the ensembles here, or scikit-learn's voting and stacking ensembles.
    X, y : array-like
        Labelled data the members did not train on, ideally.

    Returns
    -------
    table : DataFrame
        One row per pair of members: ``member_a``, ``member_b``,
        ``disagreement`` (share of rows where their predictions differ; 0 for
        identical members), ``error_correlation`` (Pearson correlation of
        their 0/1 error indicators; NaN when one of them makes no error or
        errs everywhere) and ``double_fault`` (share of rows both get wrong).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from daskcollab import WeightedVotingClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> trees = [DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y) for _ in range(2)]
    >>> diversity(WeightedVotingClassifier.from_estimators(trees), X, y)[["disagreement", "double_fault"]]
       disagreement  double_fault
    0           0.0          0.04
    """
    check_is_fitted(model, "estimators_")
    names = list(getattr(model, "named_estimators_", {}) or [f"member-{i}" for i in range(len(model.estimators_))])
    if len(names) != len(model.estimators_):
        names = [f"member-{i}" for i in range(len(model.estimators_))]
    truth = np.asarray(y)
    predictions = [np.asarray(est.predict(X)) for est in model.estimators_]
    errors = [predicted != truth for predicted in predictions]
    rows = []
    for a, b in combinations(range(len(names)), 2):
        rows.append(
            dict(
                member_a=names[a],
                member_b=names[b],
                disagreement=float(np.mean(predictions[a] != predictions[b])),
                error_correlation=_correlation(errors[a], errors[b]),
                double_fault=float(np.mean(errors[a] & errors[b])),
            )
        )
    return pd.DataFrame(rows, columns=["member_a", "member_b", "disagreement", "error_correlation", "double_fault"])


def _correlation(a, b):
    a, b = a.astype(float), b.astype(float)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
