"""One matrix of bad inputs across the public API.

Each raises the documented exception, with a message that names the
argument, before any work reaches the cluster, and leaves no process behind.
"""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

import daskcollab as dc
from tests.conftest import NothingLeaked, NothingSent

X, Y = load_iris(return_X_y=True)
TREE = [DecisionTreeClassifier()]
FITTED = DecisionTreeClassifier(random_state=0).fit(X, Y)
SHARDS = dc.partition(X, Y, 3)
SPEEDUP = dc.SpeedupResult({1: [1.0], 2: [0.6]}, n_fits=2, cores=2)

CASES = {
    # start_cluster
    "start_cluster n_workers=0": (lambda: dc.start_cluster(n_workers=0), ValueError, "n_workers"),
    "start_cluster threads_per_worker=-1": (
        lambda: dc.start_cluster(threads_per_worker=-1),
        ValueError,
        "threads_per_worker",
    ),
    "start_cluster dashboard='yes'": (lambda: dc.start_cluster(dashboard="yes"), TypeError, "dashboard"),
    "start_cluster address without scheme": (lambda: dc.start_cluster("127.0.0.1:8786"), ValueError, "address"),
    "start_cluster address and n_workers": (
        lambda: dc.start_cluster("tcp://127.0.0.1:1", n_workers=2),
        ValueError,
        "n_workers",
    ),
    # fit_parallel
    "fit_parallel no estimators": (lambda: dc.fit_parallel([], X, Y), ValueError, "estimators"),
    "fit_parallel not an estimator": (lambda: dc.fit_parallel(["tree"], X, Y), TypeError, "estimators"),
    "fit_parallel 1-D X": (lambda: dc.fit_parallel(TREE, X[:, 0], Y), ValueError, "X must be 2-D"),
    "fit_parallel X and y lengths": (lambda: dc.fit_parallel(TREE, X, Y[:10]), ValueError, "X and y"),
    "fit_parallel seeds=0": (lambda: dc.fit_parallel(TREE, X, Y, seeds=0), ValueError, "seeds"),
    "fit_parallel on_error": (lambda: dc.fit_parallel(TREE, X, Y, on_error="ignore"), ValueError, "on_error"),
    "fit_parallel retries=-1": (lambda: dc.fit_parallel(TREE, X, Y, retries=-1), ValueError, "retries"),
    "fit_parallel shards too many": (lambda: dc.fit_parallel(TREE, X, Y, shards=1000), ValueError, "n_shards"),
    # WeightedVotingClassifier
    "voting='maybe'": (lambda: dc.WeightedVotingClassifier(TREE, voting="maybe").fit(X, Y), ValueError, "voting"),
    "weights of the wrong length": (
        lambda: dc.WeightedVotingClassifier(TREE, weights=[1, 2]).fit(X, Y),
        ValueError,
        "weights",
    ),
    "negative weights": (lambda: dc.WeightedVotingClassifier(TREE, weights=[-1]).fit(X, Y), ValueError, "weights"),
    "cross_eval without shards": (
        lambda: dc.WeightedVotingClassifier(TREE, weights="cross_eval").fit(X, Y),
        ValueError,
        "cross_eval",
    ),
    "soft vote without predict_proba": (
        lambda: dc.WeightedVotingClassifier([SGDClassifier()], voting="soft").fit(X, Y),
        ValueError,
        "predict_proba",
    ),
    # partition
    "partition n_shards=0": (lambda: dc.partition(X, Y, 0), ValueError, "n_shards"),
    "partition alpha=0": (lambda: dc.partition(X, Y, 3, scheme="dirichlet", alpha=0.0), ValueError, "alpha"),
    "partition scheme": (lambda: dc.partition(X, Y, 3, scheme="random"), ValueError, "scheme"),
    # fedavg
    "fedavg of a forest": (lambda: dc.fedavg(RandomForestClassifier(), SHARDS), TypeError, "partial_fit"),
    "fedavg rounds=0": (lambda: dc.fedavg(SGDClassifier(), SHARDS, rounds=0), ValueError, "rounds"),
    "fedavg shards of different widths": (
        lambda: dc.Partition.from_shards([(X[:50], Y[:50]), (X[50:, :3], Y[50:])]),
        ValueError,
        "feature counts",
    ),
    # distill
    "distill soft into kNN": (lambda: dc.distill(FITTED, KNeighborsClassifier(), X), TypeError, "sample_weight"),
    "distill an unfitted teacher": (
        lambda: dc.distill(DecisionTreeClassifier(), SGDClassifier(), X),
        ValueError,
        "teacher",
    ),
    # measure_speedup
    "measure_speedup workers=[0]": (lambda: dc.measure_speedup(TREE, X, Y, workers=[0]), ValueError, "workers"),
    "measure_speedup repeats=0": (lambda: dc.measure_speedup(TREE, X, Y, repeats=0), ValueError, "repeats"),
    # plots
    "plot_speedup efficiency with one Axes": (
        lambda: dc.plot_speedup(SPEEDUP, ax=_one_axes(), efficiency=True),
        ValueError,
        "two Axes",
    ),
    "plot_weights of an unfitted model": (
        lambda: dc.plot_weights(dc.WeightedVotingClassifier(TREE)),
        NotFittedError,
        "not fitted",
    ),
}


def _one_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def test_the_matrix_covers_the_public_api():
    assert len(CASES) >= 20
    covered = {name.split()[0].split("=")[0] for name in CASES}
    for area in ("start_cluster", "fit_parallel", "partition", "fedavg", "distill", "measure_speedup"):
        assert area in covered, area
    assert any(name.startswith("plot_") for name in CASES)
    assert any("vot" in name or "weights" in name for name in CASES)


@pytest.mark.parametrize("make, error, match", CASES.values(), ids=CASES.keys())
def test_bad_input_is_named_before_any_work_and_leaves_nothing(client, make, error, match):
    with NothingLeaked(), NothingSent(client), pytest.raises(error, match=match):
        make()
    assert np.isfinite(X).all()  # the shared data were not touched
