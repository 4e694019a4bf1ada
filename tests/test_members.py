import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from daskcollab.members import name_members, replicate_seeds


def test_unnamed_members_are_named_after_their_class():
    named = name_members([LogisticRegression(), DecisionTreeClassifier(), DecisionTreeClassifier()])
    assert [n for n, _ in named] == ["logisticregression", "decisiontreeclassifier-1", "decisiontreeclassifier-2"]


def test_pairs_and_dicts_keep_their_names():
    assert [n for n, _ in name_members([("lr", LogisticRegression()), DecisionTreeClassifier()])] == [
        "lr",
        "decisiontreeclassifier",
    ]
    assert [n for n, _ in name_members({"a": LogisticRegression()})] == ["a"]


@pytest.mark.parametrize(
    "estimators, error, match",
    [
        ([], ValueError, "estimators is empty"),
        ([("a", LogisticRegression()), ("a", DecisionTreeClassifier())], ValueError, r"duplicate member names \['a'\]"),
        (
            [LogisticRegression(), "not a model"],
            TypeError,
            r"estimators\[1\] is not a scikit-learn estimator.*'not a model'",
        ),
        ([("a__b", LogisticRegression())], ValueError, "must not contain '__'"),
        ("lr", TypeError, "estimators must be a list"),
        (None, TypeError, "estimators must be a list"),
    ],
)
def test_bad_member_lists_are_named_in_the_error(estimators, error, match):
    with pytest.raises(error, match=match):
        name_members(estimators)


def test_seeds_replicate_and_set_every_random_state():
    members = name_members([("rf", make_pipeline(StandardScaler(), RandomForestClassifier()))])
    replicas = replicate_seeds(members, 3)
    assert [n for n, _ in replicas] == ["rf-0", "rf-1", "rf-2"]
    assert [est[-1].random_state for _, est in replicas] == [0, 1, 2]
    assert members[0][1][-1].random_state is None  # the user's estimator is untouched


def test_explicit_seed_list():
    replicas = replicate_seeds([("t", DecisionTreeClassifier())], [7, 11])
    assert [(n, e.random_state) for n, e in replicas] == [("t-7", 7), ("t-11", 11)]


def test_member_without_random_state_warns_that_replicas_are_identical():
    with pytest.warns(UserWarning, match="'knn'.*no random_state.*2 seeded replicas will be identical"):
        replicate_seeds([("knn", KNeighborsClassifier())], 2)


@pytest.mark.parametrize("seeds", [0, -1, True, [], [1, 1], ["a"], 2.5])
def test_bad_seeds(seeds):
    with pytest.raises((ValueError, TypeError), match="seeds"):
        replicate_seeds([("t", DecisionTreeClassifier())], seeds)
