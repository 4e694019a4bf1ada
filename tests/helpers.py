"""Small estimators for tests: module-level so that worker processes can unpickle them."""

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class FailingClassifier(ClassifierMixin, BaseEstimator):
    """Raises in fit; with ``flag_file`` it fails only until that file exists."""

    def __init__(self, flag_file=None):
        self.flag_file = flag_file

    def fit(self, X, y):
        if self.flag_file is not None and Path(self.flag_file).exists():
            self.classes_ = np.unique(y)
            return self
        if self.flag_file is not None:
            Path(self.flag_file).touch()
        raise RuntimeError("boom: this member always fails")

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class FailingProbaClassifier(FailingClassifier):
    """A FailingClassifier that claims probabilities, to stand in a soft vote."""

    def predict_proba(self, X):
        return np.ones((len(X), len(self.classes_))) / len(self.classes_)


class NoProbaClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the first class; has no predict_proba."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class WeightRecorder(ClassifierMixin, BaseEstimator):
    """Remembers what fit was given (rows, labels, sample weights); predicts the first class."""

    def fit(self, X, y, sample_weight=None):
        self.X_seen_, self.y_seen_, self.weight_seen_ = np.asarray(X), np.asarray(y), sample_weight
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])
