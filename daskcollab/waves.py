"""Run jobs as waves of Dask tasks: place the data, submit, collect, time, recover.

The one place that submits fit tasks and gathers their results. A wave puts
the training data on the cluster once (or each shard on one worker), submits
one task per job (tiny fits batched), gathers each result as soon as it is
ready, reads the timings from the scheduler's task stream, and releases
everything before it returns.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import pickle
import platform
import sys
import time
import traceback
import warnings
from concurrent.futures import CancelledError

import dask
import distributed
import numpy as np

from daskcollab.cluster import worker_threads
from daskcollab.jobs import EvalJob, FitJob, fit_call, task_key
from daskcollab.placement import place_on_cluster, place_shards
from daskcollab.results import FitResult, MemberFailure, MemberTiming
from daskcollab.tasks import fit_batch

__all__ = ["run_wave", "plan_tasks", "release", "run_metadata"]

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
# Shards of dask data in flight per worker thread (see _one_wave).
STREAM_WINDOW_PER_THREAD = 2
# While no task finishes, how often to ask the scheduler about lost workers;
# and how many times to re-run jobs lost with a worker.
POLL_S = 1.0
RECOVERY_WAVES = 3

logger = logging.getLogger("daskcollab")


def run_wave(client, jobs, X, y, shards, retries, on_error, progress):
    """Run ``jobs`` as one wave; run the jobs lost with a worker again, on the workers that are left.

    A worker that dies takes its share of the data with it: a shard pinned to
    it, or the only copy of scattered ``X``. Dask cannot recompute scattered
    data, so the tasks that needed it are cancelled, or wait for a worker
    that will never come back. Those jobs are lost, not failed: they run
    again in a new wave that places the data afresh (shards onto the
    surviving workers), up to ``RECOVERY_WAVES`` times.
    """
    result, lost = _one_wave(client, jobs, X, y, shards, retries, on_error, progress)
    for _ in range(RECOVERY_WAVES):
        if not lost:
            return result
        names = {job.name for job in lost}
        _wait_for_a_worker(client, names)
        again = [job for job in jobs if job.name in names]  # a lost evaluation needs its member's fit too
        logger.warning("%d tasks were lost with a worker; running them again: %s", len(lost), sorted(names)[:10])
        retry, lost = _one_wave(client, again, X, y, shards, retries, on_error, progress)
        result = _merged(result, retry, jobs)
    if lost:
        raise RuntimeError(
            f"members {sorted({job.name for job in lost})} were lost with a worker {RECOVERY_WAVES + 1} times; "
            "the cluster is losing workers faster than it can fit."
        )
    return result


def _wait_for_a_worker(client, unfinished):
    """Return once the cluster has a worker (a nanny restarts a dead one in seconds); raise after the timeout."""
    timeout = _no_workers_timeout()
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise _all_workers_gone(client, unfinished, timeout) from None


def _all_workers_gone(client, unfinished, timeout):
    names = sorted(unfinished)
    return RuntimeError(
        f"every worker of the cluster at {client.scheduler.address} has been gone for {timeout:.0f} s "
        f"(config 'daskcollab.no-workers-timeout'); {len(names)} members were not fitted: {names[:10]}"
    )


def _merged(first, second, jobs):
    """One FitResult from a wave and the wave that re-ran its lost jobs (in the order of ``jobs``)."""
    order = {name: i for i, name in enumerate(dict.fromkeys(job.name for job in jobs))}
    estimators = dict(first.estimators) | dict(second.estimators)
    return FitResult(
        estimators=sorted(estimators.items(), key=lambda item: order[item[0]]),
        scores=first.scores | second.scores,
        evaluations=first.evaluations | second.evaluations,
        timings=sorted(first.timings + second.timings, key=lambda t: order[t.name]),
        failures=first.failures + second.failures,
        wall_time=first.wall_time + second.wall_time,
        n_workers=second.n_workers,
        member_shards=first.member_shards | second.member_shards,
        shard_workers=[b or a for a, b in zip(first.shard_workers, second.shard_workers)] or first.shard_workers,
        metadata=first.metadata,
        n_tasks=first.n_tasks + second.n_tasks,
        data_bytes=first.data_bytes + second.data_bytes,
    )


def _one_wave(client, jobs, X, y, shards, retries, on_error, progress):
    shape = tuple(getattr(X, "shape", ()))
    started = time.perf_counter()
    fits = [job for job in jobs if isinstance(job, FitJob)]
    evaluations = [job for job in jobs if isinstance(job, EvalJob)]
    # Evaluations need each model as a future of its own, so only waves
    # without them batch their fits.
    tasks = plan_tasks(fits, shape, 0 if evaluations else _total_threads(client)) + [[job] for job in evaluations]
    priority = {id(batch): len(tasks) - rank for rank, batch in enumerate(tasks)}
    if shards is None:
        placed = [(*place_on_cluster(client, X, y), None)]
        split = []
    else:
        needed = {job.shard for job in jobs}  # a recovery wave places only the shards it re-runs
        split = [pair if k in needed else None for k, pair in enumerate(shards.split(X, y))]
        placed = [(None, None, None)] * len(split)
    # The blocks of dask data stream through the cluster: a window of shards
    # is placed, their tasks submitted, and each shard's blocks are let go at
    # once (the scheduler frees them when their last reader is done); the
    # next shard follows as each finishes. Placed all at once, every block
    # would be computed ahead of the fits that free it. Waves with
    # evaluations read other shards' models, so they place every shard.
    streaming = shards is not None and shards.indices is None and not evaluations
    by_shard = {}
    for batch in tasks:
        by_shard.setdefault(batch[0].shard or 0, []).append(batch)
    queue = [k for k in range(len(split)) if split[k] is not None]
    if not streaming and shards is not None:
        placed = place_shards(client, split, shards.sizes)
    held = [f for X_f, y_f, worker in placed for f in (X_f, y_f) if f is not None]
    futures, models, remaining = {}, {}, {}

    def submit(batch):
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
            key=task_key(job, len(batch)),
            retries=task_retries,
            pure=False,
            priority=priority[id(batch)],
            **pinned,
        )
        futures[future] = batch
        if len(batch) == 1 and isinstance(job, FitJob) and job.kind == "fit":
            models[job.name] = future
        return future

    def stream_next_shard(finished=None):
        """Submit the next shard's tasks once ``finished`` was the last task of its shard."""
        if finished is not None:
            k = futures[finished][0].shard or 0
            remaining[k] -= 1
            if remaining[k] or not queue:
                return []
        k = queue.pop(0)
        one = [pair if i == k else None for i, pair in enumerate(split)]
        placed[k] = place_shards(client, one, shards.sizes)[k]
        submitted = [submit(batch) for batch in by_shard.get(k, [])]
        remaining[k] = len(submitted)
        for future in placed[k][:2]:
            future.release()  # the scheduler keeps the blocks until their readers are done
        return submitted if submitted else stream_next_shard()

    try:
        with distributed.get_task_stream(client=client) as stream:
            if streaming:
                for _ in range(min(len(queue), STREAM_WINDOW_PER_THREAD * _total_threads(client))):
                    stream_next_shard()
                feed = stream_next_shard
            else:
                for batch in tasks:
                    submit(batch)
                feed = None
            total = sum(len(batch) for batch in tasks)
            outcomes, failures, transfer, batch_times, lost = _collect(client, futures, on_error, progress, total, feed)
        wall = time.perf_counter() - started
        data_bytes = client.run_on_scheduler(_bytes_held, keys=[f.key for f in held])
    finally:
        release(client, held + list(futures))
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
        n_workers=len(worker_threads(client)),
        member_shards={job.name: job.shard for job in fits if job.shard is not None},
        shard_workers=_shard_workers(placed, timings, fits) if shards is not None else [],
        metadata=run_metadata(client, fits, shards),
        n_tasks=len(tasks),
        data_bytes=data_bytes,
    ), lost


def _shard_workers(placed, timings, fits):
    """The worker of each shard: where it was placed, or, for dask blocks, where its first fit ran."""
    ran = {}
    shard_of = {job.name: job.shard for job in fits}
    for timing in timings:
        ran.setdefault(shard_of.get(timing.name), timing.worker)
    return [worker or ran.get(k) for k, (_, _, worker) in enumerate(placed)]


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
    return sum(worker_threads(client).values())


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
        n_workers=len(worker_threads(client)),
        partition=None if shards is None else dict(hash=shards.hash, scheme=shards.scheme, **shards.params),
    )


def _collect(client, futures, on_error, progress, total, feed=None):
    """Wait for all tasks, handling failures as ``on_error`` says.

    Returns the results and failures by ``(member, kind)``, the seconds each
    result took to arrive once its task had finished, the worker-clock
    ``(start, stop)`` of each member fitted inside a batch, and the jobs lost
    with a worker (to run again; see :func:`run_wave`).

    Each result is gathered as soon as its task finishes, so fitted models
    travel back while the other members are still fitting and only the last
    transfer is on the critical path. Gathering here, one at a time, means an
    error while receiving a model is raised to the caller instead of stalling
    the loop. While nothing finishes, the scheduler is asked every
    ``POLL_S`` seconds whether a task waits for a worker that is gone (it is
    then lost, not failed) and whether any worker is left at all.
    """
    outcomes, failures, transfer, batch_times, lost = {}, [], {}, {}, []
    done = 0
    notify = _progress_reporter(progress, futures)

    def fail(job, error, trace=""):
        if on_error == "raise":
            client.cancel(list(futures))
            raise _name_member_in(error, job.name)
        if any(failure.name == job.name for failure in failures):
            return  # an evaluation of a member whose fit already failed
        failures.append(MemberFailure(job.name, type(error).__name__, str(error), trace))
        if on_error == "warn":
            warnings.warn(f"fitting member {job.name!r} failed and was left out: {error!r}", UserWarning, stacklevel=5)

    pending, no_workers_since = list(futures), None
    while pending:
        try:
            finished, still = distributed.wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
        except CancelledError:  # wait() raises when a future was cancelled: its data was lost with a worker
            cancelled = [f for f in pending if f.status == "cancelled"]
            lost += [job for f in cancelled for job in futures[f]]
            pending = [f for f in pending if f.status != "cancelled"]
            for future in cancelled:
                pending += feed(future) if feed is not None else []
            continue
        except TimeoutError:
            stuck, n_workers = client.run_on_scheduler(_waiting_for_workers, keys=[f.key for f in pending])
            no_workers_since = (no_workers_since or time.monotonic()) if n_workers == 0 else None
            if no_workers_since is not None and time.monotonic() - no_workers_since > _no_workers_timeout():
                client.cancel(pending)
                unfinished = {job.name for f in pending for job in futures[f]}
                raise _all_workers_gone(client, unfinished, _no_workers_timeout()) from None
            if stuck and n_workers:  # pinned to a worker that died: its shard went with it
                lost_now = [f for f in pending if f.key in stuck]
                client.cancel(lost_now)
                lost += [job for f in lost_now for job in futures[f]]
                pending = [f for f in pending if f.key not in stuck]
                for future in lost_now:
                    pending += feed(future) if feed is not None else []
            continue
        pending = list(still)
        for future in finished:
            if feed is not None:  # streaming: the next shard's tasks join the wait
                pending += feed(future)
            batch = futures[future]
            if future.status == "cancelled" or (future.status == "error" and _is_lost(future.exception())):
                lost += batch  # its data or its worker went away: run it again
                continue
            if future.status == "error":
                trace = "".join(traceback.format_tb(future.traceback())) if future.traceback() else ""
                for job in batch:
                    fail(job, future.exception(), trace)
                    done += 1
                    notify(job.name, done, total)
                continue
            received = time.perf_counter()
            try:
                value = future.result()
            except Exception as error:
                if not _is_lost(error):
                    raise
                lost += batch  # finished, then its worker died before the result came back
                continue
            # A batch comes back as one pickled list of plain results.
            results = pickle.loads(value) if len(batch) > 1 else [(value, None, None, None)]
            for job, (result, error, start, stop) in zip(batch, results):
                done += 1
                if error is not None:
                    fail(job, error[0], error[1])
                else:
                    outcomes[job.name, job.kind] = _unpacked(job, result) if len(batch) == 1 else result
                    transfer[job.name, job.kind] = time.perf_counter() - received
                    if start is not None:
                        batch_times[job.name, job.kind] = (start, stop)
                notify(job.name, done, total)
    return outcomes, failures, transfer, batch_times, lost


def _is_lost(error):
    """Whether ``error`` means "a worker or the data went away", rather than "the fit failed"."""
    names = {type(error).__name__} | {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"CancelledError", "FutureCancelledError", "NoValidWorkerError", "NoWorkerError"})


def _waiting_for_workers(keys, dask_scheduler=None):
    """Which of ``keys`` wait in the scheduler's no-worker state, and how many workers there are."""
    tasks = (dask_scheduler.tasks.get(key) for key in keys)
    stuck = [ts.key for ts in tasks if ts is not None and ts.state == "no-worker"]
    return stuck, len(dask_scheduler.workers)


def _no_workers_timeout():
    return dask.utils.parse_timedelta(dask.config.get("daskcollab.no-workers-timeout", "60s"))


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
