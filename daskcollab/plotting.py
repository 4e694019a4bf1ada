"""Matplotlib plots. Each takes ``ax=None``, returns the Axes and never calls ``plt.show()``."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_accuracy", "plot_task_stream", "plot_speedup", "plot_weights", "plot_shards"]


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


def plot_speedup(result, *, ax=None, efficiency=False):
    """Measured speedup against workers, with the ideal line and the fitted Amdahl curve.

    Parameters
    ----------
    result : SpeedupResult
        From :func:`daskcollab.measure_speedup`.
    ax : matplotlib Axes, or a pair of Axes with ``efficiency=True``, default=None
    efficiency : bool, default=False
        Add a second panel: parallel efficiency E = S/p against workers.

    Returns
    -------
    ax : matplotlib Axes, or an array of two Axes with ``efficiency=True``

    Notes
    -----
    Oversubscribed worker counts (more worker threads than cores) are drawn
    as hollow red markers and left out of the Amdahl fit.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from daskcollab import SpeedupResult
    >>> result = SpeedupResult({1: [10.0, 10.2], 2: [5.4, 5.5], 4: [5.6, 5.5]}, n_fits=8, cores=2)
    >>> ax = plot_speedup(result)
    >>> [line.get_label() for line in ax.get_lines()][:2]
    ['ideal (S = p)', 'Amdahl fit, f = 0.079']
    >>> axes = plot_speedup(result, efficiency=True)
    >>> axes[1].get_ylabel()
    'efficiency E = S / p'
    """
    frame = result.to_frame()
    if efficiency:
        if ax is None:
            import matplotlib.pyplot as plt

            _, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
        else:
            axes = np.asarray(ax).ravel()
            if len(axes) != 2:
                raise ValueError(f"efficiency=True needs two Axes in ax, got {len(axes)}.")
    else:
        axes = [_axes(ax, (5.5, 4))]
    main = axes[0]
    p = frame["workers"].to_numpy()
    grid = np.linspace(1, max(p.max(), 2), 100)
    main.plot(grid, grid, linestyle="--", color="grey", label="ideal (S = p)")
    f = result.serial_fraction
    if np.isfinite(f):
        from daskcollab.measure import amdahl_speedup

        main.plot(grid, amdahl_speedup(grid, f), color="tab:orange", label=f"Amdahl fit, f = {f:.3f}")
    over = frame["oversubscribed"].to_numpy(bool)
    main.errorbar(
        p[~over],
        frame["speedup"][~over],
        yerr=frame["speedup_std"][~over],
        fmt="o",
        color="tab:blue",
        capsize=3,
        label="measured (mean ± std)",
    )
    if over.any():
        main.errorbar(
            p[over],
            frame["speedup"][over],
            yerr=frame["speedup_std"][over],
            fmt="o",
            mfc="white",
            color="tab:red",
            capsize=3,
            label=f"oversubscribed (> {result.cores} cores)",
        )
    main.set_xlabel("workers p")
    main.set_ylabel("speedup S = T1 / Tp (relative to 1 worker)")
    main.set_xticks(p)
    main.set_title(f"Speedup, {result.n_fits} fits")
    main.legend(loc="upper left")
    if not efficiency:
        return main
    side = axes[1]
    side.plot(p[~over], frame["efficiency"][~over], "o-", color="tab:blue", label="measured")
    if over.any():
        side.plot(p[over], frame["efficiency"][over], "o", mfc="white", color="tab:red", label="oversubscribed")
    side.axhline(1.0, linestyle="--", color="grey", label="ideal")
    side.set_ylim(0, 1.1)
    side.set_xticks(p)
    side.set_xlabel("workers p")
    side.set_ylabel("efficiency E = S / p")
    side.set_title("Parallel efficiency")
    side.legend(loc="lower left")
    return np.asarray(axes)


def plot_weights(model, *, ax=None):
    """The learned weight of each member, as its share of the vote.

    Parameters
    ----------
    model : fitted WeightedVotingClassifier or WeightedVotingRegressor
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from daskcollab import WeightedVotingClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> trees = [DecisionTreeClassifier(max_depth=d).fit(X, y) for d in (1, 2, 3)]
    >>> ax = plot_weights(WeightedVotingClassifier.from_estimators(trees, weights=[1, 1, 2]))
    >>> len(ax.patches), ax.get_xlabel()
    (3, 'share of the vote (weight / sum of weights)')
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "weights_")
    names = list(getattr(model, "named_estimators_", {})) or [f"member-{i}" for i in range(len(model.weights_))]
    weights = np.asarray(model.weights_, dtype=float)
    share = weights / weights.sum()
    ax = _axes(ax, (7, 0.35 * len(names) + 1.5))
    bars = ax.barh(names, share, color="tab:blue")
    ax.invert_yaxis()  # members top to bottom in the model's order
    for bar, value, raw in zip(bars, share, weights):
        ax.text(
            bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value:.2f} ({raw:.3g})", va="center", fontsize=8
        )
    ax.axvline(1 / len(names), color="grey", linestyle="--", linewidth=1, label="equal weights")
    ax.set_xlim(0, share.max() * 1.3)
    ax.set_xlabel("share of the vote (weight / sum of weights)")
    ax.set_ylabel("member")
    how = model.weights if isinstance(getattr(model, "weights", None), str) else "given"
    ax.set_title(f"Member weights ({how})")
    ax.legend(loc="lower right")
    return ax


def plot_shards(partition, *, ax=None):
    """The class mix of each shard, as stacked bars of rows per class.

    Parameters
    ----------
    partition : Partition
        From :func:`daskcollab.partition`.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from daskcollab import partition
    >>> X, y = load_iris(return_X_y=True)
    >>> ax = plot_shards(partition(X, y, 4, scheme="dirichlet", alpha=0.3))
    >>> len(ax.patches), ax.get_ylabel()  # 4 shards x 3 classes
    (12, 'rows')
    """
    summary = partition.summary()
    counts = summary.filter(like="class ")
    ax = _axes(ax, (max(5, 0.6 * partition.n_shards + 3), 4))
    bottom = np.zeros(len(summary))
    shards = np.arange(len(summary))
    colors = _class_colors(counts.shape[1])
    for column, color in zip(counts.columns, colors):
        ax.bar(shards, counts[column], bottom=bottom, color=color, label=column.removeprefix("class "))
        bottom += counts[column].to_numpy()
    ax.set_xticks(shards, [f"{k}\nEMD {e:.2f}" for k, e in zip(shards, summary["emd"])])
    ax.set_xlabel("shard (earth mover's distance to the global class mix)")
    ax.set_ylabel("rows")
    ax.set_title(f"Class mix per shard ({partition.scheme})")
    if counts.shape[1] <= 20:
        ax.legend(title="class", bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8)
    return ax


def _class_colors(n):
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
