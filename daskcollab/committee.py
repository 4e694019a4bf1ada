"""What every weighted voting ensemble shares: members, parameters, one parallel
wave of fits, learned weights, and input checks.

The voting rule itself (labels, probabilities, means) lives in ``voting.py``.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from dask.base import is_dask_collection
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from daskcollab.combine import weights_from_scores
from daskcollab.dispatch import fit_jobs
from daskcollab.jobs import EvalJob, FitJob, shard_jobs
from daskcollab.members import name_members, replicate_seeds
from daskcollab.partition import Partition, resolve_shards
from daskcollab.placement import check_training_data
from daskcollab.tasks import Holdout

__all__ = ["Committee", "WeightedCommittee", "check_classes"]


def check_classes(estimator, y):
    """The sorted classes of ``y``, after the checks scikit-learn makes of classification targets.

    A dask ``y`` is checked on the cluster: only its unique values come back.
    Shared by the voting and stacking classifiers.
    """
    if is_dask_collection(y):
        import dask.array as da

        values = y.to_dask_array() if hasattr(y, "to_dask_array") else y
        classes = np.asarray(da.unique(values).compute())
    else:
        check_array(y, ensure_2d=False, dtype=None, input_name="y", estimator=estimator)  # NaN, inf
        check_classification_targets(y)
        classes = np.unique(np.asarray(y))
    if len(classes) < 2:
        raise ValueError(f"y has only one class ({classes.tolist()}); a classifier needs at least 2 classes.")
    return classes


class Committee(BaseEstimator):
    """Members given as a list, their parameters, and input checks: what every ensemble here shares."""

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
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}: "
                    f"no member named {name!r}; members are {names}."
                )
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
                f"{self.n_features_in_} features as input."
            )
        return X


class WeightedCommittee(Committee):
    """Shared fit logic: members, weights, one parallel wave of fits."""

    _parameter_constraints = {
        "estimators": ["array-like", dict],
        "weights": ["array-like", None],  # strings are added by each subclass
        "seeds": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "shards": [Interval(Integral, 1, None, closed="left"), Partition, None],
        "validation_size": [Interval(Real, 0, 1, closed="neither")],
        "refit": ["boolean"],
        "random_state": ["random_state"],
        "progress": ["boolean", callable, None],
        "on_error": [StrOptions({"raise", "warn", "skip"})],
    }
    _learned_weights: tuple = ()
    _metric = "accuracy"

    # -- fitting ------------------------------------------------------------
    def _fit(self, X, y):
        self._validate_params()
        members = replicate_seeds(name_members(self.estimators), self.seeds)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X, y, n_rows = check_training_data(X, y)
        X, y = self._check_X_y_for_fit(X, y)
        self._check_members(members)
        shards = resolve_shards(self.shards, X, y)
        fits = [FitJob(name, est) for name, est in members] if shards is None else shard_jobs(members, shards.n_shards)
        members = [(job.name, job.estimator) for job in fits]
        given_weights = self._check_weights(len(members))
        if self.weights == "cross_eval" and (shards is None or shards.n_shards < 2):
            raise ValueError(
                f"weights='cross_eval' scores each shard's members on the other shards' data, so it needs "
                f"shards= with at least 2 shards; got shards={self.shards!r}."
            )
        jobs = self._jobs(fits, shards, y)
        result = fit_jobs(jobs, X, y, shards=shards, progress=self.progress, on_error=self.on_error)
        result.metadata["random_state"] = self.random_state  # seeds the validation split / folds
        self.fit_result_ = result
        # A member whose fit or scoring failed (on_error="skip" or "warn") is
        # left out; the vote divides by the remaining weights' sum.
        failed = {failure.name for failure in result.failures}
        kept = [i for i, (name, _) in enumerate(members) if name not in failed and name in result.named_estimators]
        self.skipped_members_ = [name for name, _ in members if name in failed]
        if not kept:
            raise RuntimeError(f"every member failed to fit: {[(f.name, f.error, f.message) for f in result.failures]}")
        members = [members[i] for i in kept]
        fitted = result.named_estimators
        self.estimators_ = [fitted[name] for name, _ in members]
        self.named_estimators_ = Bunch(**{name: fitted[name] for name, _ in members})
        self.shards_ = shards
        self.weights_ = self._learned_weights_from(result, members, shards, n_rows, given_weights[kept])
        return self

    def _jobs(self, fits, shards, y):
        """``fits``, plus the tasks that score members when weights are learned from scores."""
        jobs = list(fits)
        if self.weights in ("accuracy", "logodds", "inverse_mse"):
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            if shards is None:
                self._check_can_hold_out(y)
            train, validation = self._holdout("train", seed), self._holdout("validation", seed)
            # refit=True: a scoring copy on the training part beside each
            # all-row member; refit=False: one task per member, fitted on the
            # training part, scored, and kept. With shards, the split is
            # drawn inside each shard, on its worker.
            scoring = [
                FitJob(
                    job.name,
                    clone(job.estimator),
                    rows=train,
                    score_rows=validation,
                    metric=self._metric,
                    keep_model=not self.refit,
                    shard=job.shard,
                )
                for job in fits
            ]
            jobs = jobs + scoring if self.refit else scoring
        if self.weights == "cross_eval":
            jobs += [
                EvalJob(job.name, k, self._metric, model_of=job.name)
                for job in fits
                for k in range(shards.n_shards)
                if k != job.shard
            ]
        return jobs

    def _learned_weights_from(self, result, members, shards, n_rows, given_weights):
        names = [name for name, _ in members]
        if self.weights == "n_samples":
            if shards is None:
                return np.ones(len(members))  # every member saw every row
            return np.array([shards.sizes[result.member_shards[name]] / shards.n_samples for name in names])
        if self.weights == "cross_eval":
            # Each member's score on every other shard, averaged with the
            # shards' sizes as weights: how well it does on data it never saw.
            matrix = np.full((len(names), shards.n_shards), np.nan)
            for (name, _, k), score in result.evaluations.items():
                if name in names:
                    matrix[names.index(name), k] = score
            self.cross_scores_ = matrix
            sizes = np.where(np.isnan(matrix), 0.0, shards.sizes)
            self.member_scores_ = np.nansum(matrix * sizes, axis=1) / sizes.sum(axis=1)
            method = "accuracy" if self._metric == "accuracy" else "inverse_mse"
            return self._nonzero(weights_from_scores(self.member_scores_, method, self._n_outputs_for_weights(), 1))
        if not isinstance(self.weights, str):
            return given_weights
        self.member_scores_ = np.array([result.scores[name] for name in names])
        if shards is None:
            n_validation = self._n_validation(n_rows)
        else:  # each member was validated on its own shard's held-out rows
            n_validation = np.array([self._n_validation(shards.sizes[result.member_shards[n]]) for n in names])
        weights = weights_from_scores(self.member_scores_, self.weights, self._n_outputs_for_weights(), n_validation)
        return self._nonzero(weights)

    def _nonzero(self, weights):
        if np.any(weights > 0):
            return weights
        warnings.warn(
            f"every member scored no better than chance on the validation data, so weights={self.weights!r} "
            "gave all-zero weights; using equal weights instead.",
            UserWarning,
            stacklevel=4,
        )
        return np.ones(len(weights))

    def _holdout(self, part, seed):
        return Holdout(part, self.validation_size, seed, stratify=isinstance(self, ClassifierMixin))

    def _n_validation(self, n_rows):
        return int(np.ceil(self.validation_size * n_rows)) if n_rows else 1

    def _check_can_hold_out(self, y):
        return None

    def _n_outputs_for_weights(self):
        return 2

    def _check_weights(self, n_members):
        if self.weights is None or isinstance(self.weights, str):
            return np.ones(n_members)
        weights = np.asarray(self.weights, dtype=float)
        n_given = len(name_members(self.estimators))
        if weights.ndim != 1 or len(weights) not in (n_members, n_given):
            expected = (
                f"{n_members}"
                if n_members == n_given
                else f"{n_given} (one per member) or {n_members} (one per seeded replica)"
            )
            raise ValueError(
                f"weights must have {expected} values, got {len(np.atleast_1d(weights))}: {self.weights!r}."
            )
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
