"""Data sets that ship with scikit-learn or are generated: no network needed."""

from __future__ import annotations

from sklearn import datasets

__all__ = ["DATASETS", "load_dataset"]

DATASETS = ("iris", "wine", "breast_cancer", "digits", "synthetic")


def load_dataset(name, *, random_state=0):
    """Return ``(X, y, description)`` for one of :data:`DATASETS`.

    ``"synthetic"`` is ``make_classification`` with 20 000 rows, 40 features
    and 3 classes (the core benchmark's data).

    Examples
    --------
    >>> X, y, text = load_dataset("iris")
    >>> X.shape, text
    ((150, 4), 'iris: 150 rows x 4 features, 3 classes')
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}.")
    if name == "synthetic":
        X, y = datasets.make_classification(
            n_samples=20_000, n_features=40, n_informative=20, n_classes=3, random_state=random_state
        )
    else:
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, y, f"{name}: {X.shape[0]} rows x {X.shape[1]} features, {len(set(y))} classes"
