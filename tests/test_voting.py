import warnings

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

import daskcollab as dc
from daskcollab.combine import weights_from_scores
from tests.conftest import NothingSent
from tests.helpers import NoProbaClassifier

X_AB = np.zeros((10, 2))
Y_AB = np.array(["a"] * 6 + ["b"] * 4)


def three_dummies():
    """Probabilities [0, 1], [0.6, 0.4] and [1, 0]; predictions b, a, a."""
    return [
        ("b", DummyClassifier(strategy="constant", constant="b")),
        ("prior", DummyClassifier(strategy="prior")),
        ("a", DummyClassifier(strategy="constant", constant="a")),
    ]


def test_hand_computed_soft_vote(client):
    model = dc.WeightedVotingClassifier(three_dummies(), voting="soft", weights=[2, 1, 1]).fit(X_AB, Y_AB)
    # (2 * [0, 1] + [0.6, 0.4] + [1, 0]) / 4 = [0.4, 0.6]
    np.testing.assert_allclose(model.predict_proba(X_AB[:1]), [[0.4, 0.6]])
    assert model.predict(X_AB[:1]).tolist() == ["b"]
    assert model.classes_.tolist() == ["a", "b"]


def test_hand_computed_hard_vote(client):
    model = dc.WeightedVotingClassifier(three_dummies(), voting="hard", weights=[3, 1, 1]).fit(X_AB, Y_AB)
    # votes: b gets 3, a gets 1 + 1 = 2
    np.testing.assert_allclose(model.predict_proba(X_AB[:1]), [[0.4, 0.6]])
    assert model.predict(X_AB[:1]).tolist() == ["b"]


@pytest.mark.parametrize("labels", [np.array(["a", "b"]), np.array([7, 3])])
def test_hard_vote_tie_goes_to_the_first_class(client, labels):
    y = np.repeat(labels, 5)
    members = [
        DummyClassifier(strategy="constant", constant=labels[0]),
        DummyClassifier(strategy="constant", constant=labels[1]),
    ]
    model = dc.WeightedVotingClassifier(members, voting="hard").fit(np.zeros((10, 1)), y)
    np.testing.assert_allclose(model.predict_proba(np.zeros((1, 1))), [[0.5, 0.5]])
    assert model.predict(np.zeros((1, 1)))[0] == np.sort(labels)[0]


@pytest.mark.parametrize("voting", ["soft", "hard"])
@pytest.mark.parametrize("mapping", [{0: "setosa", 1: "versicolor", 2: "virginica"}, {0: -5, 1: 10, 2: 1000}])
def test_any_labels_work(client, voting, mapping):
    X, y = load_iris(return_X_y=True)
    labels = np.vectorize(mapping.get)(y)
    model = dc.WeightedVotingClassifier([LogisticRegression(max_iter=500), GaussianNB()], voting=voting).fit(X, labels)
    assert model.classes_.tolist() == sorted(mapping.values())
    assert model.score(X, labels) > 0.9
    assert set(model.predict(X)) <= set(mapping.values())
    proba = model.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_pandas_input_and_feature_names(client):
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = dc.WeightedVotingClassifier([LogisticRegression(max_iter=500), DecisionTreeClassifier()]).fit(X, y)
    assert list(model.feature_names_in_) == list(X.columns) and model.n_features_in_ == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        assert model.score(X, y) > 0.9
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X.rename(columns=str.upper))


@pytest.mark.parametrize("method", ["accuracy", "logodds"])
def test_learned_weights_follow_the_formula(client, method):
    X, y = make_classification(n_samples=300, n_features=8, n_classes=3, n_informative=4, random_state=0)
    members = [
        ("lr", LogisticRegression(max_iter=500)),
        ("tree", DecisionTreeClassifier(random_state=0)),
        ("dummy", DummyClassifier(strategy="stratified", random_state=0)),
    ]
    model = dc.WeightedVotingClassifier(members, weights=method, random_state=0).fit(X, y)
    assert model.member_scores_.shape == (3,)
    assert np.all((0 <= model.member_scores_) & (model.member_scores_ <= 1))
    np.testing.assert_allclose(model.weights_, weights_from_scores(model.member_scores_, method, 3, 60))
    assert model.member_scores_[0] > model.member_scores_[2]
    assert [t.kind for t in model.fit_result_.timings].count("score") == 3
    assert len(model.estimators_) == 3
    # refit=True: the deployed members saw every row
    assert model.named_estimators_["tree"].tree_.n_node_samples[0] == 300


def test_refit_false_trains_members_on_the_training_part_only(client):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    model = dc.WeightedVotingClassifier(
        [("tree", DecisionTreeClassifier())], weights="accuracy", refit=False, validation_size=0.25, random_state=0
    ).fit(X, y)
    assert model.named_estimators_["tree"].tree_.n_node_samples[0] == 150


def test_logodds_weights_by_hand():
    # p = 0.9 with L = 3: log(0.9 * 2 / 0.1) = log(18); worse than chance (p < 1/3) gets 0
    np.testing.assert_allclose(
        weights_from_scores([0.9, 0.2, 1.0], "logodds", 3, 50), [np.log(18), 0.0, np.log(0.99 * 2 / 0.01)]
    )


def test_seeded_replicas_share_a_given_weight(client):
    X, y = load_iris(return_X_y=True)
    model = dc.WeightedVotingClassifier(
        [("t", DecisionTreeClassifier()), ("lr", LogisticRegression(max_iter=500))], seeds=2, weights=[1, 3]
    ).fit(X, y)
    assert list(model.named_estimators_) == ["t-0", "t-1", "lr-0", "lr-1"]
    np.testing.assert_array_equal(model.weights_, [1, 1, 3, 3])


def test_from_estimators_does_not_refit(client):
    X, y = load_iris(return_X_y=True)
    fitted = [LogisticRegression(max_iter=500).fit(X, y), DecisionTreeClassifier(random_state=0).fit(X, y)]
    model = dc.WeightedVotingClassifier.from_estimators(fitted, weights=[1, 3], voting="soft")
    assert model.estimators_[0] is fitted[0] and model.estimators_[1] is fitted[1]
    expected = (fitted[0].predict_proba(X) + 3 * fitted[1].predict_proba(X)) / 4
    np.testing.assert_allclose(model.predict_proba(X), expected)
    assert model.n_features_in_ == 4


def test_from_estimators_aligns_members_that_missed_a_class():
    X, y = load_iris(return_X_y=True)
    two = DecisionTreeClassifier(random_state=0).fit(X[y != 2], y[y != 2])
    three = DecisionTreeClassifier(random_state=0).fit(X, y)
    model = dc.WeightedVotingClassifier.from_estimators([two, three])
    proba = model.predict_proba(X[y == 2][:1])
    np.testing.assert_allclose(proba, [[0.0, 0.5, 0.5]])
    with pytest.raises(ValueError, match="not fitted"):
        dc.WeightedVotingClassifier.from_estimators([DecisionTreeClassifier()])


def test_pipeline_and_grid_search_over_voting_and_weights(client):
    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("vote", dc.WeightedVotingClassifier([("lr", LogisticRegression()), ("nb", GaussianNB())])),
        ]
    )
    grid = GridSearchCV(
        pipe,
        {"vote__voting": ["soft", "hard"], "vote__weights": [None, [2, 1], "accuracy"], "vote__lr__C": [0.1, 1.0]},
        cv=3,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 12
    assert grid.best_score_ > 0.8
    assert grid.best_estimator_[-1].estimators_[0].C in (0.1, 1.0)


def test_get_set_params_and_clone():
    model = dc.WeightedVotingClassifier([("lr", LogisticRegression())], weights=[1])
    params = model.get_params()
    assert params["lr"] is model.estimators[0][1] and params["lr__C"] == 1.0
    model.set_params(lr__C=0.5, voting="hard")
    assert model.estimators[0][1].C == 0.5 and model.voting == "hard"
    copy = clone(model)
    assert copy.get_params(deep=False)["weights"] == [1] and copy.estimators[0][1] is not model.estimators[0][1]
    with pytest.raises(ValueError, match="no member named 'knn'"):
        model.set_params(knn__n_neighbors=3)


def test_dask_in_dask_out(client):
    X, y = load_iris(return_X_y=True)
    model = dc.WeightedVotingClassifier([LogisticRegression(max_iter=500), DecisionTreeClassifier(random_state=0)]).fit(
        X, y
    )
    X_da = da.from_array(X, chunks=(40, 4))
    X_dd = dd.from_pandas(pd.DataFrame(X), npartitions=3)
    for Xd in (X_da, X_dd):
        labels, proba = model.predict(Xd), model.predict_proba(Xd)
        assert isinstance(labels, da.Array) and isinstance(proba, da.Array)
        np.testing.assert_array_equal(labels.compute(), model.predict(X))
        np.testing.assert_allclose(proba.compute(), model.predict_proba(X))
    # two predictions on different inputs must not share output keys
    first, second = dask.compute(model.predict(X_da[:60]), model.predict(X_da[60:]))
    np.testing.assert_array_equal(np.concatenate([first, second]), model.predict(X))


def test_dask_training_data(client):
    X, y = load_iris(return_X_y=True)
    model = dc.WeightedVotingClassifier(
        [LogisticRegression(max_iter=500), GaussianNB()], weights="accuracy", random_state=0
    ).fit(da.from_array(X, chunks=50), da.from_array(y, chunks=50))
    assert model.classes_.tolist() == [0, 1, 2] and model.score(X, y) > 0.9


def test_regressor_weighted_mean(client):
    X = np.zeros((6, 1))
    y = np.arange(6.0)
    members = [DummyRegressor(strategy="constant", constant=1.0), DummyRegressor(strategy="constant", constant=4.0)]
    model = dc.WeightedVotingRegressor(members, weights=[2, 1]).fit(X, y)
    np.testing.assert_allclose(model.predict(X[:2]), [2.0, 2.0])
    Xr, yr = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    learned = dc.WeightedVotingRegressor(
        [LinearRegression(), DecisionTreeRegressor(random_state=0)], weights="inverse_mse", random_state=0
    ).fit(Xr, yr)
    assert learned.weights_[0] > learned.weights_[1]
    np.testing.assert_allclose(learned.weights_, 1 / learned.member_scores_)
    wrapped = dc.WeightedVotingRegressor.from_estimators(learned.estimators_, weights=learned.weights_)
    np.testing.assert_allclose(wrapped.predict(Xr), learned.predict(Xr))


X_OK, Y_OK = make_classification(n_samples=40, n_features=4, random_state=0)
TWO = [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier())]


@pytest.mark.parametrize(
    "kwargs, X, y, error, match",
    [
        (dict(estimators=[]), X_OK, Y_OK, ValueError, "estimators is empty"),
        (dict(weights=[1, 2, 3]), X_OK, Y_OK, ValueError, r"weights must have 2 values, got 3: \[1, 2, 3\]"),
        (dict(weights=[1, -1]), X_OK, Y_OK, ValueError, r"weights must be non-negative, got \[1, -1\]"),
        (dict(weights=[0, 0]), X_OK, Y_OK, ValueError, r"weights must not all be zero, got \[0, 0\]"),
        (dict(weights=[1, np.nan]), X_OK, Y_OK, ValueError, r"weights must be finite numbers, got \[1, nan\]"),
        (dict(weights="f1"), X_OK, Y_OK, ValueError, "'weights' parameter.*Got 'f1'"),
        (dict(voting="majority"), X_OK, Y_OK, ValueError, "'voting' parameter.*Got 'majority'"),
        (dict(seeds=0), X_OK, Y_OK, ValueError, "'seeds' parameter.*Got 0"),
        (dict(validation_size=1.5), X_OK, Y_OK, ValueError, "'validation_size' parameter.*Got 1.5"),
        (
            dict(estimators=[("svc", NoProbaClassifier())]),
            X_OK,
            Y_OK,
            ValueError,
            r"voting='soft' needs predict_proba.*\['svc'\]",
        ),
        ({}, X_OK, np.zeros(40), ValueError, r"y has only one class \(\[0.0\]\)"),
        ({}, X_OK, Y_OK[:30], ValueError, "X has 40 rows, y has 30"),
        ({}, X_OK[:, 0], Y_OK, ValueError, "X must be 2-D"),
        ({}, X_OK, np.linspace(0, 1, 40), ValueError, "Unknown label type"),
    ],
)
def test_bad_input_is_rejected_before_any_task_is_sent(client, kwargs, X, y, error, match):
    kwargs = dict(dict(estimators=TWO), **kwargs)
    with NothingSent(client), pytest.raises(error, match=match):
        dc.WeightedVotingClassifier(**kwargs).fit(X, y)


def test_predict_before_fit_and_with_wrong_width(client):
    from sklearn.exceptions import NotFittedError

    model = dc.WeightedVotingClassifier(TWO)
    with pytest.raises(NotFittedError):
        model.predict(X_OK)
    model.fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="X has 3 features, but WeightedVotingClassifier is expecting 4"):
        model.predict(X_OK[:, :3])


def test_our_code_raises_no_warnings(client):
    X, y = load_iris(return_X_y=True, as_frame=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for weights in (None, "accuracy", "logodds"):
            model = dc.WeightedVotingClassifier(TWO, weights=weights, random_state=0).fit(X, y)
            model.predict(X)
            model.predict_proba(X)
        dc.fit_parallel(TWO, X.to_numpy(), y.to_numpy(), seeds=2)


@parametrize_with_checks(
    [
        dc.WeightedVotingClassifier([("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))]),
        dc.WeightedVotingRegressor([("lin", LinearRegression()), ("tree", DecisionTreeRegressor(random_state=0))]),
    ],
    expected_failed_checks=lambda est: {},
)
def test_scikit_learn_estimator_checks(estimator, check, client):
    check(estimator)


@pytest.mark.parametrize("weights", [None, [1.0, 5.0, 3.0], "accuracy"])
def test_skipped_members_are_left_out_and_the_rest_vote(client, weights):
    from tests.helpers import FailingProbaClassifier

    X, y = load_iris(return_X_y=True)
    members = [("lr", LogisticRegression(max_iter=500)), ("bad", FailingProbaClassifier()), ("nb", GaussianNB())]
    model = dc.WeightedVotingClassifier(members, weights=weights, on_error="skip", random_state=0).fit(X, y)
    assert model.skipped_members_ == ["bad"]
    assert list(model.named_estimators_) == ["lr", "nb"] and len(model.weights_) == 2
    if isinstance(weights, list):
        np.testing.assert_allclose(model.weights_, [1.0, 3.0])
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    expected = (
        model.weights_[0] * model.estimators_[0].predict_proba(X)
        + model.weights_[1] * model.estimators_[1].predict_proba(X)
    ) / model.weights_.sum()
    np.testing.assert_allclose(proba, expected)
    with pytest.raises(RuntimeError, match="fitting member 'bad' failed"):
        dc.WeightedVotingClassifier(members, weights=weights, random_state=0).fit(X, y)


def test_every_member_failing_is_an_error(client):
    from tests.helpers import FailingClassifier

    X, y = load_iris(return_X_y=True)
    with pytest.raises(RuntimeError, match="every member failed"):
        dc.WeightedVotingClassifier([FailingClassifier()], voting="hard", on_error="skip").fit(X, y)
