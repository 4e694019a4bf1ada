import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
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


def synthetic_speedup(f=0.1, cores=2, workers=(1, 2, 4)):
    times = {p: [10.0 * (f + (1 - f) / p) * s for s in (0.99, 1.0, 1.01)] for p in workers}
    return dc.SpeedupResult(times, n_fits=8, cores=cores)


def test_plot_speedup_lines_error_bars_and_oversubscribed_points(tmp_path):
    ax = dc.plot_speedup(synthetic_speedup())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "ideal (S = p)" and labels[1].startswith("Amdahl fit, f = 0.1")
    assert "measured (mean ± std)" in labels and "oversubscribed (> 2 cores)" in labels
    assert len(ax.get_lines()) >= 2 and len(ax.containers) == 2  # two errorbar groups
    assert ax.get_xlabel() == "workers p" and "speedup" in ax.get_ylabel()
    ax.figure.savefig(tmp_path / "speedup.png")
    assert (tmp_path / "speedup.png").stat().st_size > 0


def test_plot_speedup_efficiency_panel_and_given_axes():
    import matplotlib.pyplot as plt

    _, given = plt.subplots(1, 2)
    axes = dc.plot_speedup(synthetic_speedup(cores=8), ax=given, efficiency=True)
    assert list(axes) == list(given)
    assert axes[1].get_ylabel() == "efficiency E = S / p" and axes[1].get_xlabel() == "workers p"
    assert "oversubscribed" not in [t.get_text() for t in axes[0].get_legend().get_texts()]
    with pytest.raises(ValueError, match="two Axes"):
        dc.plot_speedup(synthetic_speedup(), ax=given[0], efficiency=True)


def test_plot_weights_one_bar_per_member_with_shares():
    X, y = load_iris(return_X_y=True)
    trees = [(f"t{d}", DecisionTreeClassifier(max_depth=d, random_state=0).fit(X, y)) for d in (1, 2, 3)]
    ax = dc.plot_weights(dc.WeightedVotingClassifier.from_estimators(trees, weights=[1, 1, 2]))
    assert [round(p.get_width(), 2) for p in ax.patches] == [0.25, 0.25, 0.5]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["t1", "t2", "t3"]
    assert ax.get_xlabel().startswith("share of the vote") and ax.get_ylabel() == "member"


def test_plot_shards_stacks_rows_per_class():
    X, y = load_iris(return_X_y=True)
    p = dc.partition(X, y, 3, scheme="pathological", classes_per_shard=1)
    ax = dc.plot_shards(p)
    assert len(ax.patches) == 9  # 3 shards x 3 classes
    heights = sorted(round(bar.get_height()) for bar in ax.patches)
    assert heights == [0] * 6 + [50] * 3
    assert ax.get_ylabel() == "rows" and ax.get_xlabel().startswith("shard")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
