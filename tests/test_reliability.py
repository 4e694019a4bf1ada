"""Reliability: worker loss, every worker gone, and no leaks over repeated use."""

import os
import threading

import dask
import numpy as np
import psutil
import pytest
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

import daskcollab as dc
from tests.conftest import scheduler_task_count

X_BIG, Y_BIG = make_classification(4000, 20, random_state=0)


def kill_a_worker_after_the_first_member(client, victim_index=0):
    """A progress callback that kills one worker process (SIGKILL) when the first member is fitted."""
    victim = sorted(client.nthreads())[victim_index]
    pid = client.run(os.getpid)[victim]
    killed = []

    def progress(name, done, total):
        if not killed:
            os.kill(pid, 9)
            killed.append(victim)

    return progress, killed


@pytest.mark.processes
@pytest.mark.timeout(300)
@pytest.mark.parametrize("sharded", [False, True], ids=["scattered", "sharded"])
def test_a_worker_killed_mid_fit_loses_no_member(sharded):
    members = [("rf", RandomForestClassifier(200, random_state=0))]
    with dc.start_cluster(n_workers=2, dashboard=False) as client:
        progress, killed = kill_a_worker_after_the_first_member(client)
        kwargs = dict(shards=dc.partition(X_BIG, Y_BIG, 6)) if sharded else dict(seeds=6)
        result = dc.fit_parallel(members, X_BIG, Y_BIG, client=client, progress=progress, **kwargs)
        assert killed
        names = [f"rf-shard{k}" for k in range(6)] if sharded else [f"rf-{s}" for s in range(6)]
        assert [name for name, _ in result.estimators] == names
        assert result.failures == []
        assert all(est.score(X_BIG, Y_BIG) > 0.9 for _, est in result.estimators)
        assert scheduler_task_count(client) == 0


@pytest.mark.timeout(120)
def test_every_worker_gone_is_a_clear_error_not_a_hang():
    with (
        dc.start_cluster(n_workers=2, processes=False, dashboard=False) as client,
        dask.config.set({"daskcollab.no-workers-timeout": "2s"}),
    ):

        def close_every_worker(name, done, total):
            if done == 1:
                threading.Thread(target=client.cluster.scale, args=(0,)).start()

        slow = [("rf", RandomForestClassifier(400, random_state=0))]
        with pytest.raises(RuntimeError, match="every worker of the cluster .* gone .* members were not fitted"):
            dc.fit_parallel(slow, X_BIG, Y_BIG, seeds=8, client=client, progress=close_every_worker)


def _rss(dask_worker=None):
    return psutil.Process().memory_info().rss


@pytest.mark.timeout(300)
def test_thirty_calls_leave_no_task_data_or_memory_behind(client):
    X, y = load_iris(return_X_y=True)
    X = np.repeat(X, 200, axis=0)  # 30 000 rows, 1 MB per call
    y = np.repeat(y, 200)
    members = [("tree", DecisionTreeClassifier(max_depth=4))]
    dc.fit_parallel(members, X, y, seeds=2, client=client)
    baseline = client.run(_rss)
    for call in range(30):
        shards = dc.partition(X, y, 2, seed=call) if call % 2 else None
        result = dc.fit_parallel(members, X, y, seeds=2, shards=shards, client=client)
        assert len(result.estimators) == (4 if shards else 2)
        assert scheduler_task_count(client) == 0, f"call {call} left tasks or data on the cluster"
        held = client.run(lambda dask_worker: len(dask_worker.data))
        assert set(held.values()) == {0}, f"call {call} left data on the workers: {held}"
    grown = {w: (client.run(_rss)[w] - baseline[w]) / 1e6 for w in baseline}
    assert all(mb < 150 for mb in grown.values()), f"worker memory grew by {grown} MB over 30 calls"
