"""fedavg: local rounds on each shard's worker, n_k/n averaging, global classes."""

import numpy as np
import pandas as pd
import pytest
from distributed import get_task_stream
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Perceptron, SGDClassifier

import daskcollab as dc
from daskcollab.fedavg import average_linear_models
from tests.conftest import NothingSent

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS / 16.0


def test_one_shard_is_local_training(client):
    p = dc.partition(X_DIGITS, Y_DIGITS, 1)
    model, history, _ = dc.fedavg(SGDClassifier(random_state=0), p, rounds=3, local_epochs=2, client=client)
    local = SGDClassifier(random_state=0)
    for _ in range(6):
        local.partial_fit(X_DIGITS, Y_DIGITS, classes=np.unique(Y_DIGITS))
    np.testing.assert_array_equal(model.coef_, local.coef_)
    np.testing.assert_array_equal(model.intercept_, local.intercept_)
    assert len(history) == 3 and "val_accuracy" not in history


def test_average_weights_are_shard_sizes():
    a = SGDClassifier().fit(X_DIGITS[:50], Y_DIGITS[:50])
    b = SGDClassifier().fit(X_DIGITS[50:120], Y_DIGITS[50:120])
    averaged = average_linear_models([a, b], [50, 70])
    np.testing.assert_allclose(averaged.coef_, (50 * a.coef_ + 70 * b.coef_) / 120)
    np.testing.assert_allclose(averaged.intercept_, (50 * a.intercept_ + 70 * b.intercept_) / 120)
    assert a.coef_ is not averaged.coef_


@pytest.mark.parametrize("estimator", [SGDClassifier(random_state=0), Perceptron(random_state=0), LogisticRegression()])
def test_shards_missing_classes_still_average_over_all_classes(client, estimator):
    p = dc.partition(X_DIGITS, Y_DIGITS, 5, scheme="pathological", classes_per_shard=2)
    model, history, meta = dc.fedavg(estimator, p, rounds=4, client=client, X_val=X_DIGITS, y_val=Y_DIGITS)
    assert model.coef_.shape == (10, 64) and model.classes_.tolist() == list(range(10))
    assert history["round"].tolist() == [1, 2, 3, 4]
    assert history["val_accuracy"].iloc[-1] > 0.3  # chance is 0.1; each shard alone knows 2 classes
    assert meta["partition"]["scheme"] == "pathological" and meta["rounds"] == 4


def test_iid_fedavg_learns_and_each_shard_trains_on_its_own_worker(client):
    p = dc.partition(X_DIGITS, Y_DIGITS, 4)
    with get_task_stream(client=client) as stream:
        model, history, _ = dc.fedavg(
            LogisticRegression(), p, rounds=5, local_epochs=5, client=client, X_val=X_DIGITS, y_val=Y_DIGITS
        )
    assert history["val_accuracy"].iloc[-1] > max(0.9, history["val_accuracy"].iloc[0])
    workers = {}
    for record in stream.data:
        key = str(record["key"])
        if key.startswith("fedavg-round"):
            workers.setdefault(key.split("-")[2], set()).add(record["worker"])
    assert sorted(workers) == [f"shard{k}" for k in range(4)]
    assert all(len(w) == 1 for w in workers.values())  # every round of a shard ran on its worker
    assert len(set.union(*workers.values())) == 2


def test_pandas_shards(client):
    X, y = load_iris(return_X_y=True, as_frame=True)
    model, _, _ = dc.fedavg(SGDClassifier(random_state=0), dc.partition(X, y, 2), rounds=2, client=client)
    assert list(model.feature_names_in_) == list(X.columns)
    assert model.predict(X).shape == (150,)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda p: dc.fedavg(RandomForestClassifier(), p), TypeError, "SGDClassifier"),
        (lambda p: dc.fedavg(SGDClassifier(), (X_DIGITS, Y_DIGITS)), TypeError, "partition"),
        (lambda p: dc.fedavg(SGDClassifier(), p, rounds=0), ValueError, "rounds"),
        (lambda p: dc.fedavg(SGDClassifier(), p, local_epochs=1.5), ValueError, "local_epochs"),
        (lambda p: dc.fedavg(SGDClassifier(), p, X_val=X_DIGITS), ValueError, "y_val"),
        (lambda p: dc.fedavg(SGDClassifier(), p, X_val=X_DIGITS[:, :3], y_val=Y_DIGITS), ValueError, "features"),
        (
            lambda p: dc.Partition.from_shards(
                [(X_DIGITS[:10], Y_DIGITS[:10]), (X_DIGITS[10:20, :63], Y_DIGITS[10:20])]
            ),
            ValueError,
            "feature counts",
        ),
    ],
)
def test_bad_input_is_named_before_anything_is_sent(client, make, error, match):
    p = dc.partition(X_DIGITS, Y_DIGITS, 2)
    with NothingSent(client), pytest.raises(error, match=match):
        make(p)


def test_shards_given_as_separate_sites(client):
    sites = [(X_DIGITS[i::3], Y_DIGITS[i::3]) for i in range(3)]
    p = dc.Partition.from_shards(sites)
    assert p.scheme == "given" and p.sizes.tolist() == [len(s[1]) for s in sites]
    model, _, _ = dc.fedavg(SGDClassifier(random_state=0), p, rounds=3, client=client)
    assert (model.predict(X_DIGITS) == Y_DIGITS).mean() > 0.85
    frames = dc.Partition.from_shards([(pd.DataFrame(x), pd.Series(y)) for x, y in sites])
    assert isinstance(frames.X, pd.DataFrame) and len(frames.X) == len(Y_DIGITS)
