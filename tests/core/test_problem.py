"""Task inference, positive label and metric choice."""

import numpy as np
import pandas as pd
import pytest

from foldwise.config import parse_config
from foldwise.errors import FoldwiseError
from foldwise.problem import Problem, resolve_problem


def resolve(y, **problem):
    return resolve_problem(parse_config({"data": {"target": "y"}, "problem": problem}), y)


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["Yes", "No", "No"], "binary"),
        ([0, 1, 1, 0], "binary"),
        (["a", "b", "c"], "multiclass"),
        ([1, 2, 3, 2, 1], "multiclass"),
        (np.linspace(0, 1, 50).tolist(), "regression"),
        (list(range(30)), "regression"),
    ],
)
def test_task_inferred(values, task):
    problem = resolve(pd.Series(values))
    assert problem.task == task
    assert any("inferred" in note for note in problem.notes)


def test_metric_defaults_carry_direction():
    assert resolve(pd.Series(["a", "b"])).metric == "roc_auc"
    assert resolve(pd.Series(["a", "b"])).greater_is_better
    regression = resolve(pd.Series(np.linspace(0, 1, 50)))
    assert regression.metric == "rmse"
    assert not regression.greater_is_better


def test_positive_label_explicit_and_last():
    problem = resolve(pd.Series([">50K", "<=50K", "<=50K"]), positive_label=">50K")
    assert problem.classes == ("<=50K", ">50K")
    assert problem.positive_label == ">50K"


def test_positive_label_numeric_from_yaml_matches_int_labels():
    problem = resolve(pd.Series([0, 1, 0]), positive_label=1)
    assert problem.positive_label == 1
    assert problem.classes == (0, 1)


def test_positive_label_auto_prefers_yes_then_minority():
    assert resolve(pd.Series(["No", "Yes", "No"])).positive_label == "Yes"
    problem = resolve(pd.Series(["cat", "dog", "dog", "dog"]))
    assert problem.positive_label == "cat"
    assert any("minority class 'cat'" in note for note in problem.notes)


def test_positive_label_not_among_values():
    with pytest.raises(FoldwiseError, match=r"problem\.positive_label 'yes' is not a value"):
        resolve(pd.Series(["Y", "N"]), positive_label="yes")


def test_single_class_target():
    with pytest.raises(FoldwiseError, match=r"target 'y' has a single value \('No'\)"):
        resolve(pd.Series(["No", "No", None]))


def test_declared_task_must_fit():
    with pytest.raises(FoldwiseError, match="binary but target 'y' has 3 distinct"):
        resolve(pd.Series(["a", "b", "c"]), task="binary")
    with pytest.raises(FoldwiseError, match="regression but target 'y' is not numeric"):
        resolve(pd.Series(["a", "b", "c"]), task="regression")


def test_metric_checked_against_inferred_task():
    with pytest.raises(FoldwiseError, match=r"problem\.metric 'rmse' does not fit the binary"):
        resolve(pd.Series(["a", "b"]), metric="rmse")


def test_encode_decode_roundtrip_and_unknown_label():
    problem = resolve(pd.Series(["No", "Yes"]))
    codes = problem.encode(pd.Series(["Yes", "No", "Yes"]))
    assert codes.tolist() == [1, 0, 1]
    assert problem.decode(codes).tolist() == ["Yes", "No", "Yes"]
    with pytest.raises(FoldwiseError) as caught:
        problem.encode(pd.Series(["Maybe"]))
    assert str(caught.value) == (
        "target 'y': label(s) 'Maybe' were not seen in training; known classes: 'No', 'Yes'"
    )


def test_problem_dict_roundtrip():
    problem = resolve(pd.Series(["No", "Yes"]))
    assert Problem.from_dict(problem.to_dict()) == problem
