"""What a task does: fit jobs, evaluation jobs, and the one place that turns a job into a call.

``fit_parallel``, the ensembles, stacking and fedavg describe their work as
:class:`FitJob` and :class:`EvalJob` objects; ``waves.run_wave`` submits
them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import dask
from sklearn.base import clone

from daskcollab.tasks import (
    evaluate_member,
    fit_and_score_member,
    fit_member,
    fit_member_packed,
    out_of_fold_proba,
)

__all__ = ["FitJob", "EvalJob", "fit_call", "delayed_fit", "shard_jobs", "task_key"]


@dataclass
class FitJob:
    """One fit task: ``estimator`` fitted on ``rows`` of the placed data.

    With ``score_rows`` the task fits on ``rows``, scores on ``score_rows`` and
    returns only the score (``kind="score"``); with ``keep_model`` too, it
    returns the fitted model as well, which then counts as a fitted member.
    ``shard`` says which shard's data it reads, on that shard's worker.
    """

    name: str
    estimator: Any
    rows: Any = None
    score_rows: Any = None
    metric: str = "accuracy"
    keep_model: bool = False
    shard: int | None = None

    @property
    def kind(self):
        return "fit" if self.score_rows is None else "score"


@dataclass
class EvalJob:
    """One task on shard ``shard``'s worker that measures something on that shard.

    ``output`` is ``"accuracy"``, ``"mse"`` or ``"proba"`` for the model that
    the fit job named ``model_of`` (in the same wave) fitted, which travels to
    the shard's worker while the shard stays; or ``"oof_proba"``: out-of-fold
    probabilities of ``estimator`` on the shard (see ``out_of_fold_proba``).
    Results land in ``FitResult.evaluations[(name, output, shard)]``.
    """

    name: str
    shard: int
    output: str
    model_of: str | None = None
    estimator: Any = None
    classes: Any = None
    folds: int = 3
    random_state: int = 0

    @property
    def kind(self):
        return f"{self.output.replace('_', '-')}-on-shard{self.shard}"


def shard_jobs(members, n_shards):
    """One fit of each member on each shard, named ``<member>-shard<k>``."""
    return [FitJob(f"{name}-shard{k}", clone(est), shard=k) for name, est in members for k in range(n_shards)]


def fit_call(job, X, y, packed=False, model=None):
    """The one place that says what a task runs: ``(function, args)`` for ``job``.

    ``packed`` fits return the model pickled (see ``fit_member_packed``);
    ``model`` is the packed fitted model (or its future) an ``EvalJob`` uses.
    """
    if isinstance(job, EvalJob):
        if job.output == "oof_proba":
            return out_of_fold_proba, (job.estimator, X, y, job.classes, job.folds, job.random_state)
        return evaluate_member, (model, X, y, job.output, job.classes)
    if job.kind == "fit":
        return (fit_member_packed if packed else fit_member), (job.estimator, X, y, job.rows)
    return fit_and_score_member, (job.estimator, X, y, job.rows, job.score_rows, job.metric, job.keep_model)


def delayed_fit(job, X, y):
    """``job`` as a ``dask.delayed`` task, for graphs computed later."""
    function, args = fit_call(job, X, y)
    return dask.delayed(function, pure=False)(*args, dask_key_name=task_key(job))


def task_key(job, n_members=1):
    # key_split() turns "fit-rf-1-<hex>" into the dashboard group "fit-rf",
    # "accuracy-rf-shard0-on-shard1-<hex>" into "accuracy-rf", and
    # "fit-batch-tree-7-and-62-more-<hex>" into "fit-batch-tree".
    if n_members > 1:
        return f"{job.kind}-batch-{job.name}-and-{n_members - 1}-more-{uuid.uuid4().hex[:12]}"
    if isinstance(job, EvalJob):
        return f"{job.output.replace('_', '-')}-{job.name}-on-shard{job.shard}-{uuid.uuid4().hex[:12]}"
    return f"{job.kind}-{job.name}-{uuid.uuid4().hex[:12]}"
