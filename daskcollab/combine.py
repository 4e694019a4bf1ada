"""Combine member outputs: class alignment, weighted votes, learned weights.

Pure functions on numpy arrays: the one place that aligns a member's classes
to the ensemble's, used on the client and inside dask blocks alike.

Examples
--------
A member that never saw class "b" still contributes a 3-column row:

>>> import numpy as np
>>> align_proba(np.array([[0.25, 0.75]]), np.array(["a", "c"]), np.array(["a", "b", "c"]))
array([[0.25, 0.  , 0.75]])
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["align_proba", "soft_vote", "hard_vote", "weights_from_scores"]


def class_positions(member_classes, classes):
    """Column of each of ``member_classes`` in ``classes`` (all must be there)."""
    member_classes = np.asarray(member_classes)
    positions = np.searchsorted(classes, member_classes)
    positions = np.clip(positions, 0, len(classes) - 1)
    if not np.array_equal(classes[positions], member_classes):
        unknown = sorted(set(member_classes.tolist()) - set(np.asarray(classes).tolist()))
        raise ValueError(
            f"member predicts classes {unknown} that are not among the ensemble's classes {list(classes)}."
        )
    return positions


def align_proba(proba, member_classes, classes):
    """Spread a member's ``(n, k)`` probabilities over the ensemble's ``classes``."""
    aligned = np.zeros((proba.shape[0], len(classes)), dtype=float)
    aligned[:, class_positions(member_classes, classes)] = proba
    return aligned


def soft_vote(probas, weights):
    """Weighted mean of aligned ``(n, L)`` probability matrices.

    ``probas`` may be a generator: summed in place as they come, the members'
    matrices for a block are never all in memory at once (32 members of a
    250 000-row block would hold 128 MB more).
    """
    weights = np.asarray(weights, dtype=float)
    total = None
    for w, proba in zip(weights, probas):
        if w:
            total = w * proba if total is None else np.add(total, w * proba, out=total)
    return total / weights.sum()


def hard_vote(predictions, weights, classes):
    """Weighted vote fractions ``(n, L)`` from each member's predicted labels.

    ``classes[argmax]`` of the result is the winner; ties go to the class that
    comes first in ``classes`` (the order of ``np.unique``), as in
    scikit-learn's ``VotingClassifier``.

    Examples
    --------
    >>> classes = np.array(["x", "y"])
    >>> hard_vote([np.array(["x"]), np.array(["y"]), np.array(["y"])], [2, 1, 0.5], classes)
    array([[0.57142857, 0.42857143]])
    """
    weights = np.asarray(weights, dtype=float)
    predictions = iter(predictions)  # a generator is fine, as for soft_vote
    first = next(predictions)
    votes = np.zeros((len(first), len(classes)), dtype=float)
    rows = np.arange(len(first))
    for w, labels in zip(weights, itertools.chain([first], predictions)):
        np.add.at(votes, (rows, class_positions(labels, classes)), w)
    return votes / weights.sum()


def weights_from_scores(scores, method, n_classes, n_validation):
    """Member weights from validation scores.

    - ``"accuracy"``: the accuracy itself;
    - ``"logodds"``: ``log(p (L - 1) / (1 - p))``, the Nitzan-Paroush optimum
      for independent voters, with ``p`` clipped to
      ``[1 / (2 n_val), 1 - 1 / (2 n_val)]`` so that a perfect or hopeless
      member keeps a finite weight, and negative weights (worse than chance)
      set to 0: a voter worse than chance is left out rather than inverted;
    - ``"inverse_mse"``: ``1 / MSE`` for regressors (scores are MSEs).

    Examples
    --------
    >>> weights_from_scores([0.5, 0.9], "logodds", 2, 100).round(3)
    array([0.   , 2.197])
    """
    scores = np.asarray(scores, dtype=float)
    if method == "accuracy":
        return scores.copy()
    if method == "logodds":
        eps = 1.0 / (2 * np.maximum(n_validation, 1))  # per member when shards differ in size
        p = np.clip(scores, eps, 1 - eps)
        return np.maximum(np.log(p * (n_classes - 1) / (1 - p)), 0.0)
    if method == "inverse_mse":
        return 1.0 / np.maximum(scores, np.finfo(float).tiny)
    raise ValueError(f"unknown weighting method {method!r}.")
