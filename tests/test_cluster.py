import os
import shutil
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlparse
from urllib.request import urlopen

import dask
import psutil
import pytest
from distributed import Client, LocalCluster

import daskcollab as dc
from tests.conftest import child_processes


@pytest.mark.processes
def test_local_cluster_uses_loopback_and_leaves_no_process_behind():
    before = {p.pid for p in child_processes()}
    with dc.start_cluster(n_workers=2) as client:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        assert len(workers) == 2
        assert all(info["nthreads"] == 1 for info in workers.values())
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in workers)
        link = urlparse(client.dashboard_link)
        assert link.hostname == "127.0.0.1" and link.port != 8787
        listening = [
            c
            for c in psutil.Process().net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == link.port
        ]
        assert [c.laddr.ip for c in listening] == ["127.0.0.1"]
        spawned = [p for p in child_processes() if p.pid not in before]
        assert len(spawned) == 2
        for proc in spawned:  # every socket of the worker processes too
            ips = {c.laddr.ip for c in proc.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}
            assert ips == {"127.0.0.1"}
        assert client.run(lambda: os.environ["OMP_NUM_THREADS"]) == {w: "1" for w in workers}
    assert not [p for p in spawned if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert {p.pid for p in child_processes()} <= before


@pytest.mark.parametrize("dashboard", [True, False])
def test_dashboard_can_be_turned_off_and_never_takes_port_8787(dashboard):
    with dc.start_cluster(n_workers=1, processes=False, dashboard=dashboard) as client:
        port = client.cluster.scheduler.http_server.port
        assert port != 8787
        try:
            status = urlopen(f"http://127.0.0.1:{port}/status", timeout=10).status
        except HTTPError as error:
            status = error.code
        assert (status == 200) == dashboard


@pytest.fixture
def outside_cluster():
    """A cluster somebody else started and owns."""
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        yield cluster


@pytest.mark.parametrize("how", ["address", "cluster", "client", "config"])
def test_connecting_never_starts_or_closes_the_cluster(outside_cluster, how):
    owner = Client(outside_cluster, set_as_default=False)
    targets = {"address": outside_cluster.scheduler_address, "cluster": outside_cluster, "client": owner}
    with dask.config.set({"scheduler-address": outside_cluster.scheduler_address} if how == "config" else {}):
        with dc.start_cluster(targets.get(how)) as client:
            assert client.scheduler.address == outside_cluster.scheduler_address
            assert client.submit(sum, [1, 2]).result() == 3
            assert len(client.nthreads()) == 1
    assert owner.status == "running"
    assert owner.submit(sum, [2, 3]).result() == 5
    owner.close()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_workers=2), "n_workers"),
        (dict(processes=False), "processes"),
        (dict(memory_limit="1GB"), "memory_limit"),
        (dict(threads_per_worker=2), "threads_per_worker"),
    ],
)
def test_cluster_arguments_with_an_address_are_rejected(kwargs, match):
    before = child_processes()
    with pytest.raises(ValueError, match=f"{match}.*address='tcp://127.0.0.1:1'"):
        dc.start_cluster("tcp://127.0.0.1:1", **kwargs)
    assert child_processes() == before


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((), dict(n_workers=0), ValueError, "n_workers must be a positive integer, got 0"),
        ((), dict(n_workers=1.5), ValueError, "n_workers must be a positive integer, got 1.5"),
        ((), dict(threads_per_worker=0), ValueError, "threads_per_worker must be a positive integer, got 0"),
        ((), dict(dashboard="yes"), TypeError, "dashboard must be True or False, got 'yes'"),
        ((42,), {}, TypeError, "address must be None, a scheduler address string.*got int: 42"),
        (("localhost:8786",), {}, ValueError, "address must look like 'tcp://host:port'.*'localhost:8786'"),
    ],
)
def test_bad_arguments_fail_before_anything_starts(args, kwargs, error, match):
    before = child_processes()
    with pytest.raises(error, match=match):
        dc.start_cluster(*args, **kwargs)
    assert child_processes() == before


def _run_script(tmp_path, body, timeout=120):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


@pytest.mark.processes
def test_script_without_main_guard_is_told_what_to_do(tmp_path):
    result = _run_script(
        tmp_path,
        """
        import daskcollab as dc
        client = dc.start_cluster(n_workers=1)
        print("started")
    """,
    )
    assert result.returncode != 0
    assert 'if __name__ == "__main__":' in result.stderr
    assert "Nanny failed" not in result.stderr
    assert "started" not in result.stdout


@pytest.mark.processes
def test_temporary_cluster_of_fit_parallel_is_closed(tmp_path):
    result = _run_script(
        tmp_path,
        """
        import os, psutil
        from sklearn.datasets import load_iris
        from sklearn.tree import DecisionTreeClassifier
        import daskcollab as dc

        if __name__ == "__main__":
            X, y = load_iris(return_X_y=True)
            result = dc.fit_parallel([DecisionTreeClassifier()], X, y, seeds=2)
            print("fitted", len(result.estimators), result.n_workers > 0)
            alive = [p for p in psutil.Process().children(recursive=True)
                     if "resource_tracker" not in " ".join(p.cmdline())]
            print("children", len(alive))
    """,
    )
    assert result.returncode == 0, result.stderr
    assert "fitted 2 True" in result.stdout
    assert "children 0" in result.stdout


def _wait_for(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.1)


@pytest.mark.processes
def test_fit_on_dask_scheduler_and_worker_subprocesses(tmp_path):
    """The same code against a cluster started with the `dask` command line."""
    dask_cli = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [
            dask_cli,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = []
    try:
        _wait_for(scheduler_file)
        for _ in range(2):
            workers.append(
                subprocess.Popen(
                    [
                        dask_cli,
                        "worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                        "--nworkers",
                        "1",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        address = Client(scheduler_file=str(scheduler_file), set_as_default=False)
        address.wait_for_workers(2, timeout=60)
        from sklearn.datasets import load_iris
        from sklearn.tree import DecisionTreeClassifier

        X, y = load_iris(return_X_y=True)
        with dc.start_cluster(address.scheduler.address) as client:
            result = dc.fit_parallel([("tree", DecisionTreeClassifier())], X, y, client=client, seeds=4)
        assert [n for n, _ in result.estimators] == ["tree-0", "tree-1", "tree-2", "tree-3"]
        assert len({t.worker for t in result.timings}) >= 1
        # the cluster we only connected to is still there
        assert address.submit(sum, [1, 1]).result() == 2
        assert scheduler.poll() is None and all(w.poll() is None for w in workers)
        address.close()
    finally:
        for proc in workers + [scheduler]:
            proc.terminate()
        for proc in workers + [scheduler]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _listening():
    return {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process().net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    }


def test_thread_workers_listen_on_loopback_only():
    before = _listening()
    with dc.start_cluster(n_workers=2, processes=False) as client:
        opened = _listening() - before
        assert opened and {ip for ip, _ in opened} == {"127.0.0.1"}
        assert client.submit(sum, [1, 2]).result() == 3
    assert _listening() - before == set()


def _pretend_old_sklearn():
    import sklearn

    sklearn.__version__ = "0.24.2"


@pytest.mark.processes
def test_connecting_to_workers_with_other_versions_warns_naming_them():
    with dc.start_cluster(n_workers=1, dashboard=False) as owner:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dc.start_cluster(owner.scheduler.address).close()  # same versions: silent
        owner.run(_pretend_old_sklearn)
        with pytest.warns(UserWarning, match=r"scikit-learn \S+ here, 0\.24\.2 on tcp://127\.0\.0\.1:\d+") as record:
            dc.start_cluster(owner.scheduler.address).close()
        assert "daskcollab" not in str(record[0].message).split("other package versions")[1].split(";")[0]


@pytest.mark.processes
def test_the_same_workflow_over_tls():
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    with dc.start_cluster(n_workers=2, security=True, dashboard=False) as client:
        assert client.scheduler.address.startswith("tls://127.0.0.1:")
        assert all(w.startswith("tls://127.0.0.1:") for w in client.nthreads())
        model = dc.WeightedVotingClassifier([DecisionTreeClassifier(random_state=0)], seeds=2, weights="accuracy")
        model.fit(X, y)
        assert model.score(X, y) > 0.9 and {t.worker[:6] for t in model.fit_result_.timings} == {"tls://"}


@pytest.mark.parametrize(
    "memory_limit, tight",
    [("600MB", True), ("1.5GiB", True), ("4GB", False), ("auto", False), (None, False), (0, False), (0.5, False)],
)
def test_tight_memory_limits_keep_malloc_trimming(memory_limit, tight):
    from daskcollab.cluster import _tight

    assert _tight(memory_limit) is tight


def test_dask_scheduler_address_set_after_import_is_honoured(monkeypatch):
    with dc.start_cluster(n_workers=1, processes=False, dashboard=False) as owner:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", owner.scheduler.address)
        with dc.start_cluster() as connected:
            assert connected.scheduler.address == owner.scheduler.address
            assert not isinstance(connected, type(owner))  # connected only: it will not close the cluster
        assert owner.submit(sum, [1, 2]).result() == 3
