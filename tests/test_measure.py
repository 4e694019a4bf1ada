"""measure_speedup and SpeedupResult: the arithmetic on synthetic timings, and a real run."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

import daskcollab as dc
from daskcollab.measure import amdahl_speedup, karp_flatt


@pytest.mark.parametrize("f", [0.0, 0.05, 0.3])
def test_amdahl_timings_give_back_f(f):
    times = {p: [10.0 * (f + (1 - f) / p)] * 3 for p in (1, 2, 3, 4)}
    result = dc.SpeedupResult(times, n_fits=12, cores=4)
    assert result.serial_fraction == pytest.approx(f, abs=1e-12)
    frame = result.to_frame()
    np.testing.assert_allclose(frame["speedup"], amdahl_speedup(frame["workers"], f))
    np.testing.assert_allclose(frame["efficiency"], frame["speedup"] / frame["workers"])
    np.testing.assert_allclose(frame["karp_flatt"][1:], f)  # Karp-Flatt recovers f exactly under Amdahl
    assert np.isnan(frame["karp_flatt"][0])
    np.testing.assert_allclose(frame["fits_per_s"], 12 / frame["mean_s"])


def test_mean_std_and_oversubscription():
    result = dc.SpeedupResult({1: [10.0, 12.0], 2: [5.0, 7.0], 4: [4.0, 4.0]}, n_fits=4, cores=2)
    frame = result.to_frame().set_index("workers")
    assert frame.loc[2, "mean_s"] == 6.0 and frame.loc[2, "std_s"] == pytest.approx(np.std([5, 7], ddof=1))
    assert frame.loc[2, "speedup"] == pytest.approx(11 / 6)
    assert frame.loc[2, "speedup_std"] == pytest.approx(np.std([11 / 5, 11 / 7], ddof=1))
    assert frame["oversubscribed"].tolist() == [False, False, True]
    assert result.serial_fraction == pytest.approx(karp_flatt(11 / 6, 2))  # p=4 is left out of the fit
    assert karp_flatt(2.0, 2) == 0.0 and karp_flatt(1.0, 2) == 1.0


def test_json_and_html():
    result = dc.SpeedupResult({1: [2.0], 2: [1.1]}, n_fits=3, cores=2)
    data = json.loads(result.to_json())
    assert data["times"] == {"1": [2.0], "2": [1.1]} and data["relative_to"].startswith("the same fits on 1")
    assert data["table"][1]["workers"] == 2 and data["serial_fraction"] == pytest.approx(karp_flatt(2 / 1.1, 2))
    html = result._repr_html_()
    assert "<table" in html and "Amdahl" in html and "1.82x" in repr(result)


def test_a_real_measurement_on_thread_clusters():
    X, y = load_iris(return_X_y=True)
    opened = []

    def factory(p):
        opened.append(p)
        return dc.start_cluster(n_workers=p, processes=False, dashboard=False)

    result = dc.measure_speedup(
        [DecisionTreeClassifier()], X, y, workers=[2], repeats=2, seeds=4, client_factory=factory
    )
    assert opened == [1, 2]  # T1 is always measured, on one worker
    assert result.workers == [1, 2] and all(len(v) == 2 for v in result.times.values())
    assert result.n_fits == 4 and result.oversubscribed == {1: False, 2: False}
    assert (result.to_frame()["mean_s"] > 0).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(workers=[0, 2]), ValueError, "workers"),
        (dict(workers="12"), TypeError, "workers"),
        (dict(workers=[]), ValueError, "workers"),
        (dict(repeats=0), ValueError, "repeats"),
        (dict(client_factory="local"), TypeError, "client_factory"),
        (dict(seeds=0), ValueError, "seeds"),
    ],
)
def test_bad_input_is_named_before_any_cluster_starts(kwargs, error, match):
    X, y = load_iris(return_X_y=True)
    started = []
    kwargs.setdefault("client_factory", lambda p: started.append(p))
    with pytest.raises(error, match=match):
        dc.measure_speedup([DecisionTreeClassifier()], X, y, **kwargs)
    assert started == []
