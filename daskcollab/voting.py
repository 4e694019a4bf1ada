"""Weighted voting ensembles whose members are fitted in parallel on Dask."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from dask.base import is_dask_collection
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from daskcollab.combine import align_proba, class_positions, hard_vote, soft_vote, weights_from_scores
from daskcollab.dispatch import FitJob, fit_jobs
from daskcollab.members import name_members, replicate_seeds
from daskcollab.placement import check_training_data
from daskcollab.prediction import predict_with

__all__ = ["WeightedVotingClassifier", "WeightedVotingRegressor"]


class _BaseWeightedVoting(BaseEstimator):
    """Shared fit logic: members, weights, one parallel wave of fits."""

    _parameter_constraints = {
        "estimators": ["array-like", dict],
        "weights": ["array-like", None],  # strings are added by each subclass
        "seeds": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "validation_size": [Interval(Real, 0, 1, closed="neither")],
        "refit": ["boolean"],
        "random_state": ["random_state"],
        "progress": ["boolean", callable, None],
    }
    _learned_weights: tuple = ()
    _metric = "accuracy"

    # -- parameters ---------------------------------------------------------
    def get_params(self, deep=True):
        """Parameters of the ensemble, and with ``deep`` those of each member as ``name__param``."""
        params = super().get_params(deep=False)
        if not deep:
            return params
        try:
            members = name_members(self.estimators)
        except (TypeError, ValueError):
            return params
        for name, est in members:
            params[name] = est
            params.update({f"{name}__{k}": v for k, v in est.get_params(deep=True).items()})
        return params

    def set_params(self, **params):
        """Set ensemble parameters, replace a member (``name=est``) or set its parameters (``name__param=v``)."""
        own = {k: v for k, v in params.items() if k in self._get_param_names()}
        super().set_params(**own)
        rest = {k: v for k, v in params.items() if k not in own}
        if not rest:
            return self
        members = name_members(self.estimators)
        names = [n for n, _ in members]
        for key, value in rest.items():
            name, _, sub = key.partition("__")
            if name not in names:
                raise ValueError(f"Invalid parameter {key!r} for {type(self).__name__}: no member named {name!r}; members are {names}.")
            i = names.index(name)
            if sub:
                members[i][1].set_params(**{sub: value})
            else:
                members[i] = (name, value)
        self.estimators = members
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # passed through to the members, which decide
        return tags

    # -- fitting ------------------------------------------------------------
    def _fit(self, X, y):
        self._validate_params()
        members = replicate_seeds(name_members(self.estimators), self.seeds)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X, y, n_rows = check_training_data(X, y)
        X, y = self._check_X_y_for_fit(X, y)
        given_weights = self._check_weights(len(members))
        self._check_members(members)
        learned = isinstance(self.weights, str)
        jobs = [FitJob(name, est) for name, est in members]
        if learned:
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            self._check_can_hold_out(y)
            train = self._holdout("train", seed)
            validation = self._holdout("validation", seed)
            if not self.refit:
                jobs = [FitJob(name, est, rows=train) for name, est in members]
            jobs += [FitJob(name, clone(est), rows=train, score_rows=validation, metric=self._metric) for name, est in members]
        result = fit_jobs(jobs, X, y, progress=self.progress)
        self.fit_result_ = result
        self.estimators_ = [est for _, est in result.estimators]
        self.named_estimators_ = Bunch(**dict(result.estimators))
        if learned:
            self.member_scores_ = np.array([result.scores[name] for name, _ in members])
            n_validation = self._n_validation(n_rows)
            weights = weights_from_scores(self.member_scores_, self.weights, self._n_outputs_for_weights(), n_validation)
            if not np.any(weights > 0):
                warnings.warn(
                    f"every member scored no better than chance on the validation split, so weights={self.weights!r} "
                    "gave all-zero weights; using equal weights instead.", UserWarning, stacklevel=3)
                weights = np.ones(len(members))
            self.weights_ = weights
        else:
            self.weights_ = given_weights
        return self

    def _holdout(self, part, seed):
        from daskcollab.tasks import Holdout

        return Holdout(part, self.validation_size, seed, stratify=isinstance(self, ClassifierMixin))

    def _n_validation(self, n_rows):
        return int(np.ceil(self.validation_size * n_rows)) if n_rows else 1

    def _check_can_hold_out(self, y):
        return None

    def _n_outputs_for_weights(self):
        return 2

    def _check_X_y_for_fit(self, X, y):
        if is_dask_collection(X):
            self.n_features_in_ = int(X.shape[1])
            if hasattr(X, "columns"):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            return X, y
        # Validate here, before any task is sent; members get X untouched so
        # that DataFrame column names reach them.
        validate_data(self, X, skip_check_array=True, reset=True)
        checked = check_array(X, accept_sparse=True, dtype=None, ensure_all_finite=False, estimator=self)
        self.n_features_in_ = checked.shape[1]
        return (X if hasattr(X, "iloc") or hasattr(X, "tocsr") else checked), y

    def _check_weights(self, n_members):
        if self.weights is None or isinstance(self.weights, str):
            return np.ones(n_members)
        weights = np.asarray(self.weights, dtype=float)
        n_given = len(name_members(self.estimators))
        if weights.ndim != 1 or len(weights) not in (n_members, n_given):
            expected = f"{n_members}" if n_members == n_given else f"{n_given} (one per member) or {n_members} (one per seeded replica)"
            raise ValueError(f"weights must have {expected} values, got {len(np.atleast_1d(weights))}: {self.weights!r}.")
        if not np.all(np.isfinite(weights)):
            raise ValueError(f"weights must be finite numbers, got {self.weights!r}.")
        if np.any(weights < 0):
            raise ValueError(f"weights must be non-negative, got {self.weights!r}.")
        if not np.any(weights > 0):
            raise ValueError(f"weights must not all be zero, got {self.weights!r}.")
        if len(weights) != n_members:  # one weight per member, shared by its replicas
            weights = np.repeat(weights, n_members // n_given)
        return weights

    def _check_members(self, members):
        return None

    # -- prediction ---------------------------------------------------------
    def _check_X_for_predict(self, X):
        check_is_fitted(self, "estimators_")
        if is_dask_collection(X):
            n_features = X.shape[1]
        else:
            if not (hasattr(X, "iloc") or hasattr(X, "tocsr")):
                X = check_array(X, accept_sparse=True, dtype=None, ensure_all_finite=False, estimator=self)
            validate_data(self, X, skip_check_array=True, reset=False)
            n_features = X.shape[1]
        if n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input.")
        return X

    @classmethod
    def _from_fitted(cls, fitted, params):
        """Build a fitted ensemble from already fitted members (shared by subclasses)."""
        members = name_members(fitted, argument="fitted")
        model = cls([(n, e) for n, e in members], **params)
        model._validate_params()
        for name, est in members:
            try:
                check_is_fitted(est)
            except Exception as error:
                raise ValueError(f"fitted member {name!r} is not fitted: {error}") from None
        model._check_members(members)
        model.estimators_ = [est for _, est in members]
        model.named_estimators_ = Bunch(**dict(members))
        model.weights_ = model._check_weights(len(members))
        n_features = {getattr(est, "n_features_in_", None) for _, est in members} - {None}
        if len(n_features) > 1:
            raise ValueError(f"fitted members disagree on the number of features: {sorted(n_features)}.")
        if n_features:
            model.n_features_in_ = n_features.pop()
        names = [getattr(est, "feature_names_in_", None) for _, est in members]
        if names[0] is not None and all(n is not None and list(n) == list(names[0]) for n in names):
            model.feature_names_in_ = names[0]
        return model


class WeightedVotingClassifier(ClassifierMixin, _BaseWeightedVoting):
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
    weights : array-like, {"accuracy", "logodds"} or None, default=None
        ``None``: equal weights. An array: one non-negative weight per member
        (or per seeded replica), not all zero. ``"accuracy"``: each member's
        accuracy on a stratified validation split. ``"logodds"``:
        ``log(p (L-1) / (1-p))``, the Nitzan-Paroush weight for independent
        voters, with ``p`` clipped away from 0 and 1 and worse-than-chance
        members given weight 0.
    seeds : int, list of int or None, default=None
        Replicate each member over these seeds (see ``fit_parallel``).
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

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members (replicas included), in order.
    named_estimators_ : Bunch
        The fitted members by name.
    weights_ : ndarray of shape (n_members,)
        The weight of each member.
    member_scores_ : ndarray of shape (n_members,)
        Validation accuracy of each member (only when weights are learned).
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
    ...         [("lr", LogisticRegression(max_iter=500)), ("tree", DecisionTreeClassifier())],
    ...         weights="accuracy", random_state=0).fit(X, y)
    >>> model.predict(X[:3])
    array([0, 0, 0])
    >>> model.weights_.round(2)
    array([0.93, 0.83])
    """

    _parameter_constraints = {
        **_BaseWeightedVoting._parameter_constraints,
        "voting": [StrOptions({"soft", "hard"})],
        "weights": ["array-like", StrOptions({"accuracy", "logodds"}), None],
    }

    def __init__(self, estimators, *, voting="soft", weights=None, seeds=None, validation_size=0.2,
                 refit=True, random_state=None, progress=None):
        self.estimators = estimators
        self.voting = voting
        self.weights = weights
        self.seeds = seeds
        self.validation_size = validation_size
        self.refit = refit
        self.random_state = random_state
        self.progress = progress

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
        if is_dask_collection(y):
            import dask.array as da

            values = y.to_dask_array() if hasattr(y, "to_dask_array") else y
            self.classes_ = np.asarray(da.unique(values).compute())
        else:
            check_array(y, ensure_2d=False, dtype=None, input_name="y", estimator=self)  # NaN, inf
            check_classification_targets(y)
            self.classes_ = np.unique(np.asarray(y))
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only one class ({self.classes_.tolist()}); a classifier needs at least 2 classes.")
        return X, y

    def _check_can_hold_out(self, y):
        if is_dask_collection(y):
            return
        _, counts = np.unique(np.asarray(y), return_counts=True)
        if counts.min() < 2:
            raise ValueError(
                f"weights={self.weights!r} needs a stratified validation split, but a class of y has only "
                f"{counts.min()} row; use explicit weights or more data.")

    def _n_outputs_for_weights(self):
        return len(self.classes_)

    def _check_members(self, members):
        if self.voting == "soft":
            lacking = [name for name, est in members if not hasattr(est, "predict_proba")]
            if lacking:
                raise ValueError(
                    f"voting='soft' needs predict_proba, which members {lacking} lack; "
                    "use voting='hard' or give them probabilities (e.g. SVC(probability=True)).")

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
            raise ValueError(f"weights={weights!r} needs validation data; from_estimators takes explicit weights or None.")
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
        if self.voting == "soft":
            probas = [align_proba(est.predict_proba(X), est.classes_, self.classes_) for est in self.estimators_]
            return soft_vote(probas, self.weights_)
        labels = [np.asarray(est.predict(X)) for est in self.estimators_]
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



class WeightedVotingRegressor(RegressorMixin, _BaseWeightedVoting):
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
        **_BaseWeightedVoting._parameter_constraints,
        "weights": ["array-like", StrOptions({"inverse_mse"}), None],
    }
    _metric = "mse"

    def __init__(self, estimators, *, weights=None, seeds=None, validation_size=0.2, refit=True,
                 random_state=None, progress=None):
        self.estimators = estimators
        self.weights = weights
        self.seeds = seeds
        self.validation_size = validation_size
        self.refit = refit
        self.random_state = random_state
        self.progress = progress

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
            raise ValueError(f"weights={weights!r} needs validation data; from_estimators takes explicit weights or None.")
        return cls._from_fitted(fitted, dict(weights=weights))

    def predict(self, X):
        """Weighted mean of the members' predictions (dask in, dask out)."""
        X = self._check_X_for_predict(X)
        return predict_with(self, X, "predict")

    def _predict_block(self, X):
        predictions = [np.asarray(est.predict(X), dtype=float) for est in self.estimators_]
        return np.average(np.vstack(predictions), axis=0, weights=self.weights_)
