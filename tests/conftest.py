"""Shared fixtures: one real local Dask cluster per test module."""

import os
import threading
import time

import psutil
import pytest

import daskcollab as dc


class NothingLeaked:
    """Context manager: fail if a child process or a non-daemon thread started inside outlives it."""

    def __enter__(self):
        self.children = {p.pid for p in psutil.Process().children(recursive=True)}
        self.threads = {t.ident for t in threading.enumerate()}
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (self._new_children() or self._new_threads()):
            time.sleep(0.1)  # closing processes and threads get a moment to end
        assert not self._new_children(), f"child processes outlived the cluster: {self._describe(self._new_children())}"
        assert not self._new_threads(), f"threads outlived the cluster: {self._new_threads()}"
        return False

    def _new_children(self):
        found = []
        for process in psutil.Process().children(recursive=True):
            try:
                if process.pid in self.children or process.status() == psutil.STATUS_ZOMBIE:
                    continue
                # joblib's loky pool (used by scikit-learn inside tests) and multiprocessing's resource
                # tracker are per-process singletons, reused on purpose: they outlive any one cluster.
                cmdline = " ".join(process.cmdline())
                if "loky" in cmdline or "resource_tracker" in cmdline:
                    continue
            except psutil.NoSuchProcess:
                continue
            found.append(process.pid)
        return sorted(found)

    @staticmethod
    def _describe(pids):
        out = []
        for pid in pids:
            try:
                out.append((pid, " ".join(psutil.Process(pid).cmdline())[:200]))
            except psutil.NoSuchProcess:
                out.append((pid, "gone"))
        return out

    def _new_threads(self):
        return sorted(t.name for t in threading.enumerate() if t.ident not in self.threads and not t.daemon)


@pytest.fixture(scope="module")
def client():
    """A real 2-worker local cluster of worker processes, shared by a module; checked for leaks after."""
    with NothingLeaked(), dc.start_cluster(n_workers=2, dashboard=False) as client:
        yield client


@pytest.fixture
def thread_client():
    """A cheap 2-thread-worker cluster for tests that need a private cluster; checked for leaks after."""
    with NothingLeaked(), dc.start_cluster(n_workers=2, processes=False, dashboard=False) as client:
        yield client


def scheduler_task_count(client):
    """Tasks the scheduler still holds (0 means the call left nothing behind)."""
    return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def _mark(dask_scheduler):
    return dask_scheduler.transition_counter, [str(k) for k in dask_scheduler.tasks]


def _keys_since(counter, known, dask_scheduler):
    recent = (
        list(dask_scheduler.transition_log)[-(dask_scheduler.transition_counter - counter) :]
        if (dask_scheduler.transition_counter > counter)
        else []
    )
    return sorted({str(t.key) for t in recent} - set(known))


class NothingSent:
    """Context manager: fail if the scheduler saw a key that did not exist before.

    Transitions of keys that already existed (a previous test's futures being
    released late) are not this block's doing and are ignored.
    """

    def __init__(self, client):
        self.client = client

    def __enter__(self):
        self.counter, self.known = self.client.run_on_scheduler(_mark)
        return self

    def __exit__(self, *exc):
        new = self.client.run_on_scheduler(_keys_since, counter=self.counter, known=self.known)
        assert new == [], f"work reached the scheduler: {new}"
        return False


def child_processes():
    """Live child processes, leaving out multiprocessing's resource tracker."""
    children = []
    for proc in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(proc.cmdline()) and proc.status() != psutil.STATUS_ZOMBIE:
                children.append(proc)
        except psutil.NoSuchProcess:
            pass
    return children
