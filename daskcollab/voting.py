"""Weighted voting ensembles whose members are fitted in parallel on Dask."""

from __future__ import annotations

import numpy as np
from dask.base import is_dask_collection
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import StrOptions

from daskcollab.combine import align_proba, class_positions, hard_vote, soft_vote
from daskcollab.committee import WeightedCommittee, check_classes
from daskcollab.prediction import predict_with

__all__ = ["WeightedVotingClassifier", "WeightedVotingRegressor"]


class WeightedVotingClassifier(ClassifierMixin, WeightedCommittee):
    """Weighted voting over classifiers that are fitted in parallel on Dask.

    Each member (and each seeded replica) is fitted as its own Dask task
    through :func:`daskcollab.fit_parallel`, on the current client, or on a
    temporary local cluster when there is none.

    Parameters
    ----------
    estimators : list of estimators or (name, estimator) pairs
        The members; they are cloned before fitting.
    voting : {"soft", "hard"}, default="soft"
        ``"soft"``: weighted mean of the members' ``predict_proba``, argmax.
        ``"hard"``: weighted vote of predicted labels; ties go to the class
        first in ``classes_``; ``predict_proba`` gives the weighted vote
        fractions.
    weights : array-like, {"accuracy", "logodds", "n_samples", "cross_eval"} or None, default=None
        ``None``: equal weights. An array: one non-negative weight per member
        (or per seeded replica or shard), not all zero. ``"accuracy"``: each
        member's accuracy on a stratified validation split (with shards: of
        its own shard, drawn on the shard's worker). ``"logodds"``:
        ``log(p (L-1) / (1-p))``, the Nitzan-Paroush weight for independent
        voters, with ``p`` clipped away from 0 and 1 and worse-than-chance
        members given weight 0. ``"n_samples"``: the share ``n_k / n`` of the
        rows its shard holds (equal without shards). ``"cross_eval"``: its
        accuracy on the other shards' data, averaged with their sizes as
        weights, measured on those shards' workers (the model travels, the
        data stays; a member is never scored on its own shard); needs at
        least 2 shards.
    seeds : int, list of int or None, default=None
        Replicate each member over these seeds (see ``fit_parallel``).
    shards : int, Partition or None, default=None
        Train where the data lives: fit each member on each shard of a
        :func:`~daskcollab.partition` of the training data (an int ``n``:
        ``n`` IID shards), each shard on one worker, members named
        ``name-shard<k>``. Every member still votes over the global classes:
        a shard model that never saw a class gives it probability 0.
    validation_size : float, default=0.2
        Fraction of rows held out to score members when weights are learned.
    refit : bool, default=True
        With learned weights: ``True`` scores a copy of each member trained on
        the other rows, and fits the member used for prediction on all rows,
        all in one parallel wave, so no row is thrown away; ``False`` fits
        members on the training part only (cheaper: one fit per member).
    random_state : int, RandomState or None, default=None
        Seed of the validation split.
    progress : bool, callable or None, default=None
        Passed to ``fit_parallel``.
    on_error : {"raise", "warn", "skip"}, default="raise"
        A member whose fit (or validation scoring) fails: raise, naming it;
        or leave it out, with or without a warning. The other members vote
        with their own weights, which the vote divides by their sum.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members (replicas included), in order.
    named_estimators_ : Bunch
        The fitted members by name.
    weights_ : ndarray of shape (n_members,)
        The weight of each member.
    member_scores_ : ndarray of shape (n_members,)
        Validation accuracy of each member (only when weights are learned
        from scores; with ``"cross_eval"``, the mean over the other shards).
    cross_scores_ : ndarray of shape (n_members, n_shards)
        With ``weights="cross_eval"``: each member's accuracy on each shard,
        NaN on its own.
    shards_ : Partition or None
        The shards the members were trained on.
    skipped_members_ : list of str
        Members left out because their fit failed (``on_error`` "warn" or
        "skip").
    classes_ : ndarray
        The class labels, sorted as ``np.unique`` sorts them.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Column names seen in fit (DataFrame input only).
    fit_result_ : FitResult
        Timings and failures of the parallel fit.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from daskcollab import WeightedVotingClassifier, start_cluster
    >>> X, y = load_iris(return_X_y=True)
    >>> with start_cluster(n_workers=2, processes=False):
    ...     model = WeightedVotingClassifier(
    ...         [("lr", LogisticRegression(max_iter=500)), ("tree", DecisionTreeClassifier(random_state=0))],
    ...         weights="accuracy", random_state=0).fit(X, y)
    >>> model.predict(X[:3])
    array([0, 0, 0])
    >>> model.weights_.round(2)
    array([0.93, 0.83])
    """

    _parameter_constraints = {
        **WeightedCommittee._parameter_constraints,
        "voting": [StrOptions({"soft", "hard"})],
        "weights": ["array-like", StrOptions({"accuracy", "logodds", "n_samples", "cross_eval"}), None],
    }

    def __init__(
        self,
        estimators,
        *,
        voting="soft",
        weights=None,
        seeds=None,
        shards=None,
        validation_size=0.2,
        refit=True,
        random_state=None,
        progress=None,
        on_error="raise",
    ):
        self.estimators = estimators
        self.voting = voting
        self.weights = weights
        self.seeds = seeds
        self.shards = shards
        self.validation_size = validation_size
        self.refit = refit
        self.random_state = random_state
        self.progress = progress
        self.on_error = on_error

    def fit(self, X, y):
        """Fit every member in parallel, then learn the weights if asked.

        Parameters
        ----------
        X : array-like, DataFrame, dask array or dask DataFrame of shape (n_samples, n_features)
        y : array-like, Series, dask array or dask Series of shape (n_samples,)
            Any labels: strings, non-contiguous integers...

        Returns
        -------
        self : WeightedVotingClassifier
        """
        return self._fit(X, y)

    def _check_X_y_for_fit(self, X, y):
        X, y = super()._check_X_y_for_fit(X, y)
        self.classes_ = check_classes(self, y)
        return X, y

    def _check_can_hold_out(self, y):
        if is_dask_collection(y):
            return
        _, counts = np.unique(np.asarray(y), return_counts=True)
        if counts.min() < 2:
            raise ValueError(
                f"weights={self.weights!r} needs a stratified validation split, but a class of y has only "
                f"{counts.min()} row; use explicit weights or more data."
            )

    def _n_outputs_for_weights(self):
        return len(self.classes_)

    def _check_members(self, members):
        if self.voting == "soft":
            lacking = [name for name, est in members if not hasattr(est, "predict_proba")]
            if lacking:
                raise ValueError(
                    f"voting='soft' needs predict_proba, which members {lacking} lack; "
                    "use voting='hard' or give them probabilities (e.g. SVC(probability=True))."
                )

    @classmethod
    def from_estimators(cls, fitted, *, weights=None, voting="soft", classes=None):
        """Wrap members that were already fitted elsewhere, without refitting.

        Parameters
        ----------
        fitted : list of fitted estimators or (name, fitted estimator) pairs
        weights : array-like or None, default=None
            One non-negative weight per member; ``None`` for equal weights.
        voting : {"soft", "hard"}, default="soft"
        classes : array-like, default=None
            The ensemble's classes; by default the union of the members'.

        Returns
        -------
        model : WeightedVotingClassifier
            A fitted ensemble (``fit`` would refit the members).

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.tree import DecisionTreeClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> trees = [DecisionTreeClassifier(random_state=s).fit(X, y) for s in range(3)]
        >>> WeightedVotingClassifier.from_estimators(trees, weights=[1, 2, 1]).predict(X[:2])
        array([0, 0])
        """
        if isinstance(weights, str):
            raise ValueError(
                f"weights={weights!r} needs validation data; from_estimators takes explicit weights or None."
            )
        model = cls._from_fitted(fitted, dict(weights=weights, voting=voting))
        known = [np.asarray(getattr(est, "classes_", [])) for est in model.estimators_]
        model.classes_ = np.unique(np.concatenate(known)) if classes is None else np.unique(np.asarray(classes))
        for est in model.estimators_:  # fails early if a member knows a class the ensemble doesn't
            class_positions(est.classes_, model.classes_)
        return model

    def predict(self, X):
        """Predict class labels: the argmax of the weighted vote.

        Numpy or pandas in, numpy out; a dask array or DataFrame in, a dask
        array out, computed block by block on the cluster.
        """
        X = self._check_X_for_predict(X)
        return predict_with(self, X, "predict")

    def _vote(self, X):
        """Weighted vote fractions / probabilities, on in-memory X."""
        # Generators: one member's output in memory at a time (see soft_vote).
        if self.voting == "soft":
            probas = (align_proba(est.predict_proba(X), est.classes_, self.classes_) for est in self.estimators_)
            return soft_vote(probas, self.weights_)
        labels = (np.asarray(est.predict(X)) for est in self.estimators_)
        return hard_vote(labels, self.weights_, self.classes_)

    def _predict_block(self, X):
        return self.classes_[np.argmax(self._vote(X), axis=1)]

    def _proba_block(self, X):
        return self._vote(X)

    def predict_proba(self, X):
        """Weighted mean of the members' probabilities (soft) or weighted vote fractions (hard).

        Columns follow ``classes_``; a member that never saw a class
        contributes 0 for it.
        """
        X = self._check_X_for_predict(X)
        return predict_with(self, X, "predict_proba")


class WeightedVotingRegressor(RegressorMixin, WeightedCommittee):
    """Weighted mean of regressors that are fitted in parallel on Dask.

    Parameters are those of :class:`WeightedVotingClassifier` without
    ``voting``; ``weights`` may be ``None``, an array, or ``"inverse_mse"``
    (1 / mean squared error on the validation split).

    Attributes
    ----------
    estimators_, named_estimators_, weights_, n_features_in_, feature_names_in_, fit_result_
        As for :class:`WeightedVotingClassifier`.
    member_scores_ : ndarray of shape (n_members,)
        Validation mean squared error of each member (learned weights only).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from daskcollab import WeightedVotingRegressor, start_cluster
    >>> X = np.arange(20.0).reshape(-1, 1); y = 2 * X.ravel()
    >>> with start_cluster(n_workers=1, processes=False):
    ...     model = WeightedVotingRegressor([LinearRegression(), DecisionTreeRegressor()], weights=[3, 1]).fit(X, y)
    >>> model.predict([[4.0]]).round(2)
    array([8.])
    """

    _parameter_constraints = {
        **WeightedCommittee._parameter_constraints,
        "weights": ["array-like", StrOptions({"inverse_mse", "n_samples", "cross_eval"}), None],
    }
    _metric = "mse"

    def __init__(
        self,
        estimators,
        *,
        weights=None,
        seeds=None,
        shards=None,
        validation_size=0.2,
        refit=True,
        random_state=None,
        progress=None,
        on_error="raise",
    ):
        self.estimators = estimators
        self.weights = weights
        self.seeds = seeds
        self.shards = shards
        self.validation_size = validation_size
        self.refit = refit
        self.random_state = random_state
        self.progress = progress
        self.on_error = on_error

    def fit(self, X, y):
        """Fit every member in parallel, then learn the weights if asked.

        Returns
        -------
        self : WeightedVotingRegressor
        """
        return self._fit(X, y)

    @classmethod
    def from_estimators(cls, fitted, *, weights=None):
        """Wrap regressors that were already fitted elsewhere, without refitting."""
        if isinstance(weights, str):
            raise ValueError(
                f"weights={weights!r} needs validation data; from_estimators takes explicit weights or None."
            )
        return cls._from_fitted(fitted, dict(weights=weights))

    def predict(self, X):
        """Weighted mean of the members' predictions (dask in, dask out)."""
        X = self._check_X_for_predict(X)
        return predict_with(self, X, "predict")

    def _predict_block(self, X):
        predictions = [np.asarray(est.predict(X), dtype=float) for est in self.estimators_]
        return np.average(np.vstack(predictions), axis=0, weights=self.weights_)
