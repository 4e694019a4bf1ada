"""``fit_parallel``: one Dask task per member fit, data placed on the cluster once.

The public entry point. It names and checks the members, turns them into
jobs (``jobs.py``) and runs them as a wave (``waves.py``); the ensembles,
stacking and fedavg go through :func:`fit_jobs` and
:func:`client_or_temporary` too.
"""

from __future__ import annotations

import contextlib
from numbers import Integral

import distributed

from daskcollab.cluster import start_cluster
from daskcollab.jobs import EvalJob, FitJob, delayed_fit, shard_jobs
from daskcollab.members import name_members, replicate_seeds
from daskcollab.partition import resolve_shards
from daskcollab.placement import check_training_data, lazy_inputs
from daskcollab.waves import run_wave

__all__ = ["fit_parallel", "fit_jobs", "client_or_temporary", "FitJob", "EvalJob"]

ON_ERROR = ("raise", "warn", "skip")


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


def fit_jobs(jobs, X, y, *, client=None, shards=None, retries=0, on_error="raise", progress=None):
    """Run ``jobs`` as one wave of tasks over data placed once; return a FitResult.

    ``X`` and ``y`` must already have passed ``check_training_data``. With
    ``shards`` (a :class:`~daskcollab.Partition`) each shard of ``X, y`` is
    put on one worker and every job runs where its shard is.
    """
    with client_or_temporary(client) as active:
        return run_wave(active, jobs, X, y, shards, retries, on_error, progress)


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
