"""What a parallel fit returns: the fitted members and how the fit went."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

__all__ = ["FitResult", "MemberTiming", "MemberFailure"]


class MemberTiming(NamedTuple):
    """When and where one member's task ran, from the scheduler's task stream.

    ``start`` and ``stop`` are Unix times in seconds on the worker's clock.
    """

    name: str
    kind: str
    worker: str
    start: float
    stop: float
    seconds: float


class MemberFailure(NamedTuple):
    """A member whose fit raised (kept when ``on_error`` is "warn" or "skip").

    ``traceback`` is the worker's traceback of the error, as text.
    """

    name: str
    error: str
    message: str
    traceback: str = ""


@dataclass
class FitResult:
    """The outcome of :func:`daskcollab.fit_parallel`.

    Attributes
    ----------
    estimators : list of (str, estimator)
        The fitted members, in the order they were given.
    timings : list of MemberTiming
        One entry per task: member name, kind (``"fit"``, or ``"score"`` for a
        validation fit), worker address, start, stop and seconds.
    failures : list of MemberFailure
        Members whose fits failed and were left out.
    scores : dict of str to float
        Validation accuracy per member, when the fit scored members.
    wall_time : float
        Seconds from placing the data to the last fitted member on the client.
    n_workers : int
        Workers in the cluster during the fit.
    evaluations : dict of (str, str, int) to float or ndarray
        What was measured on shards: ``(member, output, shard)`` to a score
        or a probability matrix (see ``dispatch.EvalJob``).
    member_shards : dict of str to int
        The shard each member was trained on (sharded fits only).
    shard_workers : list of str
        The worker that held each shard, and ran every task that read it.
    metadata : dict
        What it takes to reproduce the fit: each member's ``random_state``,
        library versions, worker count, and the partition's hash and scheme.
    n_tasks : int
        Dask tasks the fit took: fewer than members when tiny fits were
        batched.
    data_bytes : int
        Bytes of training data the workers held for this fit, every copy
        counted (data placed once and copied to a second worker counts
        twice), as the scheduler saw it when the last member finished.
    """

    estimators: list
    timings: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    wall_time: float = float("nan")
    n_workers: int = 0
    evaluations: dict = field(default_factory=dict)
    member_shards: dict = field(default_factory=dict)
    shard_workers: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    n_tasks: int = 0
    data_bytes: int = 0

    @property
    def named_estimators(self) -> dict[str, Any]:
        """The fitted members by name."""
        return dict(self.estimators)

    def to_frame(self) -> pd.DataFrame:
        """One row per member task: name, kind, estimator, (shard,) worker, start, stop, seconds, status.

        ``start`` and ``stop`` are seconds since the first task started.
        """
        classes = {name: type(est).__name__ for name, est in self.estimators}
        rows = [
            dict(t._asdict(), estimator=classes.get(t.name, ""), shard=self.member_shards.get(t.name), status="ok")
            for t in self.timings
        ]
        rows += [
            dict(
                name=f.name,
                kind="fit",
                estimator="",
                worker=None,
                start=float("nan"),
                stop=float("nan"),
                seconds=float("nan"),
                shard=self.member_shards.get(f.name),
                status=f"failed: {f.error}: {f.message}",
            )
            for f in self.failures
        ]
        columns = ["name", "kind", "estimator", "worker", "start", "stop", "seconds", "status"]
        if self.member_shards:
            columns.insert(4, "shard")
        frame = pd.DataFrame(rows, columns=columns)
        if len(frame) and frame["start"].notna().any():
            origin = frame["start"].min()
            frame["start"] -= origin
            frame["stop"] -= origin
        return frame

    def _repr_html_(self) -> str:
        summary = (
            f"<p><b>FitResult</b>: {len(self.estimators)} fitted, {len(self.failures)} failed, "
            f"{self.wall_time:.2f} s wall time on {self.n_workers} workers</p>"
        )
        return summary + self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}", escape=True)

    def __repr__(self) -> str:
        names = ", ".join(n for n, _ in self.estimators)
        return (
            f"FitResult({len(self.estimators)} fitted, {len(self.failures)} failed, "
            f"wall_time={self.wall_time:.2f}s, n_workers={self.n_workers}, members=[{names}])"
        )
