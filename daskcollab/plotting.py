"""Matplotlib plots. Each takes ``ax=None``, returns the Axes and never calls ``plt.show()``."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_accuracy", "plot_task_stream"]


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


def plot_task_stream(fit_result, *, ax=None):
    """Gantt chart of the member fits on each worker, from the scheduler's task stream.

    Each task is one labelled bar on its worker's row; white space between
    bars is time the worker spent on something else (or idle).

    Parameters
    ----------
    fit_result : FitResult or list of dict
        The result of :func:`daskcollab.fit_parallel` (its ``timings``), or raw
        task-stream records as returned by ``distributed.get_task_stream``
        (``key``, ``worker`` and ``startstops`` with ``action="compute"``).
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> records = [
    ...     {"key": "fit-rf-0-ab12", "worker": "tcp://127.0.0.1:1", "startstops": [
    ...         {"action": "compute", "start": 100.0, "stop": 103.0}]},
    ...     {"key": "fit-lr-cd34", "worker": "tcp://127.0.0.1:2", "startstops": [
    ...         {"action": "compute", "start": 100.5, "stop": 101.0}]},
    ... ]
    >>> ax = plot_task_stream(records)
    >>> len(ax.patches), [t.get_text() for t in ax.texts]
    (2, ['fit-rf-0', 'fit-lr'])
    """
    bars = _task_bars(fit_result)
    workers = sorted({worker for worker, *_ in bars})
    ax = _axes(ax, (9, 0.6 * len(workers) + 1.8))
    origin = min((start for _, _, start, _ in bars), default=0.0)
    colors = {}
    for worker, label, start, stop in bars:
        row = workers.index(worker)
        color = colors.setdefault(label.rsplit("-", 1)[0] if label[-1:].isdigit() else label, f"C{len(colors) % 10}")
        ax.barh(row, stop - start, left=start - origin, height=0.8, color=color, edgecolor="white")
        ax.text(start - origin + (stop - start) / 2, row, label, ha="center", va="center", fontsize=7, clip_on=True)
    ax.set_yticks(range(len(workers)), [w.split("://")[-1] for w in workers])
    ax.set_xlabel("time since the first task started (s)")
    ax.set_ylabel("worker")
    ax.set_title("Member fits per worker (scheduler task stream)")
    return ax


def _task_bars(fit_result):
    """``(worker, label, start, stop)`` per task, from a FitResult or raw records."""
    timings = getattr(fit_result, "timings", None)
    if timings is not None:
        return [(t.worker, t.name if t.kind == "fit" else f"{t.kind} {t.name}", t.start, t.stop) for t in timings]
    bars = []
    for record in fit_result:
        key = str(record["key"])
        label = key.rsplit("-", 1)[0] if key.count("-") > 1 else key
        for startstop in record.get("startstops", ()):
            if startstop.get("action") == "compute":
                bars.append((record["worker"], label, startstop["start"], startstop["stop"]))
    return bars
