"""The fitted ensemble container: weighted predictions, checks and one-folder round trip."""

from __future__ import annotations

import numpy as np
import pytest

from foldwise.errors import FoldwiseError
from foldwise.models.ensemble import ENSEMBLE_FILE, EnsembleModel, load_model
from foldwise.models.tabular import TabularModel
from tests.models.test_models import make_data, make_model, scores


def fitted(task: str) -> tuple[list[TabularModel], object]:
    X, y = make_data(task, n=200)
    members = [
        make_model(name, task).fit(X, y) for name in ("random_forest", "logistic_regression")
    ]
    return members, X


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_predictions_are_the_weighted_sum_of_the_members(task):
    members, X = fitted(task)
    ensemble = EnsembleModel(members, [0.25, 0.75])
    expected = 0.25 * scores(members[0], X) + 0.75 * scores(members[1], X)
    np.testing.assert_allclose(scores(ensemble, X), expected, rtol=0, atol=1e-12)
    if task != "regression":
        np.testing.assert_array_equal(ensemble.predict(X), expected.argmax(axis=1))
    assert ensemble.weights == {"random_forest": 0.25, "logistic_regression": 0.75}


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_save_and_load_round_trip_in_one_folder(task, tmp_path):
    members, X = fitted(task)
    ensemble = EnsembleModel(members, [0.4, 0.6])
    ensemble.save(tmp_path / "model")
    assert (tmp_path / "model" / ENSEMBLE_FILE).is_file()
    assert not list((tmp_path / "model").rglob("*.pkl"))
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, EnsembleModel)
    np.testing.assert_array_equal(scores(loaded, X), scores(ensemble, X))
    assert isinstance(load_model(tmp_path / "model" / "members" / "00_random_forest"), TabularModel)


def test_zero_weights_drop_the_member():
    members, X = fitted("binary")
    ensemble = EnsembleModel(members, [0.0, 1.0])
    assert [m.name for m in ensemble.members] == ["logistic_regression"]
    np.testing.assert_array_equal(ensemble.predict_proba(X), members[1].predict_proba(X))


@pytest.mark.parametrize("weights", [[0.5, 0.6], [-0.1, 1.1], [np.nan, 1.0], [1.0]])
def test_weights_must_be_a_distribution_over_the_members(weights):
    members, _ = fitted("binary")
    with pytest.raises(ValueError, match="weights"):
        EnsembleModel(members, weights)


def test_members_must_share_the_task():
    binary, _ = fitted("binary")
    regression, _ = fitted("regression")
    with pytest.raises(ValueError, match="share the task"):
        EnsembleModel([binary[0], regression[0]], [0.5, 0.5])


def test_an_unreadable_ensemble_file_is_named(tmp_path):
    (tmp_path / ENSEMBLE_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(FoldwiseError, match=ENSEMBLE_FILE):
        load_model(tmp_path)
