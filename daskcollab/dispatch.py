"""``fit_parallel``: one Dask task per member fit, data placed on the cluster once.

This module is the one place that builds fit tasks. The voting estimators
(and later the collaborative combiners) describe what they need as
:class:`FitJob` objects and run them through :func:`fit_jobs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import pickle
import platform
import sys
import time
import uuid
import warnings
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import dask
import distributed
import numpy as np
from distributed import as_completed
from sklearn.base import clone

from daskcollab.cluster import start_cluster
from daskcollab.members import name_members, replicate_seeds
from daskcollab.partition import resolve_shards
from daskcollab.placement import check_training_data, lazy_inputs, place_on_cluster, place_shards
from daskcollab.results import FitResult, MemberFailure, MemberTiming
from daskcollab.tasks import (
    evaluate_member,
    fit_and_score_member,
    fit_batch,
    fit_member,
    fit_member_packed,
    out_of_fold_proba,
)

__all__ = ["fit_parallel", "FitJob", "EvalJob", "fit_jobs"]

ON_ERROR = ("raise", "warn", "skip")

# Seconds from start to "fitted model on the client" (compute plus the
# transfer of the fitted model) that each member took the last time it was
# fitted in this process, keyed by (member token, data shape).  Used only to
# start the longest first: a member with a big model (a forest) then ships it
# while others still compute, instead of at the very end.
_LAST_DURATION: dict[tuple, float] = {}

# Fits shorter than this are batched when there are more than
# TASKS_PER_THREAD fits per worker thread (see plan_tasks).
BATCH_BELOW_S = 0.05
TASKS_PER_THREAD = 4


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


def fit_parallel(
    estimators,
    X,
    y,
    *,
    client=None,
    seeds=None,
    shards=None,
    retries=0,
    on_error="raise",
    progress=None,
    compute=True,
):
    """Fit each estimator as its own Dask task, in parallel.

    Parameters
    ----------
    estimators : list of estimators or (name, estimator) pairs
        The members. They are cloned, never modified. Unnamed members are named
        after their class in lower case.
    X : array-like, DataFrame, dask array or dask DataFrame of shape (n_samples, n_features)
        Training data. It is put on the cluster once per call (dask inputs are
        computed there, never gathered on the client) and released when the
        call returns. DataFrame column names reach the members.
    y : array-like, Series, dask array or dask Series of shape (n_samples,)
        Targets.
    client : distributed.Client, default=None
        ``None`` uses the current default client, or, if there is none, starts
        a temporary local cluster (see :func:`start_cluster`) for this call.
    seeds : int or list of int, default=None
        ``k`` replicates each member ``k`` times with ``random_state`` 0..k-1,
        named ``name-seed``; a list gives the seeds explicitly.
    shards : Partition or int, default=None
        Train where the data lives: each member is fitted on each shard of a
        :func:`~daskcollab.partition` of ``X, y`` (an int ``n``: ``n`` IID
        shards), named ``name-shard<k>``. Each shard is put on one worker and
        the fits that read it run there; only the fitted models travel.
        ``FitResult.shard_workers`` says which worker held which shard.
    retries : int, default=0
        How many times Dask may retry a failed fit (for workers that die).
    on_error : {"raise", "warn", "skip"}, default="raise"
        What a failing member fit does: raise its error (naming the member)
        and cancel the rest; or record it in ``FitResult.failures`` and carry
        on, with (``"warn"``) or without (``"skip"``) a warning.
    progress : bool or callable, default=None
        ``True`` shows progress: a progress bar in Jupyter, one line per
        finished member elsewhere. A callable is called as
        ``progress(name, n_done, n_total)`` after each member. ``None`` and
        ``False`` show nothing.
    compute : bool, default=True
        ``False`` sends nothing and returns ``[(name, Delayed), ...]``, one
        ``dask.delayed`` fit per member, to compose, visualize, or compute
        later (``dask.compute(lazy)`` gives ``[(name, fitted), ...]``).

    Returns
    -------
    result : FitResult
        Fitted members (``.estimators``), per-member timings from the
        scheduler's task stream (``.timings``), failures and wall time.

    Notes
    -----
    Each fit is a task keyed ``fit-<member>-<random suffix>``, so the
    dashboard's task stream shows one bar per member and seeded replicas never
    share a key. Members whose fits took longest the last time they were seen
    in this process start first, which keeps the last worker from finishing
    alone.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from daskcollab import fit_parallel, start_cluster
    >>> X, y = load_iris(return_X_y=True)
    >>> with start_cluster(n_workers=2, processes=False) as client:
    ...     result = fit_parallel([("tree", DecisionTreeClassifier())], X, y, seeds=3)
    >>> [name for name, _ in result.estimators]
    ['tree-0', 'tree-1', 'tree-2']
    """
    members = replicate_seeds(name_members(estimators), seeds)
    X, y, _ = check_training_data(X, y)
    _check_options(retries, on_error, progress, compute)
    shards = resolve_shards(shards, X, y)
    if shards is None:
        jobs = [FitJob(name, est) for name, est in members]
    else:
        if not compute:
            raise ValueError("compute=False builds one graph over all of X; it does not take shards.")
        jobs = shard_jobs(members, shards.n_shards)
    if not compute:
        X_lazy, y_lazy = lazy_inputs(X, y)
        return [(job.name, delayed_fit(job, X_lazy, y_lazy)) for job in jobs]
    return fit_jobs(jobs, X, y, client=client, shards=shards, retries=retries, on_error=on_error, progress=progress)


def shard_jobs(members, n_shards):
    """One fit of each member on each shard, named ``<member>-shard<k>``."""
    return [FitJob(f"{name}-shard{k}", clone(est), shard=k) for name, est in members for k in range(n_shards)]


def fit_jobs(jobs, X, y, *, client=None, shards=None, retries=0, on_error="raise", progress=None):
    """Run ``jobs`` as one wave of tasks over data placed once; return a FitResult.

    ``X`` and ``y`` must already have passed ``check_training_data``. With
    ``shards`` (a :class:`~daskcollab.Partition`) each shard of ``X, y`` is
    put on one worker and every job runs where its shard is.
    """
    with client_or_temporary(client) as active:
        return _run_wave(active, jobs, X, y, shards, retries, on_error, progress)


def _run_wave(client, jobs, X, y, shards, retries, on_error, progress):
    shape = tuple(getattr(X, "shape", ()))
    started = time.perf_counter()
    if shards is None:
        placed = [(*place_on_cluster(client, X, y), None)]
    else:
        placed = place_shards(client, shards.split(X, y), shards.sizes)
    futures, models = {}, {}
    fits = [job for job in jobs if isinstance(job, FitJob)]
    evaluations = [job for job in jobs if isinstance(job, EvalJob)]
    # Evaluations need each model as a future of its own, so only waves
    # without them batch their fits.
    tasks = plan_tasks(fits, shape, 0 if evaluations else _total_threads(client)) + [[job] for job in evaluations]
    try:
        with distributed.get_task_stream(client=client) as stream:
            for rank, batch in enumerate(tasks):
                job = batch[0]
                X_future, y_future, worker = placed[job.shard or 0]
                pinned = dict(workers=[worker], allow_other_workers=False) if worker else {}
                if len(batch) == 1:
                    model = models.get(getattr(job, "model_of", None))
                    function, args = fit_call(job, X_future, y_future, packed=True, model=model)
                    task_retries = retries
                else:
                    calls = [fit_call(member, X_future, y_future) for member in batch]
                    function, args, task_retries = fit_batch, (calls, retries + 1), 0
                future = client.submit(
                    function,
                    *args,
                    key=_task_key(job, len(batch)),
                    retries=task_retries,
                    pure=False,
                    priority=len(tasks) - rank,
                    **pinned,
                )
                futures[future] = batch
                if len(batch) == 1 and isinstance(job, FitJob) and job.kind == "fit":
                    models[job.name] = future
            outcomes, failures, transfer, batch_times = _collect(client, futures, on_error, progress)
        wall = time.perf_counter() - started
        data_keys = [f.key for X_f, y_f, _ in placed for f in (X_f, y_f)]
        data_bytes = client.run_on_scheduler(_bytes_held, keys=data_keys)
    finally:
        release(client, [f for X_f, y_f, _ in placed for f in (X_f, y_f)] + list(futures))
    timings = _timings_from_stream(stream.data, {f.key: batch for f, batch in futures.items()}, jobs, batch_times)
    by_name = {(job.name, job.kind): job for job in fits}
    for timing in timings:
        key = timing.name, timing.kind
        if key in by_name:
            _LAST_DURATION[_duration_key(by_name[key], shape)] = timing.seconds + transfer.get(key, 0.0)
    done = [(job, outcomes[job.name, job.kind]) for job in jobs if (job.name, job.kind) in outcomes]
    fit_done = [(job, out) for job, out in done if isinstance(job, FitJob)]
    fitted = [
        (job.name, out if job.kind == "fit" else out[0]) for job, out in fit_done if job.kind == "fit" or job.keep_model
    ]
    return FitResult(
        estimators=fitted,
        scores={job.name: out[1] if job.keep_model else out for job, out in fit_done if job.kind == "score"},
        evaluations={(job.name, job.output, job.shard): out for job, out in done if isinstance(job, EvalJob)},
        timings=timings,
        failures=failures,
        wall_time=wall,
        n_workers=len(client.scheduler_info(n_workers=-1)["workers"]),
        member_shards={job.name: job.shard for job in fits if job.shard is not None},
        shard_workers=[worker for _, _, worker in placed] if shards is not None else [],
        metadata=run_metadata(client, fits, shards),
        n_tasks=len(tasks),
        data_bytes=data_bytes,
    )


def _bytes_held(keys, dask_scheduler=None):
    """Bytes of ``keys`` summed over every worker holding a copy (scheduler side)."""
    tasks = (dask_scheduler.tasks.get(key) for key in keys)
    return int(sum(ts.nbytes * len(ts.who_has) for ts in tasks if ts is not None and ts.nbytes > 0))


def plan_tasks(fits, shape, n_threads):
    """Group fit jobs into tasks: ``[[job], [job, job, ...], ...]``, longest first.

    Dask spends roughly a millisecond on each task, so a fit of a few
    milliseconds (a depth-3 tree on iris) would cost more to schedule than to
    run. With more jobs than ``TASKS_PER_THREAD`` per worker thread, the
    jobs whose last fit here took under ``BATCH_BELOW_S`` seconds (or that
    were never timed) are dealt round-robin, longest first, into batches of
    about equal work, ``TASKS_PER_THREAD`` per thread, and a batch never
    mixes shards. Longer fits keep a task of their own. ``n_threads=0``
    turns batching off.
    """
    ordered = _longest_first(fits, shape)
    if not n_threads or len(ordered) <= TASKS_PER_THREAD * n_threads:
        return [[job] for job in ordered]
    durations = [_last_duration(job, shape) for job in ordered]
    alone = [[job] for job, seconds in zip(ordered, durations) if seconds >= BATCH_BELOW_S]
    small = [job for job, seconds in zip(ordered, durations) if seconds < BATCH_BELOW_S]
    by_shard = {}
    for job in small:
        by_shard.setdefault(job.shard, []).append(job)
    batches = []
    for group in by_shard.values():
        n_batches = max(1, min(len(group), round(TASKS_PER_THREAD * n_threads * len(group) / len(small))))
        batches += [group[i::n_batches] for i in range(n_batches)]
    return alone + batches


def _total_threads(client):
    return sum(w.get("nthreads", 1) for w in client.scheduler_info(n_workers=-1)["workers"].values())


def run_metadata(client, jobs, shards):
    """What it takes to reproduce a run: seeds, library versions, workers, partition hash."""
    import sklearn

    import daskcollab

    return dict(
        seeds={job.name: vars(job.estimator).get("random_state") for job in jobs},
        versions=dict(
            python=platform.python_version(),
            daskcollab=daskcollab.__version__,
            scikit_learn=sklearn.__version__,
            numpy=np.__version__,
            dask=dask.__version__,
            distributed=distributed.__version__,
        ),
        n_workers=len(client.scheduler_info(n_workers=-1)["workers"]),
        partition=None if shards is None else dict(hash=shards.hash, scheme=shards.scheme, **shards.params),
    )


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
    return dask.delayed(function, pure=False)(*args, dask_key_name=_task_key(job))


def _collect(client, futures, on_error, progress):
    """Wait for all tasks, handling failures as ``on_error`` says.

    Returns the results and failures by ``(member, kind)``, the seconds each
    result took to arrive once its task had finished, and the worker-clock
    ``(start, stop)`` of each member fitted inside a batch.

    Each result is gathered as soon as its task finishes, so fitted models
    travel back while the other members are still fitting and only the last
    transfer is on the critical path. Gathering here, one at a time, rather
    than with ``as_completed(with_results=True)`` means an error while
    receiving a model is raised to the caller instead of stalling the loop.
    """
    outcomes, failures, transfer, batch_times = {}, [], {}, {}
    total, done = sum(len(batch) for batch in futures.values()), 0
    notify = _progress_reporter(progress, futures)

    def fail(job, error):
        if on_error == "raise":
            client.cancel(list(futures))
            raise _name_member_in(error, job.name)
        if any(failure.name == job.name for failure in failures):
            return  # an evaluation of a member whose fit already failed
        failures.append(MemberFailure(job.name, type(error).__name__, str(error)))
        if on_error == "warn":
            warnings.warn(f"fitting member {job.name!r} failed and was left out: {error!r}", UserWarning, stacklevel=5)

    for future in as_completed(list(futures)):
        batch = futures[future]
        if future.status == "error":
            for job in batch:
                fail(job, future.exception())
                done += 1
                notify(job.name, done, total)
            continue
        received = time.perf_counter()
        value = future.result()
        # A batch comes back as one pickled list of plain results.
        results = pickle.loads(value) if len(batch) > 1 else [(value, None, None, None)]
        for job, (result, error, start, stop) in zip(batch, results):
            done += 1
            if error is not None:
                fail(job, error)
            else:
                outcomes[job.name, job.kind] = _unpacked(job, result) if len(batch) == 1 else result
                transfer[job.name, job.kind] = time.perf_counter() - received
                if start is not None:
                    batch_times[job.name, job.kind] = (start, stop)
            notify(job.name, done, total)
    return outcomes, failures, transfer, batch_times


def _unpacked(job, value):
    if isinstance(job, FitJob) and job.kind == "fit":
        return pickle.loads(value)
    if isinstance(job, FitJob) and job.keep_model:
        return pickle.loads(value[0]), value[1]
    return value


def release(client, futures):
    """Release ``futures`` on the scheduler, and return once they are gone.

    ``Client.cancel`` only queues a message; waiting for the scheduler to
    drop the keys makes "nothing is left behind when the call returns" true.
    """
    keys = [f.key for f in futures]
    client.cancel(futures)
    client.run_on_scheduler(_wait_until_forgotten, keys=keys)


async def _wait_until_forgotten(keys, timeout=10.0, dask_scheduler=None):
    deadline = time.monotonic() + timeout
    while any(key in dask_scheduler.tasks for key in keys) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


def _name_member_in(error, name):
    """The member's error, with its name in the message where possible."""
    try:
        named = type(error)(f"fitting member {name!r} failed: {error}")
    except Exception:
        error.add_note(f"raised while fitting member {name!r}")
        return error
    named.__cause__ = error
    return named


def _progress_reporter(progress, futures):
    if callable(progress):
        return progress
    if progress and distributed.utils.is_kernel() and importlib.util.find_spec("ipywidgets"):
        distributed.progress(list(futures), notebook=True)  # a live widget in Jupyter
        return lambda *args: None
    if progress and sys.stderr.isatty():
        return _text_bar
    if progress:  # a log file or a captured stream: one line per member, no carriage returns

        def report(name, done, total):
            print(f"[daskcollab] fitted {done}/{total}: {name}", file=sys.stderr, flush=True)

        return report
    return lambda *args: None


def _text_bar(name, done, total, width=30):
    """One terminal line, redrawn in place as members finish."""
    filled = round(width * done / max(total, 1))
    end = "\n" if done == total else ""
    line = f"\r[daskcollab] [{'#' * filled}{'-' * (width - filled)}] fitted {done}/{total}: {name}"
    print(f"{line:<100}", end=end, file=sys.stderr, flush=True)


def _timings_from_stream(records, batches_by_key, jobs, batch_times):
    timings = []
    for record in records:
        batch = batches_by_key.get(record.get("key"))
        if batch is None or record.get("status", "OK") != "OK":
            continue
        for startstop in record.get("startstops", ()):
            if startstop.get("action") != "compute":
                continue
            if len(batch) == 1:
                job, start, stop = batch[0], startstop["start"], startstop["stop"]
                timings.append(MemberTiming(job.name, job.kind, record.get("worker"), start, stop, stop - start))
                continue
            for job in batch:  # a batch: each member's own times, measured inside the task
                if (job.name, job.kind) in batch_times:
                    start, stop = batch_times[job.name, job.kind]
                    timings.append(MemberTiming(job.name, job.kind, record.get("worker"), start, stop, stop - start))
    order = {(job.name, job.kind): i for i, job in enumerate(jobs)}
    return sorted(timings, key=lambda t: order[t.name, t.kind])


def _longest_first(jobs, shape):
    """Order jobs by their last measured duration, longest first (stable)."""
    return sorted(jobs, key=lambda job: -_last_duration(job, shape))


def _last_duration(job, shape):
    return _LAST_DURATION.get(_duration_key(job, shape), 0.0)


def _duration_key(job, shape):
    """What a fit's duration depends on: the kind, the estimator's class and parameters, the data's shape.

    ``random_state`` is left out, so seeded replicas share one entry. The
    parameters are read from the estimator's attributes (scikit-learn stores
    each ``__init__`` argument under its own name), because ``get_params``
    inspects the signature on every call: 500 tiny members spent more time
    there than fitting.
    """
    estimator = job.estimator
    params = sorted(
        (k, repr(v))
        for k, v in vars(estimator).items()
        if not (k.startswith("_") or k.endswith("_") or k == "random_state")
    )
    return (job.kind, type(estimator).__qualname__, hash(tuple(params)), shape)


def _task_key(job, n_members=1):
    # key_split() turns "fit-rf-1-<hex>" into the dashboard group "fit-rf",
    # "accuracy-rf-shard0-on-shard1-<hex>" into "accuracy-rf", and
    # "fit-batch-tree-7-and-62-more-<hex>" into "fit-batch-tree".
    if n_members > 1:
        return f"{job.kind}-batch-{job.name}-and-{n_members - 1}-more-{uuid.uuid4().hex[:12]}"
    if isinstance(job, EvalJob):
        return f"{job.output.replace('_', '-')}-{job.name}-on-shard{job.shard}-{uuid.uuid4().hex[:12]}"
    return f"{job.kind}-{job.name}-{uuid.uuid4().hex[:12]}"


def _check_options(retries, on_error, progress, compute):
    if isinstance(retries, bool) or not isinstance(retries, Integral) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer, got {retries!r}.")
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}.")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"progress must be None, True, False or a callable, got {progress!r}.")
    if not isinstance(compute, bool):
        raise TypeError(f"compute must be True or False, got {compute!r}.")


@contextlib.contextmanager
def client_or_temporary(client):
    """The given client, the current default client, or a temporary local one."""
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise TypeError(f"client must be a distributed.Client or None, got {client!r}.")
        yield client
        return
    try:
        current = distributed.default_client()
    except ValueError:
        current = None
    if current is not None:
        yield current
        return
    with start_cluster() as temporary:
        yield temporary
