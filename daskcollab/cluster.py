"""Start a local Dask cluster, or connect to an existing one, with safe defaults.

This module is deliberately thin (like ``distributed.LocalCluster``): it only
resolves defaults, documents them, and delegates to distributed.
"""

from __future__ import annotations

import ast
import logging
import multiprocessing
import os
import sys
import warnings
from numbers import Integral

import dask
from distributed import Client, LocalCluster
from distributed.deploy import Cluster

__all__ = ["start_cluster", "worker_threads"]

# Worker settings for CPU-bound model fitting, applied where the user's dask
# config still has distributed's default.  distributed tunes for data
# pipelines: the memory monitor polling every 100 ms and the event-loop tick
# every 20 ms each take the GIL from the fit running beside them (1 s for
# both: memory limits are enforced within a second instead of 0.1 s); the
# 10 ms statistical profiler also takes the GIL; MALLOC_TRIM_THRESHOLD_, like
# any MALLOC_*_ variable, switches off glibc's adaptive mmap threshold, so
# every temporary array over 128 KiB is mmap'ed afresh (None unsets it).
# Together they cut the workers' summed fit time per wave of the core
# committee by ~6 % (benchmarks/overheads.py).  BLAS stays at 1 thread, so
# that workers do not oversubscribe the cores.
WORKER_CONFIG = {
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": 1,
    "distributed.nanny.pre-spawn-environ.MKL_NUM_THREADS": 1,
    "distributed.nanny.pre-spawn-environ.OPENBLAS_NUM_THREADS": 1,
}


_MALLOC_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
TIGHT_MEMORY = 2 * 2**30  # bytes per worker


def _tight(memory_limit):
    """Whether ``memory_limit`` per worker is an explicit limit under ``TIGHT_MEMORY``."""
    if memory_limit in (None, 0, "auto") or isinstance(memory_limit, float) and memory_limit <= 1:
        return False  # no limit, or distributed's own share of the machine
    try:
        limit = dask.utils.parse_bytes(memory_limit) if isinstance(memory_limit, str) else int(memory_limit)
    except (ValueError, TypeError):
        return False
    return 0 < limit < TIGHT_MEMORY


def worker_config():
    """``WORKER_CONFIG`` minus the keys the user has already set to something else.

    Examples
    --------
    >>> import dask
    >>> with dask.config.set({"distributed.admin.tick.interval": "50ms"}):
    ...     "distributed.admin.tick.interval" in worker_config()
    False
    """
    shipped = dask.config.merge(*dask.config.defaults)
    missing = object()
    return {
        key: value
        for key, value in WORKER_CONFIG.items()
        if dask.config.get(key, missing) == dask.config.get(key, missing, config=shipped)
    }


_MAIN_GUARD_MESSAGE = (
    "start_cluster() starts worker processes with the 'spawn' method, which "
    "re-imports your script in every worker. Call it from inside an "
    '`if __name__ == "__main__":` block in {script}, or pass '
    "processes=False for thread workers."
)


class _ClusterOwningClient(Client):
    """A Client that also shuts down the local cluster it was started with.

    ``Client(cluster)`` leaves ``cluster`` running on close, which is right for
    a cluster somebody else owns and wrong for the one we started.
    """

    def close(self, *args, **kwargs):
        cluster = self.cluster
        try:
            return super().close(*args, **kwargs)
        finally:
            if cluster is not None and cluster.status.name not in ("closed", "closing"):
                cluster.close()


def start_cluster(
    address=None,
    *,
    n_workers=None,
    threads_per_worker=1,
    memory_limit="auto",
    security=None,
    dashboard=True,
    **cluster_kwargs,
) -> Client:
    """Start a local Dask cluster, or connect to an existing one.

    Parameters
    ----------
    address : str, Client, Cluster or None, default=None
        Where the cluster is.

        - ``None``: use ``DASK_SCHEDULER_ADDRESS`` (dask config
          ``scheduler-address``) if set, else start a new local cluster;
        - ``"tcp://host:port"`` / ``"tls://host:port"``: connect to that
          scheduler;
        - a ``distributed`` Cluster object (``LocalCluster``, dask-jobqueue,
          dask-kubernetes, ...): connect to it;
        - a ``Client``: return a new client on the same scheduler, so that
          closing it leaves yours open.

        Nothing is started unless ``address`` is ``None`` and no scheduler
        address is configured.
    n_workers : int, default=None
        Local cluster only: number of worker processes. ``None`` means one per
        core available to this process.
    threads_per_worker : int, default=1
        Local cluster only. One thread per worker process keeps the GIL out of
        the way of pure-Python fitting code.
    memory_limit : str, float or int, default="auto"
        Local cluster only: memory limit per worker, as for ``LocalCluster``.
    security : distributed.Security or bool, default=None
        TLS settings. ``True`` with a local cluster creates temporary
        self-signed credentials.
    dashboard : bool, default=True
        Local cluster only: serve the dashboard on ``127.0.0.1`` at a free
        port (see ``client.dashboard_link``).
    **cluster_kwargs
        Further ``LocalCluster`` arguments (for example ``processes=False``).
        Passing any of them together with an address is an error.

    Returns
    -------
    client : distributed.Client
        Usable as a context manager. On exit it closes exactly what this call
        created: the client always, and the local cluster with all its worker
        processes if it started one. A cluster it only connected to keeps
        running.

    Notes
    -----
    Local defaults: scheduler, workers and dashboard bind to ``127.0.0.1``
    only, on free ports (never a fixed 8787); worker processes are nanny
    processes with 1 BLAS thread each; distributed's logs are silenced below
    ERROR. For CPU-bound fits, the workers poll memory and tick their event
    loop once a second (not every 0.1 s / 20 ms), run no statistical profiler,
    and keep glibc's adaptive mmap threshold; each of these was measured to
    slow fits (see ``WORKER_CONFIG``). A key already set in your dask config
    is left as you set it.

    Examples
    --------
    >>> from daskcollab import start_cluster
    >>> with start_cluster(n_workers=1, processes=False) as client:
    ...     print(client.submit(sum, [1, 2, 3]).result())
    6
    """
    if address is None:
        # dask reads DASK_SCHEDULER_ADDRESS into its config at import; a
        # variable set later (in a notebook, say) is read here too.
        address = os.environ.get("DASK_SCHEDULER_ADDRESS") or dask.config.get("scheduler-address", None)
    if address is not None:
        _reject_local_arguments(address, n_workers, threads_per_worker, memory_limit, dashboard, cluster_kwargs)
        client = _connect(address, security)
        warn_on_version_mismatch(client)
        return client
    _check_positive_int("n_workers", n_workers, allow_none=True)
    _check_positive_int("threads_per_worker", threads_per_worker)
    if not isinstance(dashboard, bool):
        raise TypeError(f"dashboard must be True or False, got {dashboard!r}.")
    if cluster_kwargs.get("processes", True):
        _check_main_guard()
    if n_workers is None:
        n_workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    settings = dict(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        memory_limit=memory_limit,
        host="127.0.0.1",
        # A port-only address (":8787") would bind every interface.  The
        # scheduler serves /health even without a dashboard, on port 8787
        # unless told otherwise, so it always gets a free loopback port.
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs=dict(dashboard=dashboard),
        silence_logs=logging.ERROR,
    )
    if security is not None:
        settings["security"] = security
    if not cluster_kwargs.get("processes", True):
        # Thread workers would default to inproc://, whose workers serve HTTP
        # on every interface; tcp on loopback keeps every socket on 127.0.0.1.
        settings["protocol"] = "tcp"
    settings.update(cluster_kwargs)
    config = worker_config()
    if _tight(memory_limit):
        # Under a tight limit, freed memory should go back to the OS before
        # the memory monitor pauses or kills a worker: keep distributed's
        # malloc trimming. A precaution, not measured on its own.
        config.pop(_MALLOC_KEY, None)
    with dask.config.set(config):
        cluster = LocalCluster(**settings)
    try:
        return _ClusterOwningClient(cluster)
    except BaseException:
        cluster.close()
        raise


def worker_threads(client):
    """``{worker address: threads}``, asked of the scheduler now.

    ``Client.scheduler_info()`` can return a cache that the client's own
    periodic refresh has just replaced with one listing no workers; a direct
    query cannot.
    """
    return dict(client.nthreads())


def _package_versions():
    """Versions of the packages a fitted model depends on, read as the running process sees them."""
    import numpy
    import sklearn

    import daskcollab

    return {"daskcollab": daskcollab.__version__, "scikit-learn": sklearn.__version__, "numpy": numpy.__version__}


def warn_on_version_mismatch(client):
    """Warn, naming the package and the versions, when workers run other versions than this client.

    Dask itself checks its own packages on connect; a model pickled with one
    scikit-learn or numpy and loaded with another may fail or predict
    differently, so those are checked here, with daskcollab's own.
    """
    here = _package_versions()
    try:
        there = client.run(_package_versions)
    except Exception:  # a worker that cannot run this (no daskcollab at all) is a mismatch too
        there = {}
        warnings.warn(
            "could not read package versions on the workers: is daskcollab installed there?",
            UserWarning,
            stacklevel=3,
        )
    differences = []
    for package, version in here.items():
        others = sorted({(v[package], w) for w, v in there.items() if v.get(package) != version})
        if others:
            where = ", ".join(f"{v} on {w}" for v, w in others[:3]) + (" ..." if len(others) > 3 else "")
            differences.append(f"{package} {version} here, {where}")
    if differences:
        warnings.warn(
            "the workers run other package versions than this client: "
            + "; ".join(differences)
            + ". Models fitted there may not unpickle or predict the same here; install the same versions.",
            UserWarning,
            stacklevel=3,
        )


def _connect(address, security):
    if isinstance(address, Client):
        return Client(address.scheduler.address, security=security or address.security)
    if isinstance(address, Cluster):
        return Client(address, security=security)
    if isinstance(address, str):
        if "://" not in address:
            raise ValueError(f"address must look like 'tcp://host:port' or 'tls://host:port', got {address!r}.")
        return Client(address, security=security)
    if hasattr(address, "scheduler_address"):  # cluster managers outside distributed
        return Client(address.scheduler_address, security=security or getattr(address, "security", None))
    raise TypeError(
        "address must be None, a scheduler address string, a Cluster or a Client, "
        f"got {type(address).__name__}: {address!r}."
    )


def _reject_local_arguments(address, n_workers, threads_per_worker, memory_limit, dashboard, cluster_kwargs):
    given = dict(cluster_kwargs)
    if n_workers is not None:
        given["n_workers"] = n_workers
    if threads_per_worker != 1:
        given["threads_per_worker"] = threads_per_worker
    if memory_limit != "auto":
        given["memory_limit"] = memory_limit
    if dashboard is not True:
        given["dashboard"] = dashboard
    if given:
        raise ValueError(
            f"{', '.join(sorted(given))} configure a new local cluster and cannot be "
            f"combined with address={address!r}; drop them or drop the address."
        )


def _check_positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _check_main_guard():
    """Fail clearly where 'spawn' would make worker start-up fail obscurely."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # We are a spawned child re-importing an unguarded script.
        raise RuntimeError(_MAIN_GUARD_MESSAGE.format(script="the main script"))
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    if not script or not script.endswith(".py") or not os.path.exists(script):
        return  # interactive sessions and notebooks need no guard
    frame = sys._getframe(2)
    while frame is not None:
        if (
            frame.f_code.co_name == "<module>"
            and frame.f_globals.get("__name__") == "__main__"
            and os.path.abspath(frame.f_code.co_filename) == os.path.abspath(script)
        ):
            break
        frame = frame.f_back
    else:
        return  # not called from the script's top level
    if not _line_is_guarded(script, frame.f_lineno):
        raise RuntimeError(_MAIN_GUARD_MESSAGE.format(script=script))


def _line_is_guarded(script, lineno):
    try:
        with open(script, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=script)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return True  # can't tell, so don't block
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test):
            if node.body[0].lineno <= lineno <= node.body[-1].end_lineno:
                return True
    return False


def _is_main_test(test):
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and consts)
