"""How learned weights use the held-out rows, and what that buys in accuracy.

Run ``python benchmarks/weights_accuracy.py`` (``--quick`` for a smoke run).

For each data set and each of ``--seeds`` train/test splits, the same
heterogeneous committee is combined by soft voting with:

- equal weights (every member trained on all training rows);
- ``weights="accuracy"`` / ``"logodds"`` with ``refit=True`` (the default): a
  copy of each member is scored on a held-out 20 %, and the member used for
  prediction is trained on all rows, in the same parallel wave;
- the same with ``refit=False``: members trained on the other 80 % only.

The table gives test accuracy, mean ± std over the splits, next to the best
and the mean single member (trained on all rows).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import daskcollab as dc
from daskcollab.datasets import load_dataset


def committee():
    return [
        ("logreg", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
        ("naivebayes", GaussianNB()),
        ("tree", DecisionTreeClassifier(random_state=0)),
        ("knn", make_pipeline(StandardScaler(), KNeighborsClassifier(15))),
        ("forest", RandomForestClassifier(n_estimators=50, random_state=0)),
        ("mlp", make_pipeline(StandardScaler(), MLPClassifier((10,), solver="sgd", max_iter=300, random_state=0))),
    ]


VARIANTS = {
    "equal weights": dict(weights=None),
    "accuracy, refit=True": dict(weights="accuracy", refit=True),
    "accuracy, refit=False": dict(weights="accuracy", refit=False),
    "logodds, refit=True": dict(weights="logodds", refit=True),
    "logodds, refit=False": dict(weights="logodds", refit=False),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="train/test splits per data set (default 5)")
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["digits", "wine", "breast_cancer"],
        help="data sets (default: digits wine breast_cancer)",
    )
    parser.add_argument("--quick", action="store_true", help="one split of iris, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.datasets = 1, ["iris"]
    warnings.filterwarnings("ignore", message=".*Maximum iterations")  # the small MLP stops early on purpose
    rows = []
    with dc.start_cluster(n_workers=2, dashboard=False):
        for name in args.datasets:
            X, y, _ = load_dataset(name)
            for seed in range(args.seeds):
                X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
                for variant, params in VARIANTS.items():
                    model = dc.WeightedVotingClassifier(committee(), random_state=seed, **params).fit(X_train, y_train)
                    rows.append(dict(dataset=name, seed=seed, method=variant, accuracy=model.score(X_test, y_test)))
                    if variant == "equal weights":
                        member = [np.mean(est.predict(X_test) == y_test) for est in model.estimators_]
                        rows.append(
                            dict(
                                dataset=name,
                                seed=seed,
                                method="best single member (picked on test)",
                                accuracy=max(member),
                            )
                        )
                        rows.append(
                            dict(dataset=name, seed=seed, method="mean single member", accuracy=np.mean(member))
                        )
    frame = pd.DataFrame(rows)
    table = frame.groupby(["dataset", "method"], sort=False)["accuracy"].agg(["mean", "std"]).unstack("dataset")
    cells = table["mean"].map("{:.4f}".format) + " ± " + table["std"].fillna(0).map("{:.4f}".format)
    print(f"test accuracy, mean ± std over {args.seeds} splits (30 % test), soft voting, 6 members")
    print(cells.to_string())
    return table


if __name__ == "__main__":
    main()
