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
import sys
import time
import uuid
import warnings
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import dask
import distributed
from distributed import as_completed

from daskcollab.cluster import start_cluster
from daskcollab.members import name_members, replicate_seeds
from daskcollab.placement import check_training_data, lazy_inputs, place_on_cluster
from daskcollab.results import FitResult, MemberFailure, MemberTiming
from daskcollab.tasks import fit_and_score_member, fit_member, fit_member_packed

__all__ = ["fit_parallel", "FitJob", "fit_jobs"]

ON_ERROR = ("raise", "warn", "skip")

# Seconds from start to "fitted model on the client" (compute plus the
# transfer of the fitted model) that each member took the last time it was
# fitted in this process, keyed by (member token, data shape).  Used only to
# start the longest first: a member with a big model (a forest) then ships it
# while others still compute, instead of at the very end.
_LAST_DURATION: dict[tuple, float] = {}


@dataclass
class FitJob:
    """One fit task: ``estimator`` fitted on ``rows`` of the placed data.

    With ``score_rows`` the task fits on ``rows``, scores on ``score_rows`` and
    returns only the score (``kind="score"``); with ``keep_model`` too, it
    returns the fitted model as well, which then counts as a fitted member.
    """

    name: str
    estimator: Any
    rows: Any = None
    score_rows: Any = None
    metric: str = "accuracy"
    keep_model: bool = False

    @property
    def kind(self):
        return "fit" if self.score_rows is None else "score"


def fit_parallel(
    estimators,
    X,
    y,
    *,
    client=None,
    seeds=None,
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
    jobs = [FitJob(name, est) for name, est in members]
    if not compute:
        X_lazy, y_lazy = lazy_inputs(X, y)
        return [(job.name, delayed_fit(job, X_lazy, y_lazy)) for job in jobs]
    return fit_jobs(jobs, X, y, client=client, retries=retries, on_error=on_error, progress=progress)


def fit_jobs(jobs, X, y, *, client=None, retries=0, on_error="raise", progress=None):
    """Run ``jobs`` as one wave of tasks over data placed once; return a FitResult.

    ``X`` and ``y`` must already have passed ``check_training_data``.
    """
    with _client_or_temporary(client) as active:
        return _run_wave(active, jobs, X, y, retries, on_error, progress)


def _run_wave(client, jobs, X, y, retries, on_error, progress):
    shape = tuple(getattr(X, "shape", ()))
    started = time.perf_counter()
    X_future, y_future = place_on_cluster(client, X, y)
    futures = {}
    try:
        with distributed.get_task_stream(client=client) as stream:
            for rank, job in enumerate(_longest_first(jobs, shape)):
                function, args = fit_call(job, X_future, y_future, packed=True)
                future = client.submit(
                    function, *args, key=_task_key(job), retries=retries, pure=False, priority=len(jobs) - rank
                )
                futures[future] = job
            outcomes, failures, transfer = _collect(client, futures, on_error, progress)
        wall = time.perf_counter() - started
    finally:
        _release(client, [X_future, y_future, *futures])
    timings = _timings_from_stream(stream.data, {f.key: job for f, job in futures.items()}, jobs)
    by_name = {(job.name, job.kind): job for job in jobs}
    for timing in timings:
        key = timing.name, timing.kind
        _LAST_DURATION[_duration_key(by_name[key], shape)] = timing.seconds + transfer.get(key, 0.0)
    done = [(job, outcomes[job.name, job.kind]) for job in jobs if (job.name, job.kind) in outcomes]
    fitted = [
        (job.name, out if job.kind == "fit" else out[0]) for job, out in done if job.kind == "fit" or job.keep_model
    ]
    scores = {job.name: out[1] if job.keep_model else out for job, out in done if job.kind == "score"}
    return FitResult(
        estimators=fitted,
        scores=scores,
        timings=timings,
        failures=failures,
        wall_time=wall,
        n_workers=len(client.scheduler_info(n_workers=-1)["workers"]),
    )


def fit_call(job, X, y, packed=False):
    """The one place that says what a fit task runs: ``(function, args)`` for ``job``.

    ``packed`` fits return the model pickled (see ``fit_member_packed``).
    """
    if job.kind == "fit":
        return (fit_member_packed if packed else fit_member), (job.estimator, X, y, job.rows)
    return fit_and_score_member, (job.estimator, X, y, job.rows, job.score_rows, job.metric, job.keep_model)


def delayed_fit(job, X, y):
    """``job`` as a ``dask.delayed`` task, for graphs computed later."""
    function, args = fit_call(job, X, y)
    return dask.delayed(function, pure=False)(*args, dask_key_name=_task_key(job))


def _collect(client, futures, on_error, progress):
    """Wait for all futures, handling failures as ``on_error`` says.

    Returns the results and failures, and the seconds each result took to
    arrive once its task had finished.

    Each result is gathered as soon as its task finishes, so fitted models
    travel back while the other members are still fitting and only the last
    transfer is on the critical path. Gathering here, one at a time, rather
    than with ``as_completed(with_results=True)`` means an error while
    receiving a model is raised to the caller instead of stalling the loop.
    """
    outcomes, failures, transfer, done = {}, [], {}, 0
    notify = _progress_reporter(progress, futures)
    for future in as_completed(list(futures)):
        job = futures[future]
        done += 1
        if future.status == "error":
            error = future.exception()
            if on_error == "raise":
                client.cancel(list(futures))
                raise _name_member_in(error, job.name)
            failures.append(MemberFailure(job.name, type(error).__name__, str(error)))
            if on_error == "warn":
                warnings.warn(
                    f"fitting member {job.name!r} failed and was left out: {error!r}", UserWarning, stacklevel=4
                )
        else:
            received = time.perf_counter()
            value = future.result()
            if job.kind == "fit":
                value = pickle.loads(value)
            elif job.keep_model:
                value = (pickle.loads(value[0]), value[1])
            outcomes[job.name, job.kind] = value
            transfer[job.name, job.kind] = time.perf_counter() - received
        notify(job.name, done, len(futures))
    return outcomes, failures, transfer


def _release(client, futures):
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
    if progress:

        def report(name, done, total):
            print(f"[daskcollab] fitted {done}/{total}: {name}", file=sys.stderr, flush=True)

        return report
    return lambda *args: None


def _timings_from_stream(records, jobs_by_key, jobs):
    timings = []
    for record in records:
        job = jobs_by_key.get(record.get("key"))
        if job is None or record.get("status", "OK") != "OK":
            continue
        for startstop in record.get("startstops", ()):
            if startstop.get("action") == "compute":
                start, stop = startstop["start"], startstop["stop"]
                timings.append(MemberTiming(job.name, job.kind, record.get("worker"), start, stop, stop - start))
    order = {(job.name, job.kind): i for i, job in enumerate(jobs)}
    return sorted(timings, key=lambda t: order[t.name, t.kind])


def _longest_first(jobs, shape):
    """Order jobs by their last measured duration, longest first (stable)."""
    return sorted(jobs, key=lambda job: -_LAST_DURATION.get(_duration_key(job, shape), 0.0))


def _duration_key(job, shape):
    return (job.kind, dask.base.tokenize(type(job.estimator).__qualname__, job.estimator.get_params(deep=False)), shape)


def _task_key(job):
    # key_split() turns "fit-rf-1-<hex>" into the dashboard group "fit-rf".
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
def _client_or_temporary(client):
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
