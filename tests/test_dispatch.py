import warnings

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from dask.delayed import Delayed
from distributed import get_task_stream
from sklearn.datasets import load_iris, make_classification
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

import daskcollab as dc
from tests.conftest import NothingSent, scheduler_task_count
from tests.helpers import FailingClassifier


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_fit_parallel_returns_fitted_members_in_order(client, iris):
    X, y = iris
    members = [("lr", LogisticRegression(max_iter=500)), ("tree", DecisionTreeClassifier(random_state=0))]
    result = dc.fit_parallel(members, X, y, client=client)
    assert [n for n, _ in result.estimators] == ["lr", "tree"]
    for (name, fitted), (_, original) in zip(result.estimators, members):
        assert fitted is not original and not hasattr(original, "classes_")
        assert fitted.score(X, y) > 0.9
    assert result.named_estimators["tree"] is result.estimators[1][1]
    assert result.failures == [] and result.n_workers == 2 and result.wall_time > 0


def test_timings_come_from_the_task_stream(client, iris):
    X, y = iris
    result = dc.fit_parallel([DecisionTreeClassifier(), LogisticRegression(max_iter=500)], X, y, client=client)
    workers = set(client.scheduler_info(n_workers=-1)["workers"])
    assert [t.name for t in result.timings] == ["decisiontreeclassifier", "logisticregression"]
    for timing in result.timings:
        assert timing.worker in workers
        assert timing.stop >= timing.start and timing.seconds == pytest.approx(timing.stop - timing.start)
    frame = result.to_frame()
    assert list(frame.columns) == ["name", "kind", "estimator", "worker", "start", "stop", "seconds", "status"]
    assert frame["start"].min() == 0 and (frame["status"] == "ok").all()
    assert frame["estimator"].tolist() == ["DecisionTreeClassifier", "LogisticRegression"]
    html = result._repr_html_()
    assert "<table" in html and "logisticregression" in html
    assert "2 fitted, 0 failed" in repr(result)


def test_tasks_are_named_after_members_and_seeds_never_collapse(client, iris):
    X, y = iris
    with get_task_stream(client=client) as stream:
        result = dc.fit_parallel([("rf", RandomForestClassifier(n_estimators=5))], X, y, client=client, seeds=3)
    keys = [r["key"] for r in stream.data if str(r["key"]).startswith("fit-")]
    assert sorted(k.rsplit("-", 1)[0] for k in keys) == ["fit-rf-0", "fit-rf-1", "fit-rf-2"]
    assert len(set(keys)) == 3
    models = [est for _, est in result.estimators]
    assert [m.random_state for m in models] == [0, 1, 2]
    importances = [m.feature_importances_ for m in models]
    assert not np.allclose(importances[0], importances[1])
    assert not np.allclose(importances[1], importances[2])


def test_big_data_is_placed_once_and_released(client):
    X = np.zeros((131_072, 100))  # 100 MiB
    X[:, 0] = np.arange(len(X)) % 2
    y = (X[:, 0] > 0).astype(int)
    members = [DummyClassifier(strategy="prior") for _ in range(16)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Sending large graph" is a UserWarning
        for _ in range(3):  # repeated calls on the same data never hang
            result = dc.fit_parallel(members, X, y, client=client)
            assert len(result.estimators) == 16
            assert scheduler_task_count(client) == 0


def test_pandas_input_keeps_feature_names(client, iris):
    X, y = load_iris(return_X_y=True, as_frame=True)
    result = dc.fit_parallel(
        [DecisionTreeClassifier()], X, y.map({0: "setosa", 1: "versicolor", 2: "virginica"}), client=client
    )
    model = result.estimators[0][1]
    assert list(model.feature_names_in_) == list(X.columns)
    assert set(model.classes_) == {"setosa", "versicolor", "virginica"}


def test_dask_array_and_dataframe_inputs(client, iris):
    X, y = iris
    expected = DecisionTreeClassifier(random_state=0).fit(X, y).predict(X)
    X_da, y_da = da.from_array(X, chunks=50), da.from_array(y, chunks=50)
    frame = pd.DataFrame(X, columns=list("abcd"))
    X_dd, y_dd = dd.from_pandas(frame, npartitions=3), dd.from_pandas(pd.Series(y), npartitions=3)
    for Xd, yd, Xp in [(X_da, y_da, X), (X_dd, y_dd, frame)]:
        result = dc.fit_parallel([DecisionTreeClassifier(random_state=0)], Xd, yd, client=client)
        np.testing.assert_array_equal(result.estimators[0][1].predict(Xp), expected)
    assert scheduler_task_count(client) == 0


def test_compute_false_returns_delayed_fits(iris):
    X, y = iris
    lazy = dc.fit_parallel([("tree", DecisionTreeClassifier())], X, y, seeds=2, compute=False)
    assert [name for name, _ in lazy] == ["tree-0", "tree-1"]
    assert all(isinstance(d, Delayed) for _, d in lazy)
    assert lazy[0][1].key != lazy[1][1].key and lazy[0][1].key.startswith("fit-tree-0-")
    (fitted,) = dask.compute(lazy, scheduler="sync")
    assert [name for name, _ in fitted] == ["tree-0", "tree-1"]
    assert fitted[1][1].random_state == 1 and fitted[1][1].score(X, y) == 1.0


def test_compute_false_composes_on_the_cluster(client, iris):
    X, y = iris
    lazy = dc.fit_parallel([LogisticRegression(max_iter=500)], X, y, compute=False)
    score = dask.delayed(lambda model: model.score(X, y))(lazy[0][1])
    assert client.compute(score).result() > 0.9


def test_failing_member_raises_with_its_name(client, iris):
    X, y = iris
    with pytest.raises(RuntimeError, match="fitting member 'bad' failed: boom"):
        dc.fit_parallel([("ok", DecisionTreeClassifier()), ("bad", FailingClassifier())], X, y, client=client)
    assert scheduler_task_count(client) == 0


@pytest.mark.parametrize("on_error", ["warn", "skip"])
def test_failing_member_can_be_left_out(client, iris, on_error):
    X, y = iris
    members = [("ok", DecisionTreeClassifier()), ("bad", FailingClassifier())]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = dc.fit_parallel(members, X, y, client=client, on_error=on_error)
    assert [n for n, _ in result.estimators] == ["ok"]
    assert [(f.name, f.error) for f in result.failures] == [("bad", "RuntimeError")]
    assert "in fit" in result.failures[0].traceback and "boom" in result.failures[0].message
    assert "failed: RuntimeError" in result.to_frame().set_index("name").loc["bad", "status"]
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert any("'bad' failed" in m for m in messages) == (on_error == "warn")


def test_retries_rerun_a_failed_fit(client, iris, tmp_path):
    X, y = iris
    flaky = FailingClassifier(flag_file=str(tmp_path / "failed-once"))
    result = dc.fit_parallel([("flaky", flaky)], X, y, client=client, retries=1)
    assert [n for n, _ in result.estimators] == ["flaky"]


def test_progress_callback_sees_every_member(client, iris):
    X, y = iris
    seen = []
    dc.fit_parallel(
        [DecisionTreeClassifier()],
        X,
        y,
        client=client,
        seeds=3,
        progress=lambda name, done, total: seen.append((done, total)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_progress_true_prints_one_line_per_member(client, iris, capsys):
    X, y = iris
    dc.fit_parallel([DecisionTreeClassifier()], X, y, client=client, seeds=2, progress=True)
    err = capsys.readouterr().err
    assert "fitted 1/2" in err and "fitted 2/2" in err


X_OK, Y_OK = make_classification(n_samples=40, n_features=4, random_state=0)


@pytest.mark.parametrize(
    "estimators, X, y, kwargs, error, match",
    [
        ([], X_OK, Y_OK, {}, ValueError, "estimators is empty"),
        (
            [("a", DecisionTreeClassifier()), ("a", LogisticRegression())],
            X_OK,
            Y_OK,
            {},
            ValueError,
            "duplicate member names",
        ),
        ([DecisionTreeClassifier(), 3], X_OK, Y_OK, {}, TypeError, r"estimators\[1\] is not a scikit-learn estimator"),
        ([DecisionTreeClassifier()], X_OK, Y_OK[:-1], {}, ValueError, "X has 40 rows, y has 39"),
        ([DecisionTreeClassifier()], X_OK[:, 0], Y_OK, {}, ValueError, "X must be 2-D.*got 1-D"),
        ([DecisionTreeClassifier()], X_OK, None, {}, ValueError, "requires y to be passed"),
        ([DecisionTreeClassifier()], X_OK, Y_OK, dict(seeds=0), ValueError, "seeds must be a positive integer.*got 0"),
        (
            [DecisionTreeClassifier()],
            X_OK,
            Y_OK,
            dict(retries=-1),
            ValueError,
            "retries must be a non-negative integer, got -1",
        ),
        (
            [DecisionTreeClassifier()],
            X_OK,
            Y_OK,
            dict(on_error="ignore"),
            ValueError,
            "on_error must be one of.*'ignore'",
        ),
        ([DecisionTreeClassifier()], X_OK, Y_OK, dict(progress="yes"), TypeError, "progress must be.*'yes'"),
        (
            [DecisionTreeClassifier()],
            X_OK,
            Y_OK,
            dict(client="tcp://x:1"),
            TypeError,
            "client must be a distributed.Client",
        ),
    ],
)
def test_bad_input_is_rejected_before_any_task_is_sent(client, estimators, X, y, kwargs, error, match):
    kwargs = dict(dict(client=client), **kwargs)
    with NothingSent(client), pytest.raises(error, match=match):
        dc.fit_parallel(estimators, X, y, **kwargs)


def test_nothing_sent_notices_a_task(client):
    """The guard used by the bad-input tests does see real work."""
    with pytest.raises(AssertionError, match="work reached the scheduler"):
        with NothingSent(client):
            client.submit(sum, [1, 2], key="sum-probe").result()


def test_many_tiny_fits_are_batched_into_a_few_tasks(client, iris):
    X, y = iris
    seen = []
    with get_task_stream(client=client) as stream:
        result = dc.fit_parallel(
            [("tree", DecisionTreeClassifier(max_depth=3))],
            X,
            y,
            seeds=100,
            client=client,
            progress=lambda name, done, total: seen.append(done),
        )
    assert [name for name, _ in result.estimators] == [f"tree-{s}" for s in range(100)]
    assert [est.random_state for _, est in result.estimators] == list(range(100))
    assert result.n_tasks == 8  # 4 per worker thread
    keys = [str(r["key"]) for r in stream.data]
    assert len(keys) == 8 and all(k.startswith("fit-batch-tree-") for k in keys)
    assert len(result.timings) == 100 and {t.worker for t in result.timings} <= set(client.nthreads())
    assert all(t.seconds >= 0 for t in result.timings)
    assert seen == list(range(1, 101))


def test_plan_tasks_keeps_long_fits_alone_and_never_mixes_shards():
    from daskcollab.jobs import FitJob
    from daskcollab.waves import _LAST_DURATION, _duration_key, plan_tasks

    shape = (7, 7)
    slow = FitJob("slow", LogisticRegression(C=123.0))
    _LAST_DURATION[_duration_key(slow, shape)] = 1.0
    tiny = [FitJob(f"t{i}", DecisionTreeClassifier(max_depth=2), shard=i % 2) for i in range(40)]
    tasks = plan_tasks([*tiny, slow], shape, n_threads=2)
    assert tasks[0] == [slow]
    assert sorted(job.name for task in tasks for job in task) == sorted(["slow", *(j.name for j in tiny)])
    assert all(len({job.shard for job in task}) == 1 for task in tasks)
    assert len(tasks) == 1 + 8
    assert plan_tasks(tiny, shape, n_threads=0) == [[job] for job in tiny]
    assert len(plan_tasks(tiny[:8], shape, n_threads=2)) == 8  # few jobs: one task each


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_failing_member_inside_a_batch_fails_alone(client, iris, on_error):
    X, y = iris
    members = [("tree", DecisionTreeClassifier(max_depth=2)), ("bad", FailingClassifier())]
    many = [(f"{n}-{i}", e) for i in range(10) for n, e in members[:1]] + [members[1]]
    if on_error == "raise":
        with pytest.raises(RuntimeError, match="fitting member 'bad' failed"):
            dc.fit_parallel(many, X, y, client=client, on_error=on_error)
        return
    result = dc.fit_parallel(many, X, y, client=client, on_error=on_error)
    assert result.n_tasks < len(many)
    assert len(result.estimators) == 10 and [f.name for f in result.failures] == ["bad"]
    assert "raise RuntimeError" in result.failures[0].traceback


def test_retries_rerun_a_failed_fit_inside_a_batch(client, iris, tmp_path):
    X, y = iris
    flaky = FailingClassifier(flag_file=str(tmp_path / "failed-once"))
    members = [(f"tree-{i}", DecisionTreeClassifier(max_depth=2)) for i in range(12)] + [("flaky", flaky)]
    result = dc.fit_parallel(members, X, y, client=client, retries=1)
    assert result.n_tasks < len(members) and "flaky" in result.named_estimators


def test_progress_in_a_terminal_is_one_redrawn_bar(capsys):
    from daskcollab.waves import _text_bar

    for done in (1, 2):
        _text_bar(f"tree-{done}", done, 2)
    err = capsys.readouterr().err
    assert err.count("\r") == 2 and err.endswith("\n") and err.count("\n") == 1
    assert "[###############---------------] fitted 1/2: tree-1" in err
    assert "fitted 2/2: tree-2" in err
