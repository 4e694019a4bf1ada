"""Training where the data lives: shards on workers, global classes, combiners, stacking."""

import warnings

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

import daskcollab as dc
from daskcollab.combine import align_proba
from tests.conftest import NothingSent
from tests.helpers import NoProbaClassifier

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
LR = ("lr", LogisticRegression(max_iter=2000))


def shard_holders(client):
    """Which workers hold each shard's data, as the scheduler's who_has says."""

    def holders(dask_scheduler):
        return {
            str(key): sorted(ws.address for ws in ts.who_has)
            for key, ts in dask_scheduler.tasks.items()
            if str(key).startswith("shard-data-")
        }

    return client.run_on_scheduler(holders)


def test_each_shard_stays_on_one_worker_for_the_whole_fit(client):
    p = dc.partition(X_DIGITS, Y_DIGITS, 4, scheme="dirichlet", alpha=0.5)
    snapshots = []

    def watch(name, done, total):
        snapshots.append(shard_holders(client))

    members = [LR, ("rf", RandomForestClassifier(30, random_state=0))]
    result = dc.fit_parallel(members, X_DIGITS, Y_DIGITS, shards=p, client=client, progress=watch)

    assert len(snapshots) == 8
    workers = result.shard_workers
    assert len(workers) == 4 and set(workers) == set(client.nthreads())
    for snapshot in snapshots:
        assert len(snapshot) == 8  # X and y of 4 shards, all still held
        for key, holders in snapshot.items():
            shard = int(key.split("-")[2])
            assert holders == [workers[shard]], key
    for timing in result.timings:
        assert timing.worker == workers[result.member_shards[timing.name]]
    assert sorted(result.named_estimators) == sorted(f"{m}-shard{k}" for m in ("lr", "rf") for k in range(4))
    assert shard_holders(client) == {}  # released when the call returned
    frame = result.to_frame()
    assert "shard" in frame.columns and frame["shard"].notna().all()


def test_metadata_records_seeds_versions_workers_and_partition(client):
    p = dc.partition(X_DIGITS, Y_DIGITS, 2, seed=7)
    result = dc.fit_parallel([DecisionTreeClassifier(random_state=3)], X_DIGITS, Y_DIGITS, shards=p, client=client)
    meta = result.metadata
    assert meta["seeds"] == {"decisiontreeclassifier-shard0": 3, "decisiontreeclassifier-shard1": 3}
    assert meta["n_workers"] == 2
    assert meta["partition"] == dict(hash=p.hash, scheme="iid", seed=7)
    assert set(meta["versions"]) >= {"daskcollab", "scikit_learn", "numpy", "dask", "distributed", "python"}
    unsharded = dc.fit_parallel([GaussianNB()], X_DIGITS, Y_DIGITS, client=client).metadata
    assert unsharded["partition"] is None
    model = dc.StackingClassifier([GaussianNB()], shards=p, random_state=5).fit(X_DIGITS, Y_DIGITS)
    assert model.fit_result_.metadata["random_state"] == 5
    assert model.fit_result_.metadata["partition"]["hash"] == p.hash


def test_shard_models_vote_over_the_global_classes_with_string_labels(client):
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    p = dc.partition(X, labels, 3, scheme="pathological", classes_per_shard=1, seed=0)
    for voting in ("soft", "hard"):
        model = dc.WeightedVotingClassifier([GaussianNB()], voting=voting, shards=p).fit(X, labels)
        assert model.classes_.tolist() == labels[np.sort(np.unique(y, return_index=True)[1])].tolist()
        proba = model.predict_proba(X)
        assert proba.shape == (150, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        for member in model.estimators_:
            assert len(member.classes_) == 1  # each shard saw one class
            aligned = align_proba(member.predict_proba(X), member.classes_, model.classes_)
            assert aligned.shape == (150, 3)
            assert (aligned[:, model.classes_ != member.classes_[0]] == 0).all()
        assert set(model.predict(X)) <= set(labels)


def test_two_of_ten_classes_give_a_ten_column_probability_matrix(client):
    p = dc.partition(X_DIGITS, Y_DIGITS, 5, scheme="pathological", classes_per_shard=2)
    model = dc.WeightedVotingClassifier([LR], shards=p).fit(X_DIGITS, Y_DIGITS)
    member = model.estimators_[0]
    assert len(member.classes_) == 2
    assert model.predict_proba(X_DIGITS[:5]).shape == (5, 10)


def test_n_samples_weights_are_the_shard_shares(client):
    p = dc.partition(X_DIGITS, Y_DIGITS, 3, scheme="dirichlet", alpha=0.3)
    model = dc.WeightedVotingClassifier([GaussianNB()], weights="n_samples", shards=p).fit(X_DIGITS, Y_DIGITS)
    np.testing.assert_allclose(model.weights_, p.sizes / len(Y_DIGITS))
    unsharded = dc.WeightedVotingClassifier([GaussianNB(), LR], weights="n_samples").fit(X_DIGITS, Y_DIGITS)
    np.testing.assert_allclose(unsharded.weights_, [1.0, 1.0])


def test_cross_eval_scores_each_member_on_the_other_shards_where_they_live(client):
    p = dc.partition(X_DIGITS, Y_DIGITS, 3, scheme="dirichlet", alpha=0.3)
    model = dc.WeightedVotingClassifier([GaussianNB()], weights="cross_eval", shards=p).fit(X_DIGITS, Y_DIGITS)
    matrix = model.cross_scores_
    assert matrix.shape == (3, 3)
    assert np.isnan(np.diag(matrix)).all() and not np.isnan(matrix[~np.eye(3, dtype=bool)]).any()
    for i, member in enumerate(model.estimators_):
        for k in range(3):
            if k != i:
                X_k, y_k = p.shard(k)
                assert matrix[i, k] == pytest.approx(member.score(X_k, y_k))
        others = [k for k in range(3) if k != i]
        expected = np.average(matrix[i, others], weights=p.sizes[others])
        assert model.weights_[i] == pytest.approx(expected)
    result = model.fit_result_
    evaluations = [t for t in result.timings if t.kind.startswith("accuracy-on-shard")]
    assert len(evaluations) == 6
    for timing in evaluations:
        assert timing.worker == result.shard_workers[int(timing.kind.rsplit("shard", 1)[1])]
        assert timing.kind != f"accuracy-on-shard{result.member_shards[timing.name]}"


def test_accuracy_weights_use_each_shards_own_holdout(client):
    p = dc.partition(X_DIGITS, Y_DIGITS, 2)
    model = dc.WeightedVotingClassifier([LR], weights="accuracy", shards=p, random_state=0).fit(X_DIGITS, Y_DIGITS)
    assert model.member_scores_.shape == (2,) and (model.member_scores_ > 0.85).all()
    np.testing.assert_allclose(model.weights_, model.member_scores_)


def test_stacking_uses_out_of_fold_probabilities_and_beats_the_soft_vote_on_skewed_shards(client):
    X_train, X_test, y_train, y_test = train_test_split(X_DIGITS, Y_DIGITS, random_state=0, stratify=Y_DIGITS)
    p = dc.partition(X_train, y_train, 4, scheme="dirichlet", alpha=0.1)
    rf = [RandomForestClassifier(50, random_state=0)]
    soft = dc.WeightedVotingClassifier(rf, shards=p).fit(X_train, y_train).score(X_test, y_test)
    stacked = dc.StackingClassifier(rf, shards=p, random_state=0).fit(X_train, y_train)
    assert stacked.score(X_test, y_test) > max(soft, 0.9)
    kinds = {(name, output) for name, output, _ in stacked.fit_result_.evaluations}
    assert {output for _, output in kinds} == {"oof_proba", "proba"}
    for name, output, shard in stacked.fit_result_.evaluations:
        assert (output == "oof_proba") == (shard == stacked.fit_result_.member_shards[name])
    assert stacked.final_estimator_.n_features_in_ == 4 * 10


def test_stacking_in_sample_predictions_only_when_asked_and_with_a_warning(client):
    X, y = load_iris(return_X_y=True)
    with pytest.warns(UserWarning, match="in_sample"):
        model = dc.StackingClassifier([DecisionTreeClassifier(random_state=0)], cv="in_sample").fit(X, y)
    assert {output for _, output, _ in model.fit_result_.evaluations} == {"proba"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dc.StackingClassifier([DecisionTreeClassifier(random_state=0)]).fit(X, y)


def test_sharded_fit_on_pandas_and_dask(client):
    X, y = load_iris(return_X_y=True, as_frame=True)
    p = dc.partition(X, y, 2)
    model = dc.WeightedVotingClassifier([GaussianNB()], shards=p).fit(X, y)
    assert list(model.feature_names_in_) == list(X.columns)
    assert model.score(X, y) > 0.9

    dX = da.from_array(X_DIGITS, chunks=(600, 64))
    dy = da.from_array(Y_DIGITS, chunks=600)
    blocks = dc.partition(dX, dy)
    voted = dc.WeightedVotingClassifier([GaussianNB()], weights="cross_eval", shards=blocks).fit(dX, dy)
    assert len(voted.estimators_) == 3 and voted.cross_scores_.shape == (3, 3)
    predicted = voted.predict(dX)
    assert isinstance(predicted, da.Array)
    assert (predicted.compute() == Y_DIGITS).mean() > 0.7
    stacked = dc.StackingClassifier([GaussianNB()], shards=blocks, random_state=0).fit(dX, dy)
    assert (stacked.predict(X_DIGITS) == Y_DIGITS).mean() > 0.8

    frame = dd.from_pandas(pd.DataFrame(X_DIGITS).add_prefix("px"), npartitions=2)
    labels = dd.from_pandas(pd.Series(Y_DIGITS, name="digit"), npartitions=2)
    result = dc.fit_parallel([GaussianNB()], frame, labels, shards=dc.partition(frame, labels), client=client)
    assert len(result.shard_workers) == 2
    assert list(result.estimators[0][1].feature_names_in_)[:2] == ["px0", "px1"]


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: dc.fit_parallel([GaussianNB()], X_DIGITS, Y_DIGITS, shards=0), ValueError, "n_shards"),
        (lambda: dc.fit_parallel([GaussianNB()], X_DIGITS, Y_DIGITS, shards="4"), TypeError, "shards"),
        (
            lambda: dc.fit_parallel(
                [GaussianNB()], X_DIGITS[:100], Y_DIGITS[:100], shards=dc.partition(X_DIGITS, Y_DIGITS, 2)
            ),
            ValueError,
            "shards",
        ),
        (
            lambda: dc.WeightedVotingClassifier([GaussianNB()], weights="cross_eval").fit(X_DIGITS, Y_DIGITS),
            ValueError,
            "cross_eval",
        ),
        (
            lambda: dc.WeightedVotingClassifier([GaussianNB()], weights="cross_eval", shards=1).fit(X_DIGITS, Y_DIGITS),
            ValueError,
            "cross_eval",
        ),
        (
            lambda: dc.WeightedVotingClassifier([GaussianNB()], shards="all").fit(X_DIGITS, Y_DIGITS),
            ValueError,
            "shards",
        ),
        (lambda: dc.StackingClassifier([GaussianNB()], cv=1).fit(X_DIGITS, Y_DIGITS), ValueError, "cv"),
        (
            lambda: dc.StackingClassifier([("svm", NoProbaClassifier())]).fit(X_DIGITS, Y_DIGITS),
            ValueError,
            "predict_proba",
        ),
        (
            lambda: dc.StackingClassifier([GaussianNB()], final_estimator="lr").fit(X_DIGITS, Y_DIGITS),
            ValueError,
            "final_estimator",
        ),
    ],
)
def test_bad_shard_and_stacking_input_is_named_before_anything_is_sent(client, make, error, match):
    with NothingSent(client), pytest.raises(error, match=match):
        make()


@parametrize_with_checks([dc.StackingClassifier([LogisticRegression(), DecisionTreeClassifier(random_state=0)])])
def test_stacking_passes_scikit_learn_checks(estimator, check, client):
    check(estimator)
