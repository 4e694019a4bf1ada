"""Measure what the ensemble bought: member against ensemble accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

__all__ = ["compare_accuracy"]


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
