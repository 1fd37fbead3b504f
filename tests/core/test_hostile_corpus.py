"""A corpus of hostile inputs: each one a clean one-line refusal or an honest result.

Every refusal asserts exit code 2, one ``error:`` line naming the culprit, no traceback, no
library warning, and that the failing stage wrote nothing. Every accepted input asserts the
values read, so nothing is silently changed. Stages run in-process (``run_stage(main)``);
``test_hostile_subprocess.py`` repeats a few through real processes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.core.hostile import OUTPUTS, STAGES, Result, Tiny, assert_one_line_error, tiny_table

Setup = Callable[[Tiny], None]


@dataclass(frozen=True)
class Case:
    """One hostile input: how to make it, which stage meets it, what the error must name."""

    id: str
    setup: Setup
    culprits: tuple[str, ...]
    stage: str = "prepare"


def params(changes: dict) -> Setup:
    return lambda p: p.set(changes)


def raw(text: str | bytes, name: str = "table.csv", **changes: dict) -> Setup:
    def setup(p: Tiny) -> None:
        p.write_text(f"data/raw/{name}", text)
        p.set({"data": {"source": f"data/raw/{name}"}, **changes})

    return setup


def table(edit: Callable[[pd.DataFrame], pd.DataFrame], **changes: dict) -> Setup:
    def setup(p: Tiny) -> None:
        p.write_frame(edit(tiny_table()))
        if changes:
            p.set(changes)

    return setup


def with_test_table(edit: Callable[[pd.DataFrame], pd.DataFrame], name: str = "test.csv") -> Setup:
    def setup(p: Tiny) -> None:
        p.write_frame(edit(tiny_table(60, seed=1)), f"data/raw/{name}")
        p.set({"data": {"test_source": f"data/raw/{name}"}})

    return setup


def column(name: str, values: list) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out[name] = (values * len(out))[: len(out)]
        return out

    return edit


def european(frame: pd.DataFrame) -> str:
    text = frame.assign(x1=[f"{v:.4f}".replace(".", ",") for v in frame["x1"]])
    return text.to_csv(index=False, sep=";")


BASE = tiny_table()
HEADER = ",".join(BASE.columns)

PARAMS = [
    Case("unknown-key", params({"data": {"tagret": "label"}}), ("data.tagret", "data.target")),
    Case("wrong-type", params({"cv": {"folds": "five"}}), ("cv.folds",)),
    Case("out-of-range", params({"split": {"test_size": 0.9}}), ("split.test_size",)),
    Case(
        "unknown-catboost-setting",
        params({"model": {"catboost": {"dept": 6}}}),
        ("model.catboost.dept", "depth"),
    ),
    Case(
        "bad-catboost-value",
        params({"model": {"catboost": {"depth": "deep"}}}),
        ("model.catboost.depth",),
    ),
    Case(
        "bad-sklearn-value",
        params({"model": {"logistic_regression": {"C": -1.0}}}),
        ("model.logistic_regression.C",),
    ),
    Case(
        "unknown-rf-setting",
        params({"model": {"random_forest": {"n_estimatorz": 5}}}),
        ("model.random_forest.n_estimatorz",),
    ),
    Case(
        "unknown-hgb-setting-unused-model",
        params({"model": {"hist_gradient_boosting": {"max_iters": 5}}}),
        ("model.hist_gradient_boosting.max_iters",),
    ),
    Case(
        "unknown-dummy-setting",
        params({"model": {"dummy": {"strategyy": "prior"}}}),
        ("model.dummy.strategyy",),
    ),
    Case(
        "reserved-cat-features",
        params({"model": {"catboost": {"cat_features": "a"}}}),
        ("model.catboost.cat_features",),
    ),
    Case(
        "reserved-early-stopping",
        params({"model": {"catboost": {"od_wait": 5}}}),
        ("model.catboost.od_wait",),
    ),
    Case(
        "unknown-search-name",
        params({"tune": {"search_space": {"deph": {"low": 2, "high": 4, "type": "int"}}}}),
        ("tune.search_space.deph", "depth"),
    ),
    Case(
        "search-range-refused",
        params({"tune": {"search_space": {"depth": {"low": 4, "high": 30, "type": "int"}}}}),
        ("tune.search_space.depth",),
    ),
    Case(
        "search-choice-refused",
        params(
            {
                "model": {"name": "random_forest"},
                "tune": {"search_space": {"criterion": {"choices": ["gini", "bogus"]}}},
            }
        ),
        ("tune.search_space.criterion", "bogus"),
    ),
    Case(
        "search-fixed-refused",
        params({"tune": {"search_space": {"l2_leaf_reg": "lots"}}}),
        ("tune.search_space.l2_leaf_reg",),
    ),
    Case(
        "ridge-has-no-C",
        params(
            {
                "model": {"logistic_regression": {"C": 2.0}},
                "data": {"target": "x1"},
                "problem": {"positive_label": None},
                "evaluate": {"segments": []},
            }
        ),
        ("model.logistic_regression.C", "Ridge"),
    ),
    Case("decimal-not-allowed", params({"data": {"decimal": ";"}}), ("data.decimal",)),
    Case(
        "decimal-is-separator",
        params({"data": {"decimal": ","}}),
        ("data.decimal", "csv_separator"),
    ),
    Case(
        "params-not-yaml",
        lambda p: p.write_text("params.yaml", "data: [unclosed\n"),
        ("params.yaml", "YAML"),
    ),
    Case(
        "params-a-list",
        lambda p: p.write_text("params.yaml", "- 1\n- 2\n"),
        ("params.yaml", "mapping"),
    ),
    Case("target-not-a-column", params({"data": {"target": "lable"}}), ("data.target", "'label'")),
    Case(
        "segment-not-a-column",
        params({"evaluate": {"segments": ["colour", "region"]}}),
        ("evaluate.segments", "region"),
    ),
    Case(
        "positive-label-absent",
        params({"problem": {"positive_label": "Maybe"}}),
        ("problem.positive_label", "Maybe"),
    ),
    Case(
        "regression-on-text",
        params({"problem": {"task": "regression", "positive_label": None}}),
        ("problem.task", "label"),
    ),
    Case(
        "no-features-left",
        params({"data": {"drop_columns": ["x1", "colour", "member"]}}),
        ("no feature columns",),
    ),
]

TABLES = [
    Case(
        "european-default-decimal",
        raw(european(BASE), data={"csv_separator": ";"}),
        ("x1", 'data.decimal: ","'),
    ),
    Case(
        "semicolon-default-separator",
        raw(BASE.to_csv(index=False, sep=";")),
        ("table.csv", 'csv_separator: ";"'),
    ),
    Case(
        "semicolon-decimal-comma-default-separator",
        raw(european(BASE)),
        ("table.csv", 'csv_separator: ";"'),
    ),
    Case(
        "tab-default-separator",
        raw(BASE.to_csv(index=False, sep="\t")),
        ("table.csv", "csv_separator"),
    ),
    Case(
        "pipe-default-separator",
        raw(BASE.to_csv(index=False, sep="|")),
        ("table.csv", 'csv_separator: "|"'),
    ),
    Case(
        "ragged-row",
        raw(BASE.to_csv(index=False) + "R9,1,red,yes,No,extra,more\n"),
        ("table.csv", "not a readable CSV"),
    ),
    Case(
        "ambiguous-thousands",
        table(column("x1", ["1,203", "2,500", "3,141"])),
        ("x1", "ambiguous", "data.decimal"),
    ),
    Case("all-infinite", table(column("x1", ["inf", "-inf"])), ("x1", "no value")),
    Case("all-beyond-float", table(column("x1", ["1e999", "-2e400"])), ("x1", "no value")),
    Case("all-blank", table(column("x1", [" ", "", "n/a"])), ("x1", "no value")),
    Case(
        "target-infinite",
        table(
            column("x1", ["1.5", "inf", "2"]),
            data={"target": "x1"},
            problem={"positive_label": None},
            evaluate={"segments": []},
        ),
        ("target 'x1'", "not finite"),
    ),
    Case(
        "target-decimal-comma",
        table(
            column("x1", ["1,5", "2,25", "3,75"]),
            data={"target": "x1"},
            problem={"positive_label": None},
            evaluate={"segments": []},
        ),
        ("x1", 'data.decimal: ","'),
    ),
    Case("empty-file", raw(""), ("table.csv", "empty")),
    Case("header-only", raw(HEADER + "\n"), ("table.csv", "no data rows")),
    Case("binary-garbage", raw(bytes(range(256)) * 8), ("table.csv",)),
    Case(
        "latin-1",
        raw(BASE.assign(colour="café").to_csv(index=False).encode("latin-1")),
        ("table.csv", "UTF-8"),
    ),
    Case("utf-16", raw(BASE.to_csv(index=False).encode("utf-16")), ("table.csv", "UTF-8")),
    Case("duplicate-names", raw("a,b,a,label\n1,2,3,Yes\n4,5,6,No\n"), ("duplicate column names",)),
    Case(
        "empty-name",
        raw("a,,label\n1,2,Yes\n3,4,No\n", data={"id_columns": [], "target": "label"}),
        ("empty name",),
    ),
    Case("one-column", raw("just one column\nhello\n"), ("found 1 column",)),
    Case("unsupported-suffix", raw("a,b\n1,2\n", name="table.xlsx"), ("table.xlsx", "unsupported")),
    Case(
        "corrupt-parquet",
        raw(b"PAR1 not really parquet", name="table.parquet"),
        ("table.parquet", "Parquet"),
    ),
    Case("target-all-missing", table(column("label", [""])), ("target 'label'", "no values")),
    Case("single-class", table(column("label", ["Yes"])), ("target 'label'", "single value")),
    Case(
        "declared-date-garbage",
        table(column("colour", ["2024-01-02", "soon"]), data={"date_columns": ["colour"]}),
        ("colour", "not dates"),
    ),
    Case(
        "time-column-missing",
        table(
            column("colour", ["2024-01-02", ""]),
            data={"time_column": "colour"},
            split={"strategy": "temporal"},
        ),
        ("data.time_column", "colour"),
    ),
    Case(
        "file-not-found",
        params({"data": {"source": "data/raw/nope.csv"}}),
        ("nope.csv", "not found"),
    ),
]

TEST_TABLES = [
    Case(
        "test-other-columns",
        with_test_table(lambda f: f.drop(columns=["colour"])),
        ("test.csv", "colour"),
    ),
    Case(
        "test-unseen-label",
        with_test_table(column("label", ["Yes", "No", "Maybe"])),
        ("test.csv", "Maybe"),
    ),
    Case(
        "test-empty",
        lambda p: (
            p.write_text("data/raw/test.csv", ""),
            p.set({"data": {"test_source": "data/raw/test.csv"}}),
        ),
        ("test.csv", "empty"),
    ),
    Case(
        "test-no-labels",
        with_test_table(column("label", [""])),
        ("test.csv", "no rows with a target"),
    ),
    Case(
        "test-text-in-numeric-target",
        lambda p: (
            p.write_frame(tiny_table().assign(label=np.arange(120) * 0.5)),
            p.write_frame(tiny_table(60).assign(label=["1.5", "oops"] * 30), "data/raw/test.csv"),
            p.set(
                {
                    "data": {"test_source": "data/raw/test.csv"},
                    "problem": {"positive_label": None},
                    "evaluate": {"segments": []},
                }
            ),
        ),
        ("test.csv", "target 'label'", "not numbers"),
    ),
    Case(
        "test-semicolons",
        lambda p: (
            p.write_text("data/raw/test.csv", tiny_table(60).to_csv(index=False, sep=";")),
            p.set({"data": {"test_source": "data/raw/test.csv"}}),
        ),
        ("test.csv", 'csv_separator: ";"'),
    ),
]

REFUSED = PARAMS + TABLES + TEST_TABLES


@pytest.fixture
def tiny(tmp_path: Path) -> Tiny:
    project = Tiny(tmp_path / "p")
    project.write_frame(tiny_table())
    return project


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_refused(tiny: Tiny, case: Case) -> None:
    case.setup(tiny)
    result = tiny.run(case.stage)
    assert_one_line_error(result, *case.culprits)
    for output in OUTPUTS[case.stage]:
        assert not tiny.exists(output), output


# --- accepted inputs: the values read are the values written ------------------------------


def _prepared(p: Tiny) -> tuple[pd.DataFrame, dict]:
    result = p.run("prepare")
    assert result.code == 0, result.err
    assert not result.warnings, result.warnings
    return pd.read_parquet(p.path("data/prepared/train.parquet")), json.loads(
        p.path("data/prepared/schema.json").read_text()
    )


def _coercion(schema: dict, name: str) -> dict:
    return next(c for c in schema["cleaning"]["coercions"] if c["column"] == name)


def test_european_table_with_decimal_comma_reads_the_numbers(tiny: Tiny) -> None:
    tiny.write_text("data/raw/table.csv", european(BASE.assign(x1=BASE.x1 + 1.0)))
    tiny.set({"data": {"csv_separator": ";", "decimal": ","}})
    train, schema = _prepared(tiny)
    assert schema["columns"]["x1"] == "numeric"
    expected = dict(zip(BASE.row_id, (BASE.x1 + 1.0).round(4), strict=True))
    assert all(expected[i] == v for i, v in zip(train.row_id, train.x1, strict=True))


def test_proven_thousands_separators_are_removed(tiny: Tiny) -> None:
    tiny.write_frame(tiny_table().assign(x1=["1,234,567", "12.5", "1,203"] * 40))
    train, _ = _prepared(tiny)
    assert set(train.x1) == {1234567.0, 12.5, 1203.0}


def test_a_little_text_in_a_numeric_column_becomes_missing_and_counted(tiny: Tiny) -> None:
    values = [f"{v:.3f}" for v in np.linspace(0, 1, 120)]
    values[5], values[50], values[77] = "unknown", "err", "12 kg"
    tiny.write_frame(tiny_table().assign(x1=values))
    _, schema = _prepared(tiny)
    assert schema["columns"]["x1"] == "numeric"
    record = _coercion(schema, "x1")
    assert record["to"] == "numeric"
    assert record["unparseable"] == 3
    assert set(record["examples"]) == {"unknown", "err", "12 kg"}


def test_half_text_column_is_categorical_and_listed(tiny: Tiny) -> None:
    tiny.write_frame(tiny_table().assign(x1=["1", "2", "3", "a", "b"] * 24))
    _, schema = _prepared(tiny)
    assert schema["columns"]["x1"] == "categorical"
    assert "numbers" in _coercion(schema, "x1")["note"]


def test_some_infinities_become_missing_and_counted(tiny: Tiny) -> None:
    values = [f"{v:.3f}" for v in np.linspace(0, 1, 120)]
    values[3], values[9], values[11] = "inf", "-Infinity", "1e999"
    tiny.write_frame(tiny_table().assign(x1=values))
    train, schema = _prepared(tiny)
    assert np.isfinite(train.x1.dropna()).all()
    assert _coercion(schema, "x1")["infinite_to_missing"] == 3


def test_parquet_infinities_become_missing_and_counted(tiny: Tiny) -> None:
    frame = tiny_table().assign(x1=np.r_[np.inf, -np.inf, np.linspace(0, 1, 118)])
    tiny.write_frame(frame, "data/raw/table.parquet")
    tiny.set({"data": {"source": "data/raw/table.parquet"}})
    train, schema = _prepared(tiny)
    assert np.isfinite(train.x1.dropna()).all()
    assert _coercion(schema, "x1")["infinite_to_missing"] == 2


def test_test_table_never_changes_a_training_type(tiny: Tiny) -> None:
    """The bug: text in the test table turned the training column into categories."""
    test = tiny_table(60, seed=1).astype({"x1": "object"})
    test.loc[[1, 2, 3], "x1"] = ["n.a.", "missing!", "see notes"]
    test.loc[4, "x1"] = "inf"
    test.loc[5, "member"] = "maybe"
    tiny.write_frame(test, "data/raw/test.csv")
    tiny.set({"data": {"test_source": "data/raw/test.csv"}})
    _, schema = _prepared(tiny)
    assert schema["columns"]["x1"] == "numeric"
    assert schema["columns"]["member"] == "boolean"
    assert schema["cleaning"]["test_table"]["cells_to_missing"] == {"x1": 4, "member": 1}
    prepared_test = pd.read_parquet(tiny.path("data/prepared/test.parquet"))
    assert prepared_test.x1.dtype == "float64"
    assert prepared_test.x1.isna().sum() == 4
    assert tiny.run("audit").code == 0
    report = tiny.path("reports/audit/audit.md").read_text()
    assert "Test-table cells that did not fit" in report
    assert "| `x1` | 4 |" in report


def test_unambiguous_number_formats(tiny: Tiny) -> None:
    written = ["+1.5", "-2", ".5", "5.", "1e3", "-2.5E-2", " 7 ", "0"] * 15
    tiny.write_frame(tiny_table().assign(x1=written))
    train, _ = _prepared(tiny)
    assert set(train.x1) == {1.5, -2.0, 0.5, 5.0, 1000.0, -0.025, 7.0, 0.0}


# --- names foldwise uses internally: any user column name works -----------------------------

HOSTILE_NAMES = {
    "fold": "id",
    "prediction": "feature",
    "proba_Yes": "feature",
    "row": "feature",
    "index": "feature",
    "y_true": "feature",
    "oof_prediction": "feature",
    "id:row_id": "feature",
    "__missing__": "feature",
    "level_0": "feature",
    "a b": "feature",
    "a.b": "feature",
    "größe €": "feature",
    "名前": "feature",
}


def _hostile_names_table(n: int = 120) -> pd.DataFrame:
    base = tiny_table(n)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"fold": base.row_id, "prediction": base.x1})
    for name, role in HOSTILE_NAMES.items():
        if role == "feature" and name not in frame:
            frame[name] = (
                rng.choice(["p", "q", "r"], size=n)
                if len(frame) % 2
                else rng.normal(size=n).round(3)
            )
    frame["proba_Yes"] = base.colour
    frame["segment ü"] = base.member
    frame["oof_proba_Yes"] = base.label  # the target
    return frame


@pytest.fixture(scope="module")
def hostile_names_run(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    project = Tiny(tmp_path_factory.mktemp("names") / "p")
    project.write_frame(_hostile_names_table())
    project.set(
        {
            "data": {"target": "oof_proba_Yes", "id_columns": ["fold"]},
            "evaluate": {"segments": ["segment ü", "proba_Yes"]},
        }
    )
    project.run_all()
    return project


@pytest.mark.parametrize("name", [*HOSTILE_NAMES, "segment ü", "oof_proba_Yes"])
def test_any_column_name_works(hostile_names_run: Tiny, name: str) -> None:
    p = hostile_names_run
    schema = json.loads(p.path("data/prepared/schema.json").read_text())
    assert name in schema["columns"]
    features = [f["name"] for f in schema["features"]]
    oof = pd.read_parquet(p.path("reports/train/oof_predictions.parquet"))
    predictions = pd.read_parquet(p.path("reports/evaluate/predictions.parquet"))
    if name == "fold":  # the id column: kept as id:<name>, next to foldwise's own "fold"
        assert oof["id:fold"].str.startswith("R").all()
        assert oof["fold"].between(0, 2).all()
        assert predictions["id:fold"].str.startswith("R").all()
    elif name == "oof_proba_Yes":  # the target
        assert set(predictions["y_true"]) == {"Yes", "No"}
        assert {"oof_proba_No", "oof_proba_Yes"} <= set(oof.columns)
    else:
        assert name in features
    assert list(predictions.columns[:3]) == ["id:fold", "y_true", "prediction"]


# --- damaged files written by one stage and read by another ---------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = Tiny(tmp_path_factory.mktemp("built") / "p")
    project.write_frame(tiny_table())
    project.run_all()
    return project.root


def truncate(relative: str, keep: float = 0.5) -> Setup:
    def setup(p: Tiny) -> None:
        path = p.path(relative)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])

    return setup


def replace(relative: str, text: str) -> Setup:
    return lambda p: p.write_text(relative, text)


def remove(relative: str) -> Setup:
    return lambda p: p.path(relative).unlink()


TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
SCHEMA = "data/prepared/schema.json"
MODEL = "models/model"
JOURNAL = ".foldwise/tune/studies.journal"

DAMAGED = [
    Case("truncated-train-audit", truncate(TRAIN), (TRAIN, "dvc repro"), "audit"),
    Case("truncated-train-baseline", truncate(TRAIN), (TRAIN, "dvc repro"), "baseline"),
    Case("truncated-train-tune", truncate(TRAIN), (TRAIN, "dvc repro"), "tune"),
    Case("truncated-train-train", truncate(TRAIN), (TRAIN, "dvc repro"), "train"),
    Case("empty-train-baseline", replace(TRAIN, ""), (TRAIN, "dvc repro"), "baseline"),
    Case("missing-train-baseline", remove(TRAIN), (TRAIN, "not found"), "baseline"),
    Case("truncated-schema-baseline", truncate(SCHEMA), (SCHEMA, "dvc repro"), "baseline"),
    Case("truncated-schema-audit", truncate(SCHEMA), (SCHEMA, "dvc repro"), "audit"),
    Case("schema-not-object-train", replace(SCHEMA, "[1, 2]"), (SCHEMA, "JSON object"), "train"),
    Case(
        "schema-missing-key-tune",
        replace(SCHEMA, '{"target": "label"}'),
        (SCHEMA, "features"),
        "tune",
    ),
    Case(
        "truncated-split-checks",
        truncate("data/prepared/split_checks.json"),
        ("split_checks.json", "dvc repro"),
        "audit",
    ),
    Case(
        "truncated-best-params",
        truncate("models/best_params.json"),
        ("best_params.json", "dvc repro"),
        "train",
    ),
    Case(
        "truncated-baseline-report",
        truncate("reports/baseline/metrics.json"),
        ("reports/baseline/metrics.json", "dvc repro"),
        "train",
    ),
    Case(
        "baseline-report-other-metric",
        replace("reports/baseline/metrics.json", '{"models": {"dummy": {"cv": {}}}}'),
        ("reports/baseline/metrics.json", "dvc repro"),
        "train",
    ),
    Case(
        "truncated-bundle-json",
        truncate(f"{MODEL}/bundle.json"),
        ("bundle.json", "dvc repro"),
        "evaluate",
    ),
    Case(
        "truncated-model-json",
        truncate(f"{MODEL}/model/model.json"),
        ("model.json", "dvc repro"),
        "evaluate",
    ),
    Case(
        "truncated-model-cbm",
        truncate(f"{MODEL}/model/model.cbm"),
        ("model.cbm", "dvc repro"),
        "evaluate",
    ),
    Case(
        "garbage-model-cbm",
        replace(f"{MODEL}/model/model.cbm", "not a model"),
        ("model.cbm", "dvc repro"),
        "evaluate",
    ),
    Case(
        "missing-model-cbm",
        remove(f"{MODEL}/model/model.cbm"),
        ("model.cbm", "not found"),
        "evaluate",
    ),
    Case(
        "missing-bundle",
        lambda p: shutil.rmtree(p.path(MODEL)),
        ("models/model", "dvc repro"),
        "evaluate",
    ),
    Case("truncated-test", truncate(TEST), (TEST, "dvc repro"), "evaluate"),
    Case(
        "damaged-journal",
        replace(JOURNAL, '{"op_code": 0}\n{not json}\n'),
        (JOURNAL, "delete"),
        "tune",
    ),
    Case(
        "test-from-another-run",
        lambda p: pd.read_parquet(p.path(TEST)).drop(columns=["x1"]).to_parquet(p.path(TEST)),
        (TEST, "x1"),
        "evaluate",
    ),
]


@pytest.mark.parametrize("case", DAMAGED, ids=[c.id for c in DAMAGED])
def test_damaged_file(built: Path, tmp_path: Path, case: Case) -> None:
    root = tmp_path / "p"
    shutil.copytree(built, root)
    project = Tiny.__new__(Tiny)
    project.root = root
    for output in OUTPUTS[case.stage]:
        path = project.path(output)
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    case.setup(project)
    result = project.run(case.stage)
    if case.stage == "tune":  # its own progress bar may precede the error line
        result = Result(result.code, result.out, _without_bar(result.err), result.warnings)
    assert_one_line_error(result, *case.culprits)
    for output in OUTPUTS[case.stage]:
        assert not project.exists(output), output


def test_tuning_resumes_after_a_kill_mid_write(built: Path, tmp_path: Path) -> None:
    """A journal record cut off by a kill is dropped; the study resumes to its full trials."""
    root = tmp_path / "p"
    shutil.copytree(built, root)
    project = Tiny.__new__(Tiny)
    project.root = root
    journal = project.path(JOURNAL)
    data = journal.read_bytes()
    journal.write_bytes(data + data.splitlines(keepends=True)[-1][:25])
    project.set({"tune": {"n_trials": 3}})
    assert project.run("tune").code == 0
    assert json.loads(project.path("models/best_params.json").read_text())["params"]


def _without_bar(err: str) -> str:
    return "\n".join(
        line for line in err.splitlines() if line.strip() and not line.startswith("tune:")
    )


@pytest.mark.parametrize(
    ("stage", "changes", "culprit"),
    [
        (
            stage,
            {"tune": {"search_space": {"deph": {"low": 2, "high": 4, "type": "int"}}}},
            "tune.search_space.deph",
        )
        for stage in STAGES
    ]
    + [
        (stage, {"model": {"catboost": {"learning_rat": 0.1}}}, "model.catboost.learning_rat")
        for stage in STAGES
    ],
)
def test_the_same_settings_error_in_every_stage(
    built: Path, tmp_path: Path, stage, changes, culprit
) -> None:
    """An unknown setting or search name stops every stage with the same line, before any work."""
    root = tmp_path / "p"
    shutil.copytree(built, root)
    project = Tiny.__new__(Tiny)
    project.root = root
    project.set(changes)
    for output in OUTPUTS[stage]:
        path = project.path(output)
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    result = project.run(stage)
    assert_one_line_error(result, culprit)
    for output in OUTPUTS[stage]:
        assert not project.exists(output), output


def test_scoring_reads_numbers_by_the_same_rules(built: Path) -> None:
    """Bundle.predict: a decimal comma is refused (never read as 15), an infinity is missing."""
    from foldwise.bundle import load_bundle_checked
    from foldwise.errors import FoldwiseError

    bundle = load_bundle_checked(built / MODEL)
    rows = tiny_table(4, seed=5).astype({"x1": "object"})
    rows.loc[0, "x1"] = "1,5"
    with pytest.raises(FoldwiseError, match=r"column 'x1'.*'1,5'"):
        bundle.predict(rows)
    rows.loc[0, "x1"] = np.inf
    scored = bundle.predict(rows.astype({"x1": "float64"}))
    assert np.isfinite(scored["proba_Yes"]).all()
