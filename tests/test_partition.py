"""partition(): schemes, determinism, coverage, summaries, dask blocks, bad input."""

import copy

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris

import daskcollab as dc

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)


def every_row_once(p, n):
    rows = np.concatenate(p.indices)
    return len(rows) == n and np.array_equal(np.sort(rows), np.arange(n))


@pytest.mark.parametrize(
    "scheme, kwargs",
    [("iid", {}), ("dirichlet", {"alpha": 0.1}), ("dirichlet", {"alpha": 100.0}), ("pathological", {})],
)
def test_every_row_lands_in_exactly_one_shard_and_seed_decides(scheme, kwargs):
    a = dc.partition(X_DIGITS, Y_DIGITS, 5, scheme=scheme, seed=3, **kwargs)
    b = dc.partition(X_DIGITS, Y_DIGITS, 5, scheme=scheme, seed=3, **kwargs)
    c = dc.partition(X_DIGITS, Y_DIGITS, 5, scheme=scheme, seed=4, **kwargs)
    assert every_row_once(a, len(Y_DIGITS))
    assert all(np.array_equal(i, j) for i, j in zip(a.indices, b.indices))
    assert a.hash == b.hash
    assert not all(np.array_equal(i, j) for i, j in zip(a.indices, c.indices))
    assert a.hash != c.hash
    assert a.n_shards == len(a) == 5 and a.sizes.sum() == len(Y_DIGITS)


def test_iid_shards_have_equal_sizes():
    p = dc.partition(X_DIGITS, Y_DIGITS, 4)
    assert sorted(p.sizes.tolist()) == [449, 449, 449, 450]


def test_alpha_controls_label_skew():
    skew = {
        alpha: dc.partition(X_DIGITS, Y_DIGITS, 4, scheme="dirichlet", alpha=alpha).summary()["emd"].mean()
        for alpha in (0.05, 1.0, 1000.0)
    }
    assert skew[0.05] > 0.5 > skew[1.0] > skew[1000.0]
    assert skew[1000.0] < 0.05
    few = dc.partition(X_DIGITS, Y_DIGITS, 4, scheme="dirichlet", alpha=0.05).summary()
    # small alpha: most of each shard's rows come from a few classes
    top_two = np.sort(few.filter(like="class ").to_numpy(), axis=1)[:, -2:].sum(axis=1) / few["rows"]
    assert top_two.mean() > 0.7


def test_pathological_shards_hold_their_number_of_classes():
    p = dc.partition(X_DIGITS, Y_DIGITS, 5, scheme="pathological", classes_per_shard=2)
    held = (p.summary().filter(like="class ") > 0).sum(axis=1)
    assert held.tolist() == [2] * 5


def test_summary_columns_and_values_on_a_hand_made_case():
    X = np.zeros((6, 1))
    y = np.array(["a", "a", "b", "b", "c", "c"])
    p = dc.partition(X, y, 3, scheme="pathological", classes_per_shard=1)
    summary = p.summary()
    assert list(summary.columns) == ["rows", "class a", "class b", "class c", "entropy", "emd"]
    assert summary["rows"].tolist() == [2, 2, 2]
    assert summary["entropy"].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(summary["emd"], 2 / 3)  # half the L1 distance from (1, 0, 0) to (1/3, 1/3, 1/3)
    iid = dc.partition(np.zeros((8, 1)), np.array([0, 1] * 4), 2, scheme="pathological", classes_per_shard=2)
    np.testing.assert_allclose(iid.summary()["entropy"], 1.0)  # a 50/50 mix is one bit
    np.testing.assert_allclose(iid.summary()["emd"], 0.0)
    assert "<table" in p._repr_html_() and "pathological" in repr(p)


def test_shards_keep_pandas_rows_and_clone_shares_data():
    X, y = load_iris(return_X_y=True, as_frame=True)
    p = dc.partition(X, y, 3)
    X0, y0 = p.shard(0)
    assert isinstance(X0, pd.DataFrame) and list(X0.columns) == list(X.columns)
    assert X0.index.equals(y0.index)
    copied = copy.deepcopy(p)
    assert copied.X is X and copied.hash == p.hash
    cloned = clone(dc.WeightedVotingClassifier([], shards=p)).shards
    assert cloned is not p and cloned.X is X


def test_dask_blocks_are_the_shards_without_gathering():
    X = da.from_array(X_DIGITS, chunks=(500, 16))
    y = da.from_array(Y_DIGITS, chunks=500)
    p = dc.partition(X, y)
    assert p.scheme == "blocks" and p.n_shards == 4 and p.indices is None
    assert p.sizes.tolist() == [500, 500, 500, 297]
    assert p.summary().filter(like="class ").to_numpy().sum() == len(Y_DIGITS)
    frame = dd.from_pandas(pd.DataFrame(X_DIGITS), npartitions=3)
    labels = dd.from_pandas(pd.Series(Y_DIGITS), npartitions=3)
    assert dc.partition(frame, labels).n_shards == 3


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_shards=0), ValueError, "n_shards"),
        (dict(n_shards=len(Y_DIGITS) + 1), ValueError, "n_shards"),
        (dict(n_shards=2.5), ValueError, "n_shards"),
        (dict(n_shards=4, scheme="dirichlet", alpha=0), ValueError, "alpha"),
        (dict(n_shards=4, scheme="dirichlet", alpha=-1.0), ValueError, "alpha"),
        (dict(n_shards=4, scheme="random"), ValueError, "scheme"),
        (dict(n_shards=4, seed=-1), ValueError, "seed"),
        (dict(n_shards=4, min_size=0), ValueError, "min_size"),
        (dict(n_shards=4, scheme="pathological", classes_per_shard=2), ValueError, "classes_per_shard"),
        (dict(n_shards=3, scheme="pathological", classes_per_shard=11), ValueError, "classes_per_shard"),
        (dict(n_shards=40, scheme="dirichlet", alpha=0.01, min_size=40), ValueError, "min_size"),
        (dict(n_shards=len(Y_DIGITS), scheme="pathological", classes_per_shard=1), ValueError, "min_size"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        dc.partition(X_DIGITS, Y_DIGITS, **kwargs)


def test_bad_dask_partitions_are_named():
    X = da.from_array(X_DIGITS, chunks=(500, 64))
    y = da.from_array(Y_DIGITS, chunks=500)
    with pytest.raises(ValueError, match="n_shards"):
        dc.partition(X, y, 3)
    with pytest.raises(ValueError, match="scheme"):
        dc.partition(X, y, scheme="dirichlet")
    with pytest.raises(TypeError, match="dask"):
        dc.partition(X, Y_DIGITS)
    with pytest.raises(ValueError, match="blocks"):
        dc.partition(X, da.from_array(Y_DIGITS, chunks=600))
