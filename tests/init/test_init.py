"""`foldwise init`: params.yaml for a new table, its rules, its refusals and DVC tracking."""

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from foldwise.cli import main
from foldwise.config import read_params
from foldwise.config.demo_params import DEMO_COMMENTS
from foldwise.config.generate import DEMO_HEADER
from foldwise.errors import FoldwiseError
from foldwise.init import SplitColumns, init_project
from foldwise.init.columns import looks_like_id_name
from foldwise.init.params_file import default_params_text
from foldwise.model_settings import load_config
from tests.conftest import ROOT
from tests.support.realistic_tables import profile_table


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A project folder with the pipeline's dvc.yaml and the demo's params.yaml."""
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(root, frame, name="table.csv"):
    path = root / "data" / "raw" / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return f"data/raw/{name}"


def init(root, source, target="target", **options):
    return init_project(root, source, target, track=False, **options)


def test_the_demo_default_is_the_repository_params_yaml():
    assert default_params_text() == (ROOT / "params.yaml").read_text(encoding="utf-8"), (
        "params.yaml is generated: python -m foldwise.config.generate"
    )


def test_binary_yes_no_with_id_date_and_test_table(root):
    source = write(root, profile_table(600, seed=1, date=True))
    test = write(root, profile_table(150, seed=2, date=True), "test.csv")
    result = init(root, source, test_source=test)
    config = load_config(root / "params.yaml")
    assert config.data.source == "data/raw/table.csv"
    assert config.data.test_source == "data/raw/test.csv"
    assert config.data.target == "target"
    assert config.data.id_columns == ["customer_id"]
    assert config.data.date_columns == ["signup_date"]
    assert config.data.drop_columns == []
    assert config.problem.task == "binary"
    assert config.problem.positive_label == "Yes"
    assert config.problem.metric == "roc_auc"
    assert config.evaluate.segments == ["plan", "contract", "region"]
    text = (root / "params.yaml").read_text()
    for demo_word in ("churned", "account_closure_fee", "contract_type", "data/builtin/churn"):
        assert demo_word not in text.replace("data/builtin/{churn", "")
    # every other comment of the demo's file is still there
    demo_only = DEMO_COMMENTS["data.drop_columns"]
    kept = [ln.strip() for ln in default_params_text().splitlines() if "#" in ln]
    kept = [ln[ln.index("#") :] for ln in kept if ln.startswith("# ") or "  #" in ln]
    kept = [c.removeprefix("# ") for c in kept]
    kept = [c for c in kept if c not in demo_only and c not in DEMO_HEADER[2:]]
    assert kept
    assert all(comment in text for comment in kept)
    assert 'positive_label: "Yes"' in text
    lines = "\n".join(result.lines)
    assert "task: binary (target 'target' has 2 distinct values ('No', 'Yes'))" in lines
    assert "positive class: 'Yes' (rule:" in lines
    assert "customer_id (named like an id" in lines
    assert "--time-column signup_date" in lines  # a hint, never a silent choice
    assert lines.endswith("next: dvc repro")


@pytest.mark.parametrize(
    ("labels", "written", "value"),
    [
        ((0, 1), "positive_label: 1", 1),
        ((False, True), "positive_label: true", True),
        (("no", "yes"), 'positive_label: "yes"', "yes"),
    ],
)
def test_binary_positive_rules(root, labels, written, value):
    source = write(root, profile_table(400, seed=3, labels=labels), "table.parquet")
    result = init(root, source)
    assert written in (root / "params.yaml").read_text()
    assert read_params(root / "params.yaml")["problem"]["positive_label"] == value
    assert result.plan.positive_reason.startswith("rule:")


def test_ambiguous_labels_need_positive(root, capsys):
    source = write(root, profile_table(400, seed=4, labels=("<=50K", ">50K")))
    with pytest.raises(FoldwiseError, match=r"pass --positive '<=50K' or '>50K'"):
        init(root, source)
    assert (root / "params.yaml").read_text() == default_params_text()  # nothing written
    init(root, source, positive=">50K")
    assert 'positive_label: ">50K"' in (root / "params.yaml").read_text()
    assert load_config(root / "params.yaml").problem.positive_label == ">50K"
    with pytest.raises(FoldwiseError, match=r"--positive 'yes' is not a value of target"):
        init(root, source, positive="yes", force=True)


def test_cli_error_is_one_line_and_exit_2(root, capsys):
    source = write(root, profile_table(300, seed=5, labels=("B", "M")))
    with pytest.raises(SystemExit) as exc:
        main(["init", source, "--target", "target", "--root", str(root)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: target 'target' has the labels ['B', 'M']")
    assert "\n" not in err


def test_multiclass_and_regression(root):
    source = write(root, profile_table(500, seed=6, task="multiclass"))
    result = init(root, source)
    config = load_config(root / "params.yaml")
    assert (config.problem.task, config.problem.metric) == ("multiclass", "log_loss")
    assert config.problem.positive_label is None
    assert "3 distinct labels" in result.plan.task_reason
    source = write(root, profile_table(500, seed=7, task="regression"), "prices.csv")
    init(root, source, force=True)
    config = load_config(root / "params.yaml")
    assert (config.problem.task, config.problem.metric) == ("regression", "rmse")
    assert config.problem.positive_label is None
    with pytest.raises(FoldwiseError, match="--positive is for binary targets"):
        init(root, source, positive="1", force=True)


def test_refuses_to_overwrite_an_edited_params_yaml(root):
    source = write(root, profile_table(300, seed=8))
    init(root, source)
    init(root, source)  # the same file again: nothing to lose
    edited = (root / "params.yaml").read_text().replace("seed: 42 ", "seed: 7  ")
    (root / "params.yaml").write_text(edited)
    with pytest.raises(FoldwiseError, match=r"differs from the demo's default.*--force"):
        init(root, source)
    assert (root / "params.yaml").read_text() == edited
    init(root, source, force=True)
    assert load_config(root / "params.yaml").seed == 42


def test_time_and_group_columns(root):
    frame = profile_table(400, seed=9, date=True)
    source = write(root, frame)
    init(root, source, split=SplitColumns(time_column="signup_date"))
    config = load_config(root / "params.yaml")
    assert config.data.time_column == "signup_date"
    assert config.data.date_columns == []  # the time column is parsed as a date anyway
    frame["household"] = [f"H{i // 3:04d}" for i in range(len(frame))]
    write(root, frame)
    init(root, source, split=SplitColumns(group_column="household"), force=True)
    assert load_config(root / "params.yaml").data.group_column == "household"
    both = SplitColumns(time_column="signup_date", group_column="household")
    with pytest.raises(FoldwiseError, match="not both"):
        init(root, source, split=both, force=True)
    with pytest.raises(FoldwiseError, match="--time-column 'plan' is not a date"):
        init(root, source, split=SplitColumns(time_column="plan"), force=True)


def test_id_and_date_detection(root):
    rng = np.random.default_rng(10)
    frame = profile_table(300, seed=10, with_id=False)
    frame.insert(0, "row_number", np.arange(1, 301))
    frame["usage_gb"] = rng.gamma(2.0, 15.0, 300).round(3)  # unique per row, not an id
    frame["order_key"] = [f"K{v:08x}" for v in rng.choice(10**8, 300, replace=False)]
    frame["StoreID"] = rng.choice(["S1", "S2", "S3"], 300)  # an id name, but a category
    frame["joined"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, 300), "D")
    frame["joined"] = frame["joined"].dt.strftime("%d/%m/%Y")
    frame["band"] = rng.choice(["1-2", "3-5", "6-9"], 300)  # ranges, not dates
    plan = init(root, write(root, frame)).plan
    assert set(plan.id_columns) == {"row_number", "order_key"}
    assert list(plan.date_columns) == ["joined"]
    assert load_config(root / "params.yaml").data.date_columns == ["joined"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("id", True),
        ("customer_id", True),
        ("CustomerID", True),
        ("row-id", True),
        ("uuid", True),
        ("paid", False),
        ("valid", False),
        ("idea", False),
    ],
)
def test_id_names(name, expected):
    assert looks_like_id_name(name) is expected


def test_bad_inputs(root, tmp_path_factory):
    source = write(root, profile_table(300, seed=11))
    with pytest.raises(FoldwiseError, match=r"--target 'targte' is not a column.*did you mean"):
        init(root, source, target="targte")
    outside = tmp_path_factory.mktemp("elsewhere") / "t.csv"
    profile_table(300, seed=11).to_csv(outside, index=False)
    with pytest.raises(FoldwiseError, match="outside the project: copy it into data/raw/"):
        init(root, str(outside))
    other = profile_table(100, seed=12, labels=("No", "Maybe"))
    test = write(root, other, "test.csv")
    with pytest.raises(FoldwiseError, match=r"label\(s\) 'Maybe' that data/raw/table.csv"):
        init(root, source, test_source=test)
    assert (root / "params.yaml").read_text() == default_params_text()
    assert not list(root.glob(".params.yaml*"))


def test_tracks_the_tables_with_dvc(root):
    source = write(root, profile_table(300, seed=13))
    with pytest.raises(FoldwiseError, match="not a DVC repository"):
        init_project(root, source, "target")
    for args in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(args, cwd=root, check=True, capture_output=True)
    moved = root / "data" / "elsewhere.csv"
    profile_table(300, seed=13).to_csv(moved, index=False)
    with pytest.raises(FoldwiseError, match="not under data/raw/"):
        init_project(root, "data/elsewhere.csv", "target")
    test = write(root, profile_table(100, seed=14), "test.csv")
    result = init_project(root, source, "target", test_source=test)
    assert result.tracked == [source, test]
    assert (root / "data/raw/table.csv.dvc").is_file()
    assert (root / "data/raw/test.csv.dvc").is_file()
    assert "table.csv" in (root / "data/raw/.gitignore").read_text()
    again = init_project(root, source, "target", test_source=test)
    assert again.tracked == []


def test_semicolon_separated_table(root):
    frame = profile_table(300, seed=15)
    path = root / "data" / "raw" / "bank.csv"
    frame.to_csv(path, index=False, sep=";")
    init(root, "data/raw/bank.csv")
    config = load_config(root / "params.yaml")
    assert config.data.csv_separator == ";"
    assert config.data.id_columns == ["customer_id"]


def test_paths_are_taken_from_the_root(root, tmp_path_factory, monkeypatch):
    """`--root` elsewhere: SOURCE is found under the root, not the working directory."""
    source = write(root, profile_table(200, seed=16))
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    init(root, source)
    assert load_config(root / "params.yaml").data.source == source


def incomes_with_lone_separators(root) -> str:
    """Incomes written as "27,000": no cell proves ',' separates thousands."""
    frame = profile_table(300, seed=8)
    incomes = np.random.default_rng(8).integers(20, 400, len(frame)) * 100
    frame.insert(1, "income", [f"{v:,}" for v in incomes])
    return write(root, frame)


def test_lone_thousands_separators_are_refused_naming_the_way_out(root, capsys):
    source = incomes_with_lone_separators(root)
    before = (root / "params.yaml").read_text()
    with pytest.raises(SystemExit) as exc:
        main(["init", source, "--target", "target", "--root", str(root)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    for part in ("column 'income'", "is ambiguous", 'data.thousands: ","', '--thousands ","'):
        assert part in err
    assert "data.decimal" in err
    assert "\n" not in err
    assert (root / "params.yaml").read_text() == before
    # The option it names is taken: the same call gets past the column (to DVC tracking).
    with pytest.raises(SystemExit):
        main(["init", source, "--target", "target", "--thousands", ",", "--root", str(root)])
    assert "ambiguous" not in capsys.readouterr().err


def test_thousands_option_reads_them_and_prepare_follows(root):
    from foldwise.prepare import prepare_tables

    source = incomes_with_lone_separators(root)
    init(root, source, thousands=",")
    config = load_config(root / "params.yaml")
    assert config.data.thousands == ","
    assert "--thousands ," in (root / "params.yaml").read_text()
    prepared = prepare_tables(config, root)
    typed = pd.concat([prepared.train, prepared.test])
    written = pd.read_csv(root / source, dtype=str)["income"]
    expected = sorted(written.str.replace(",", "", regex=False).astype(float))
    assert sorted(typed["income"].astype(float)) == expected


def test_thousands_must_differ_from_the_decimal_mark(root):
    text = (root / "params.yaml").read_text().replace("thousands: null", 'thousands: "."')
    (root / "params.yaml").write_text(text)
    with pytest.raises(FoldwiseError, match=r"data.thousands '\.' is also data.decimal"):
        load_config(root / "params.yaml")


def test_cli_split_options_reach_the_plan(root, capsys):
    """--time-column and --group-column are checked as one split (refused before any tracking)."""
    frame = profile_table(300, seed=9, date=True)
    frame["household"] = [f"H{i // 3:04d}" for i in range(len(frame))]
    source = write(root, frame)
    command = ["init", source, "--target", "target", "--root", str(root)]
    with pytest.raises(SystemExit) as exc:
        main([*command, "--time-column", "signup_date", "--group-column", "household"])
    assert exc.value.code == 2
    assert "pass --time-column or --group-column, not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*command, "--time-column", "plan"])
    assert "--time-column 'plan' is not a date" in capsys.readouterr().err
