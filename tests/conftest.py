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


def scheduler_transitions(client):
    """A counter that moves whenever the scheduler does anything with a task."""
    return client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)


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
