"""Predict with a fitted ensemble: numpy in, numpy out; dask in, dask out.

The input types are dispatched here and only here. For dask inputs the fitted
model is put on the cluster once per call (scattered when a distributed
client is active) and every block is predicted where it lives.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
from dask.base import is_dask_collection

__all__ = ["predict_with"]


def predict_block(model, block, method):
    """Run ``method`` ("predict" or "predict_proba") of ``model`` on one in-memory block.

    Our ensembles compute on in-memory blocks through ``_predict_block`` and
    ``_proba_block``; any other fitted estimator (a teacher in ``distill``)
    through its own methods.
    """
    if method == "predict_proba":
        return model._proba_block(block) if hasattr(model, "_proba_block") else model.predict_proba(block)
    return model._predict_block(block) if hasattr(model, "_predict_block") else model.predict(block)


def predict_with(model, X, method):
    """Apply ``method`` of the fitted ``model`` to numpy, pandas or dask ``X``."""
    if not is_dask_collection(X):
        return predict_block(model, X, method)
    width = (len(model.classes_),) if method == "predict_proba" else ()
    dtype = float if method == "predict_proba" else _label_dtype(model)
    model_ref = _model_on_cluster(model)
    name = f"{method.replace('_', '-')}-{_short_name(model)}"
    if hasattr(X, "chunks"):  # dask array
        X = X.rechunk({1: -1})
        shape = dict(chunks=(X.chunks[0], width)) if width else dict(drop_axis=1)
        # map_blocks takes `name` as the full output key: it must be unique
        # per input and per model, or two predictions would share keys.
        unique = f"{name}-{dask.base.tokenize(X, method, model_ref)}"
        return X.map_blocks(_apply, model_ref, method, dtype=dtype, name=unique, **shape)
    # dask DataFrame: one delayed call per partition keeps the column names
    # the members were fitted with.
    apply = dask.delayed(_apply, pure=True)
    blocks = [
        da.from_delayed(
            apply(
                part,
                model_ref,
                method,
                dask_key_name=f"{name}-{i}-{dask.base.tokenize(part, method)}",
            ),
            shape=(np.nan, *width),
            dtype=dtype,
        )
        for i, part in enumerate(X.to_delayed())
    ]
    return da.concatenate(blocks, axis=0)


def _apply(block, model, method):
    return predict_block(model, block, method)


def _model_on_cluster(model):
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return dask.delayed(model, pure=False)  # local schedulers: one key in the graph
    return client.scatter(model, hash=False)


def _label_dtype(model):
    classes = getattr(model, "classes_", None)
    return float if classes is None else classes.dtype


def _short_name(model):
    return type(model).__name__.lower()
