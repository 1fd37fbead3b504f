"""A category value spelled like the internal missing token never merges with missing cells."""

import numpy as np
import pandas as pd
import pytest

from foldwise.models import MISSING_CATEGORY
from foldwise.models.frame import _category_values
from tests.models.test_models import make_data, make_model, one_openmp_thread  # noqa: F401


def test_values_like_the_token_are_escaped_and_missing_cells_are_the_token():
    values = pd.Series(["a", MISSING_CATEGORY, None, "\\" + MISSING_CATEGORY, "x__missing__"])
    out = list(_category_values(values.astype("str")))
    assert out == ["a", "\\__missing__", MISSING_CATEGORY, "\\\\__missing__", "x__missing__"]
    assert len(set(out)) == 5


@pytest.mark.parametrize("name", ["catboost", "logistic_regression", "hist_gradient_boosting"])
def test_a_literal_missing_token_is_its_own_category(name):
    X, _ = make_data("binary", n=240, seed=3)
    colour = np.where(np.arange(240) % 2 == 0, MISSING_CATEGORY, None).astype(object)
    X["colour"] = pd.Series(colour, dtype="str")
    y = (X["colour"] == MISSING_CATEGORY).to_numpy(dtype="int64")  # present: 1, missing: 0
    model = make_model(name, "binary").fit(X, y)
    proba = model.predict_proba(X.head(2))[:, 1]
    assert proba[0] > 0.8  # the value __missing__
    assert proba[1] < 0.2  # a missing cell
