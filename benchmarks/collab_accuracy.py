"""Accuracy of shard models that learn together, against central training and single shards.

Run ``python benchmarks/collab_accuracy.py`` (``--quick`` for a smoke run).

For each of ``--seeds`` seeds, digits (1797 images, 10 classes; pixels scaled
by 1/16) is split 75/25 into train and test (stratified), and the training
rows are partitioned into 4 shards with that seed, each shard on one worker
of a local 2-worker cluster. Every row of the table gives test accuracy, mean
± std over the seeds, beside:

- central: the same estimator trained on all training rows in one place;
- best shard / mean shard: that estimator trained on one shard only.

Settings (the targets of issue #3):

1. 4 IID shards, LogisticRegression members, soft vote.
2. 4 Dirichlet(0.1) shards, RandomForest(100) members: soft and hard votes,
   ``n_samples`` and ``cross_eval`` weights, and stacking on out-of-fold and
   cross-evaluated probabilities.
3. fedavg of LogisticRegression over the IID shards (20 rounds of 5 solver
   iterations), against the soft vote over the same shards.
4. A LogisticRegression student distilled (soft labels) from the stacked
   Dirichlet ensemble on the training rows, against LogisticRegression on one
   of those shards.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import daskcollab as dc

N_SHARDS = 4


def run_seed(seed, trees, client):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    lr = LogisticRegression(max_iter=2000)
    rf = RandomForestClassifier(trees, random_state=seed)
    iid = dc.partition(X_train, y_train, N_SHARDS, seed=seed)
    skewed = dc.partition(X_train, y_train, N_SHARDS, scheme="dirichlet", alpha=0.1, seed=seed)

    def score(model):
        return float(model.score(X_test, y_test))

    def references(estimator, shards):
        """Central model, and the estimator on each shard alone (shard models come from the fit itself)."""
        central = score(clone(estimator).fit(X_train, y_train))
        alone = [score(clone(estimator).fit(X_k, y_k)) for X_k, y_k in shards]
        return dict(central=central, best_shard=max(alone), mean_shard=float(np.mean(alone)))

    rows = []

    def add(setting, method, accuracy, refs):
        rows.append(dict(setting=setting, method=method, accuracy=accuracy, **refs, seed=seed))

    iid_lr = references(lr, iid)
    soft_iid = score(dc.WeightedVotingClassifier([("lr", lr)], shards=iid).fit(X_train, y_train))
    add("1. IID, LogisticRegression", "soft vote", soft_iid, iid_lr)

    skewed_rf = references(rf, skewed)
    setting = "2. Dirichlet 0.1, RandomForest"
    for method, kwargs in [
        ("soft vote", dict(voting="soft")),
        ("hard vote", dict(voting="hard")),
        ("soft vote, n_samples weights", dict(weights="n_samples")),
        ("soft vote, cross_eval weights", dict(weights="cross_eval")),
    ]:
        model = dc.WeightedVotingClassifier([("rf", rf)], shards=skewed, **kwargs).fit(X_train, y_train)
        add(setting, method, score(model), skewed_rf)
    stacked = dc.StackingClassifier([("rf", rf)], shards=skewed, random_state=seed).fit(X_train, y_train)
    add(setting, "stacking (out-of-fold + cross-evaluated)", score(stacked), skewed_rf)

    model, history, _ = dc.fedavg(lr, iid, rounds=20, local_epochs=5, client=client)
    add("3. IID, LogisticRegression", "fedavg (20 rounds x 5 iterations)", score(model), iid_lr)
    rows[-1]["vs_soft_vote"] = rows[-1]["accuracy"] - soft_iid

    student = dc.distill(stacked, lr, X_train, client=client)
    add(
        "4. Dirichlet 0.1, LogisticRegression",
        "student distilled from stacking",
        score(student),
        references(lr, skewed),
    )
    return rows


def summarize(frame):
    def mean_std(values):
        return f"{values.mean():.3f} ± {values.std(ddof=0):.3f}"

    grouped = frame.groupby(["setting", "method"], sort=False)
    table = grouped.agg(
        accuracy=("accuracy", mean_std),
        central=("central", mean_std),
        best_shard=("best_shard", mean_std),
        mean_shard=("mean_shard", mean_std),
    )
    if "vs_soft_vote" in frame:
        table["vs soft vote"] = grouped["vs_soft_vote"].mean().map(lambda v: "" if np.isnan(v) else f"{v:+.3f}")
    return table.reset_index()


def markdown(table):
    """The table as Markdown, ready for the README."""
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds (splits and partitions), default 5")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 20 trees: a smoke run")
    parser.add_argument("--json", help="also write the per-seed rows and the table to this file")
    args = parser.parse_args(argv)
    seeds, trees = (2, 20) if args.quick else (args.seeds, 100)
    rows = []
    with dc.start_cluster(n_workers=2) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for seed in range(seeds):
            rows += run_seed(seed, trees, client)
    frame = pd.DataFrame(rows)
    table = summarize(frame)
    print(f"digits, {N_SHARDS} shards, test accuracy mean ± std over {seeds} seeds ({trees} trees per forest)\n")
    print(markdown(table))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(dict(rows=rows, table=table.to_dict(orient="records")), out, indent=1)
    return table


if __name__ == "__main__":
    main()
