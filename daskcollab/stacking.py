"""Stacking: a meta-learner that learns how far to trust each member, class by class.

The meta-learner is trained on probabilities that no member produced for a
row it was trained on: out-of-fold probabilities on a member's own shard and
cross-evaluated probabilities on the other shards, each computed on the
shard's worker. Only in-sample predictions would be cheaper, and they teach
the meta-learner to trust members exactly where they overfit; they are used
only when asked for, with a warning.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import dask
import numpy as np
from dask.base import is_dask_collection
from sklearn.base import ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from daskcollab.combine import align_proba
from daskcollab.committee import Committee, check_classes
from daskcollab.dispatch import fit_jobs
from daskcollab.jobs import EvalJob, FitJob, shard_jobs
from daskcollab.members import name_members, replicate_seeds
from daskcollab.partition import Partition, resolve_shards
from daskcollab.placement import check_training_data
from daskcollab.prediction import predict_with

__all__ = ["StackingClassifier"]


class StackingClassifier(ClassifierMixin, Committee):
    """Members fitted in parallel (per shard), combined by a meta-learner on honest probabilities.

    Parameters
    ----------
    estimators : list of estimators or (name, estimator) pairs
        The members; each needs ``predict_proba``.
    final_estimator : classifier, default=None
        The meta-learner, trained on the members' probabilities side by side
        (``n_members * n_classes`` columns). ``None`` means
        ``LogisticRegression(max_iter=1000)``.
    shards : int, Partition or None, default=None
        As in :class:`WeightedVotingClassifier`: fit each member on each shard,
        on the shard's worker.
    cv : int or "in_sample", default=3
        Folds of the out-of-fold probabilities each member gives for its own
        training rows (its own shard), computed on the shard's worker. Rows of
        the other shards get the member's ordinary probabilities: it never saw
        them. ``"in_sample"`` uses the members' predictions on their own
        training rows instead, and warns: the meta-learner then learns to
        trust overfitted members.
    seeds : int, list of int or None, default=None
        Replicate each member over these seeds.
    random_state : int, RandomState or None, default=None
        Seed of the folds.
    progress : bool, callable or None, default=None
        Passed to ``fit_parallel``.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.
    named_estimators_ : Bunch
    final_estimator_ : classifier
        The fitted meta-learner.
    classes_ : ndarray
        The global class list; every member's probabilities are aligned to it.
    n_features_in_ : int
    shards_ : Partition or None
    fit_result_ : FitResult

    Notes
    -----
    The meta-learner is fitted in this process on the members'
    probabilities and the training labels. For dask data the labels are
    computed and come to the client (the features never do).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from daskcollab import StackingClassifier, start_cluster
    >>> X, y = load_iris(return_X_y=True)
    >>> with start_cluster(n_workers=2, processes=False):
    ...     model = StackingClassifier([GaussianNB(), DecisionTreeClassifier(random_state=0)],
    ...                                shards=2, random_state=0).fit(X, y)
    >>> sorted(model.named_estimators_)
    ['decisiontreeclassifier-shard0', 'decisiontreeclassifier-shard1', 'gaussiannb-shard0', 'gaussiannb-shard1']
    >>> model.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        "estimators": ["array-like", dict],
        "final_estimator": [HasMethods(["fit", "predict_proba"]), None],
        "shards": [Interval(Integral, 1, None, closed="left"), Partition, None],
        "cv": [Interval(Integral, 2, None, closed="left"), StrOptions({"in_sample"})],
        "seeds": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "random_state": ["random_state"],
        "progress": ["boolean", callable, None],
    }

    def __init__(
        self, estimators, *, final_estimator=None, shards=None, cv=3, seeds=None, random_state=None, progress=None
    ):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.shards = shards
        self.cv = cv
        self.seeds = seeds
        self.random_state = random_state
        self.progress = progress

    def fit(self, X, y):
        """Fit the members in parallel, compute their honest probabilities, fit the meta-learner.

        Returns
        -------
        self : StackingClassifier
        """
        self._validate_params()
        members = replicate_seeds(name_members(self.estimators), self.seeds)
        if y is None:
            raise ValueError("StackingClassifier requires y to be passed, but the target y is None.")
        X, y, _ = check_training_data(X, y)
        X, y = self._check_X_y_for_fit(X, y)
        self.classes_ = check_classes(self, y)
        lacking = [name for name, est in members if not hasattr(est, "predict_proba")]
        if lacking:
            raise ValueError(f"stacking needs predict_proba, which members {lacking} lack.")
        shards = resolve_shards(self.shards, X, y)
        fits = [FitJob(name, est, shard=0) for name, est in members]
        if shards is not None:
            fits = shard_jobs(members, shards.n_shards)
        if self.cv == "in_sample":
            warnings.warn(
                "cv='in_sample' trains the meta-learner on the members' predictions for their own training rows; "
                "it learns to trust overfitted members. Use an integer cv for out-of-fold predictions.",
                UserWarning,
                stacklevel=2,
            )
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        n_shards = 1 if shards is None else shards.n_shards
        evaluations = [self._probability_job(job, k, seed) for job in fits for k in range(n_shards)]
        result = fit_jobs(fits + evaluations, X, y, shards=shards, progress=self.progress)
        result.metadata["random_state"] = self.random_state  # seeds the validation split / folds
        self.fit_result_ = result
        self.estimators_ = [est for _, est in result.estimators]
        self.named_estimators_ = Bunch(**dict(result.estimators))
        self.shards_ = shards
        # Each member's probabilities on shard k, whichever kind they are
        # (out-of-fold on its own shard, plain on the others).
        proba = {(name, k): value for (name, _, k), value in result.evaluations.items()}
        features = np.vstack([np.hstack([proba[job.name, k] for job in fits]) for k in range(n_shards)])
        labels = np.concatenate([np.asarray(part) for part in _labels_by_shard(y, shards)])
        self.final_estimator_ = clone(self.final_estimator or LogisticRegression(max_iter=1000))
        self.final_estimator_.fit(features, labels)
        return self

    def _probability_job(self, job, k, seed):
        if k != job.shard or self.cv == "in_sample":
            return EvalJob(job.name, k, "proba", model_of=job.name, classes=self.classes_)
        return EvalJob(
            job.name, k, "oof_proba", estimator=job.estimator, classes=self.classes_, folds=self.cv, random_state=seed
        )

    def _features(self, X):
        return np.hstack([align_proba(est.predict_proba(X), est.classes_, self.classes_) for est in self.estimators_])

    def _proba_block(self, X):
        return align_proba(
            self.final_estimator_.predict_proba(self._features(X)), self.final_estimator_.classes_, self.classes_
        )

    def _predict_block(self, X):
        return self.classes_[np.argmax(self._proba_block(X), axis=1)]

    def predict(self, X):
        """The meta-learner's labels for the members' probabilities (dask in, dask out)."""
        X = self._check_X_for_predict(X)
        return predict_with(self, X, "predict")

    def predict_proba(self, X):
        """The meta-learner's probabilities, one column per class of ``classes_``."""
        X = self._check_X_for_predict(X)
        return predict_with(self, X, "predict_proba")


def _labels_by_shard(y, shards):
    """The training labels of each shard, in the order its probabilities are stacked."""
    parts = [y] if shards is None else shards.split_labels(y)
    return dask.compute(*parts) if any(is_dask_collection(p) for p in parts) else parts
