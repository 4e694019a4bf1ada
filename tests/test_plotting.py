import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

import daskcollab as dc  # noqa: E402
from daskcollab.results import FitResult, MemberTiming  # noqa: E402


def test_plot_accuracy_bars_labels_and_best_member(tmp_path):
    table = pd.DataFrame(
        dict(
            name=["a", "b", "ensemble (weights)", "ensemble (equal)"],
            kind=["member", "member", "ensemble", "ensemble"],
            accuracy=[0.7, 0.9, 0.95, 0.93],
        )
    )
    ax = dc.plot_accuracy(table)
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "ensemble (equal)", "ensemble (weights)"]
    assert ax.get_xlabel() == "test accuracy" and ax.get_ylabel()
    assert "best member (b)" in [t.get_text() for t in ax.get_legend().get_texts()]
    ax.figure.savefig(tmp_path / "accuracy.png")
    assert (tmp_path / "accuracy.png").stat().st_size > 0


def test_gantt_from_a_fake_fit_result_shows_gaps():
    timings = [
        MemberTiming("rf-0", "fit", "tcp://127.0.0.1:1", 10.0, 13.0, 3.0),
        MemberTiming("lr", "fit", "tcp://127.0.0.1:1", 14.0, 14.5, 0.5),  # one second idle before it
        MemberTiming("tree", "fit", "tcp://127.0.0.1:2", 10.0, 12.0, 2.0),
    ]
    ax = dc.plot_task_stream(FitResult(estimators=[], timings=timings))
    bars = sorted((p.get_x(), p.get_width()) for p in ax.patches)
    assert bars == [(0.0, 2.0), (0.0, 3.0), (4.0, 0.5)]
    assert sorted(t.get_text() for t in ax.texts) == ["lr", "rf-0", "tree"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["127.0.0.1:1", "127.0.0.1:2"]
    assert "(s)" in ax.get_xlabel() and ax.get_ylabel() == "worker"


def test_gantt_of_a_real_fit(thread_client):
    X, y = load_iris(return_X_y=True)
    result = dc.fit_parallel([("tree", DecisionTreeClassifier())], X, y, seeds=3, client=thread_client)
    ax = dc.plot_task_stream(result)
    assert sorted(t.get_text() for t in ax.texts) == ["tree-0", "tree-1", "tree-2"]
    assert len(ax.patches) == 3
