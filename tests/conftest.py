"""Shared fixtures: one real local Dask cluster per test module."""

import os

import psutil
import pytest

import daskcollab as dc


@pytest.fixture(scope="module")
def client():
    """A real 2-worker local cluster of worker processes, shared by a module."""
    with dc.start_cluster(n_workers=2, dashboard=False) as client:
        yield client


@pytest.fixture
def thread_client():
    """A cheap 2-thread-worker cluster for tests that need a private cluster."""
    with dc.start_cluster(n_workers=2, processes=False, dashboard=False) as client:
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
