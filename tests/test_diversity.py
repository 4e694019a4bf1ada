"""diversity: pairwise disagreement, error correlation and double fault, checked by hand."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.tree import DecisionTreeClassifier

import daskcollab as dc

X = np.zeros((4, 1))
Y = np.array([0, 0, 1, 1])


class Fixed(DummyClassifier):
    """Predicts a fixed label sequence (for hand-computed cases)."""

    def __init__(self, labels=None):
        super().__init__(strategy="most_frequent")
        self.labels = labels

    def predict(self, X):
        return np.asarray(self.labels)


def ensemble(*sequences):
    members = [(f"m{i}", Fixed(labels=s).fit(X, Y)) for i, s in enumerate(sequences)]
    return dc.WeightedVotingClassifier.from_estimators(members, voting="hard")


def test_hand_computed_pairs():
    table = diversity_of([0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 1, 1])
    first = table.iloc[0]  # m0 vs m1: differ on row 1; errors (row 3) and (rows 1, 3)
    assert (first.member_a, first.member_b) == ("m0", "m1")
    assert first.disagreement == 0.25
    assert first.double_fault == 0.25
    assert first.error_correlation == pytest.approx(np.corrcoef([0, 0, 0, 1], [0, 1, 0, 1])[0, 1])
    assert np.isnan(table.iloc[1].error_correlation)  # m2 makes no error
    assert len(table) == 3


def test_identical_members_never_disagree():
    X_iris, y_iris = load_iris(return_X_y=True)
    trees = [DecisionTreeClassifier(max_depth=1, random_state=0).fit(X_iris, y_iris) for _ in range(3)]
    table = dc.diversity(dc.WeightedVotingClassifier.from_estimators(trees, voting="hard"), X_iris, y_iris)
    assert (table["disagreement"] == 0).all()
    np.testing.assert_allclose(table["error_correlation"], 1.0)
    np.testing.assert_allclose(table["double_fault"], 1 / 3)


def diversity_of(*sequences):
    return dc.diversity(ensemble(*sequences), X, Y)
