"""distill: the teacher predicts on the cluster, the student learns soft or hard labels."""

import dask.array as da
import numpy as np
import pytest
from distributed import get_task_stream
from sklearn.datasets import load_digits, load_iris
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import daskcollab as dc
from tests.conftest import NothingSent
from tests.helpers import WeightRecorder

X_IRIS, Y_IRIS = load_iris(return_X_y=True)


def test_soft_labels_expand_each_row_by_the_teachers_probabilities(client):
    teacher = DummyClassifier(strategy="prior").fit(X_IRIS[:100], Y_IRIS[:100])  # 0.5 / 0.5 over classes 0, 1
    student = dc.distill(teacher, WeightRecorder(), X_IRIS[:10], client=client)
    assert student.X_seen_.shape == (20, 4)
    np.testing.assert_array_equal(np.sort(student.y_seen_), [0] * 10 + [1] * 10)
    np.testing.assert_allclose(student.weight_seen_, 0.5)


def test_hard_labels_are_the_teachers_predictions(client):
    teacher = RandomForestClassifier(20, random_state=0).fit(X_IRIS, Y_IRIS)
    student = dc.distill(teacher, WeightRecorder(), X_IRIS, soft=False, client=client)
    np.testing.assert_array_equal(student.y_seen_, teacher.predict(X_IRIS))
    assert student.weight_seen_ is None


def test_teacher_predicts_on_the_cluster_and_student_beats_one_shard(client):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0, stratify=y)
    p = dc.partition(X_train, y_train, 4, scheme="dirichlet", alpha=0.3)
    teacher = dc.StackingClassifier([RandomForestClassifier(50, random_state=0)], shards=p, random_state=0)
    teacher.fit(X_train, y_train)
    with get_task_stream(client=client) as stream:
        student = dc.distill(teacher, LogisticRegression(max_iter=2000), X_train, client=client)
    assert any(str(r["key"]).startswith("('predict-proba") or "predict-proba" in str(r["key"]) for r in stream.data)
    X_0, y_0 = p.shard(int(np.argmax(p.sizes)))
    one_shard = LogisticRegression(max_iter=2000).fit(X_0, y_0).score(X_test, y_test)
    assert student.score(X_test, y_test) > one_shard + 0.04


def test_pipeline_student_and_dask_transfer_set(client):
    teacher = RandomForestClassifier(20, random_state=0).fit(X_IRIS, Y_IRIS)
    student = dc.distill(
        teacher, make_pipeline(StandardScaler(), LogisticRegression()), da.from_array(X_IRIS, chunks=50)
    )
    assert (student.predict(X_IRIS) == teacher.predict(X_IRIS)).mean() > 0.9


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda t: dc.distill(t, KNeighborsClassifier(), X_IRIS), TypeError, "sample_weight"),
        (
            lambda t: dc.distill(t, make_pipeline(StandardScaler(), KNeighborsClassifier()), X_IRIS),
            TypeError,
            "soft=False",
        ),
        (lambda t: dc.distill(DecisionTreeClassifier(), LogisticRegression(), X_IRIS), ValueError, "teacher"),
        (lambda t: dc.distill(t, LogisticRegression(), X_IRIS[:, :2]), ValueError, "X_transfer"),
        (lambda t: dc.distill(t, LogisticRegression(), X_IRIS[0]), ValueError, "X_transfer"),
        (lambda t: dc.distill(t, LogisticRegression(), X_IRIS, soft="yes"), TypeError, "soft"),
        (lambda t: dc.distill(t, "lr", X_IRIS, soft=False), TypeError, "student"),
    ],
)
def test_bad_input_is_named_before_anything_is_sent(client, make, error, match):
    teacher = DecisionTreeClassifier(random_state=0).fit(X_IRIS, Y_IRIS)
    with NothingSent(client), pytest.raises(error, match=match):
        make(teacher)
