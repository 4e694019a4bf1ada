"""Matplotlib plots. Each takes ``ax=None``, returns the Axes and never calls ``plt.show()``."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_accuracy"]


def _axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_accuracy(table, *, ax=None):
    """Horizontal bars of member and ensemble accuracy, sorted, best member marked.

    Parameters
    ----------
    table : DataFrame
        As returned by :func:`daskcollab.compare_accuracy`.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd
    >>> table = pd.DataFrame(dict(name=["a", "b", "ensemble (weights)"], kind=["member", "member", "ensemble"],
    ...                           accuracy=[0.8, 0.9, 0.95]))
    >>> ax = plot_accuracy(table)
    >>> len(ax.patches), ax.get_xlabel()
    (3, 'test accuracy')
    """
    ax = _axes(ax, (7, 0.35 * len(table) + 1.5))
    ordered = table.sort_values("accuracy").reset_index(drop=True)
    colors = np.where(ordered["kind"] == "ensemble", "tab:orange", "tab:blue")
    bars = ax.barh(ordered["name"], ordered["accuracy"], color=colors)
    members = ordered[ordered["kind"] == "member"]
    if len(members):
        best = members["accuracy"].idxmax()
        bars[best].set_edgecolor("black")
        bars[best].set_linewidth(2)
        ax.axvline(
            members["accuracy"].max(),
            color="black",
            linestyle="--",
            linewidth=1,
            label=f"best member ({members.loc[best, 'name']})",
        )
        ax.legend(loc="lower right")
    for bar, value in zip(bars, ordered["accuracy"]):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value:.3f}", va="center", fontsize=8)
    low = max(0.0, float(ordered["accuracy"].min()) - 0.05)
    ax.set_xlim(low, 1.0 + (1.0 - low) * 0.08)
    ax.set_xlabel("test accuracy")
    ax.set_ylabel("member / ensemble")
    ax.set_title("Members (blue) against the ensemble (orange)")
    return ax
