"""End-to-end `foldwise compare` and `foldwise test-usage` on real pipeline runs.

One temporary git + DVC repository is built for the whole module:

- commit "foldwise pipeline": no reports (a base without metrics);
- commit "dummy" (branch ``dummy-base``): ``model.name: dummy``;
- commit "catboost" (HEAD, and the workspace): ``model.name: catboost``;
- experiments on top of HEAD: ``seed-change`` (another seed: other split and folds),
  ``few-trees`` (one boosting round of one split: clearly worse), ``log-loss`` (another
  primary metric) and ``diabetes`` (a regression table).

The data and folds are sized so that no verdict hangs on a lucky draw: with 1000 demo rows and
5 folds the corrected resampled t-test calls the degraded model worse with p <= 0.012 on each
of demo.seed 0, 1 and 2 (its critical t on 3 folds is 4.3: there the same model was only
marginally worse, p ~0.03, even with 2000 rows).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image
import pytest

from tests.conftest import FAST_PARAMS, Project

pytestmark = pytest.mark.slow

ROWS = 1000
FOLDS = 5
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASSIFICATION_PLOTS = {"cv_folds.png", "roc.png", "precision_recall.png", "calibration.png"}
DIFFERENT_FOLDS = "The runs used different cross-validation folds"
DIFFERENT_TEST = "The runs scored different test tables"
LOOKS = re.compile(
    r"has been scored by (\d+) distinct evaluate run\(s\): (\d+) commit\(s\), "
    r"(\d+) experiment\(s\)"
)

# Experiments (name -> -S overrides), each run from the catboost commit.
EXPERIMENTS = {
    "seed-change": ["seed=7"],
    # One round of one split. Tuning searches depth (4..8) and early stopping picks the
    # rounds under the iterations cap, so the cap alone leaves a usable tree; pinning depth
    # in the search space leaves a single split (CV roc_auc ~0.59 vs ~0.79).
    "few-trees": ["model.catboost.iterations=1", "+tune.search_space.depth=1"],
    # Same table and task, judged by another metric; the model does not matter (dummy: fast).
    "log-loss": ["problem.metric=log_loss", "model.name=dummy"],
    "diabetes": [
        "data.source=data/builtin/diabetes.csv",
        "data.target=progression",
        "data.id_columns=[]",
        "data.drop_columns=[]",
        "problem.positive_label=null",
        "evaluate.segments=[]",
        "model.name=dummy",
    ],
}


@dataclass
class Repo:
    project: Project
    first: str  # "foldwise pipeline": no reports
    dummy: str
    catboost: str
    branch: str  # the branch at the catboost commit

    @property
    def root(self) -> Path:
        return self.project.root


def _head(project: Project) -> str:
    return project.run(["git", "rev-parse", "HEAD"]).stdout.strip()


def _restore_head(project: Project) -> None:
    """`dvc exp run` leaves its params and outputs in the workspace; go back to HEAD."""
    project.run(["git", "reset", "-q", "--hard"])
    project.dvc("checkout", "-f", "-q", "--with-deps", "evaluate")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Repo:
    project = Project.create(tmp_path_factory.mktemp("compare") / "proj")
    first = _head(project)
    project.set_params(demo={"rows": ROWS}, cv={"folds": FOLDS}, model={"name": "dummy"})
    # compare reads what evaluate and the stages before it write; explain, validate and card
    # (downstream of evaluate) would only add minutes.
    project.dvc("repro", "evaluate")
    project.commit("dummy")
    dummy = _head(project)
    project.run(["git", "branch", "dummy-base"])
    project.set_params(model={"name": "catboost"})
    project.dvc("repro", "evaluate")
    project.commit("catboost")
    catboost = _head(project)
    branch = project.run(["git", "rev-parse", "--abbrev-ref", "HEAD"]).stdout.strip()
    for name, overrides in EXPERIMENTS.items():
        sets = [arg for value in overrides for arg in ("-S", value)]
        project.dvc("exp", "run", "-q", "-n", name, *sets, "evaluate")
        _restore_head(project)
    assert project.run(["git", "status", "--porcelain"]).stdout == ""
    return Repo(project, first, dummy, catboost, branch)


def foldwise(repo: Repo, *args: str) -> subprocess.CompletedProcess:
    return repo.project.run([sys.executable, "-m", "foldwise.cli", *args], check=False)


def compare(repo: Repo, out: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    result = foldwise(repo, "compare", *args, "--out", str(out))
    summary_path = out / "comparison.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    return result, summary


def row(rows: list[dict], metric: str) -> dict:
    (found,) = [r for r in rows if r["metric"] == metric]
    return found


def looks(text: str) -> tuple[int, int, int]:
    match = LOOKS.search(text)
    assert match, text
    return int(match[1]), int(match[2]), int(match[3])


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- verdicts and the gate ---------------------------------------------------------------


def test_improvement_against_the_workspace_is_better(repo):
    # BASE by branch name; TARGET defaults to the workspace (= the catboost commit).
    result = foldwise(repo, "compare", "dummy-base", "--fail-on-regression")
    assert result.returncode == 0, result.stderr
    summary = json.loads((repo.root / "reports/compare/comparison.json").read_text())
    assert summary["base"] == {"label": "dummy-base", "sha": repo.dummy}
    assert summary["target"] == {"label": "workspace", "sha": None}
    assert [c["key"] for c in summary["params_changed"]] == ["model.name"]
    assert summary["same_folds"] is True
    assert summary["same_test_table"] is True
    assert summary["primary_metric"] == "roc_auc"

    cv = summary["cv"][0]
    assert cv["metric"] == "roc_auc"
    assert cv["method"] == "corrected paired t-test"
    assert cv["base"] == pytest.approx(0.5)  # the dummy ranks nothing
    assert cv["delta"] > 0.2
    assert cv["low"] > 0
    assert cv["verdict"] == "better"
    test = row(summary["test"], "roc_auc")
    assert test["method"] == "paired bootstrap (same test rows)"
    assert test["low"] > 0
    assert test["verdict"] == "better"

    assert summary["gate"]["failed"] is False
    # compare counts the looks at the test table too (see the test-usage test below).
    usage = summary["test_usage"]
    assert (usage["evaluations"], usage["commits"], usage["experiments"]) == (4, 2, 2)
    assert usage["workspace_uncommitted"] is False
    assert "regression gate passed" in result.stdout
    assert re.search(r"^\* cv roc_auc: 0\.5000 -> 0\.\d{4}  better", result.stdout, re.M)
    assert DIFFERENT_FOLDS not in result.stdout


def test_seed_only_change_is_within_noise_and_passes_the_gate(repo, tmp_path):
    result, summary = compare(repo, tmp_path, repo.branch, "seed-change", "--fail-on-regression")
    assert result.returncode == 0, result.stderr
    assert summary["base"]["sha"] == repo.catboost
    assert summary["target"]["label"] == "seed-change"
    assert [c["key"] for c in summary["params_changed"]] == ["seed"]
    # The seed moves the split and the folds: nothing can be paired, and compare says so.
    assert summary["same_folds"] is False
    assert summary["same_test_table"] is False
    assert any(w.startswith(DIFFERENT_FOLDS) for w in summary["warnings"])
    assert any(w.startswith(DIFFERENT_TEST) for w in summary["warnings"])
    assert f"warning: {DIFFERENT_FOLDS}" in result.stdout
    cv = summary["cv"][0]
    assert cv["metric"] == "roc_auc"
    assert cv["method"] == "corrected Welch t-test (unpaired)"
    assert cv["low"] < 0 < cv["high"]
    assert cv["verdict"] == "within noise"
    test = row(summary["test"], "roc_auc")
    assert test["method"] == "independent bootstrap (different test rows)"
    assert summary["gate"]["failed"] is False
    assert "regression gate passed" in result.stdout
    assert result.stderr == ""


def test_degraded_model_is_worse_and_fails_the_gate(repo, tmp_path):
    result, summary = compare(repo, tmp_path, repo.catboost, "few-trees", "--fail-on-regression")
    assert result.returncode == 1, result.stdout + result.stderr
    line = one_error_line(result)
    assert line.startswith("error: regression gate failed: ")
    assert "cross-validated roc_auc" in line
    # The report is written before the gate fails the command.
    assert summary["base"] == {"label": repo.catboost, "sha": repo.catboost}
    assert summary["target"]["label"] == "few-trees"
    changed = {c["key"]: (c["base"], c["target"]) for c in summary["params_changed"]}
    assert changed["model.catboost.iterations"] == (
        FAST_PARAMS["model"]["catboost"]["iterations"],
        1,
    )
    assert changed["tune.search_space.depth"] == (None, 1)
    assert summary["same_folds"] is True
    assert summary["same_test_table"] is True
    cv = summary["cv"][0]
    assert cv["method"] == "corrected paired t-test"
    assert cv["delta"] < -0.1
    assert cv["high"] < 0
    assert cv["verdict"] == "worse"
    assert summary["gate"]["failed"] is True
    assert row(summary["test"], "roc_auc")["verdict"] == "worse"


def test_swapping_base_and_target_flips_the_verdict(repo, tmp_path):
    # An experiment as BASE: going back from the degraded model is an improvement.
    result, summary = compare(repo, tmp_path, "few-trees", repo.branch, "--fail-on-regression")
    assert result.returncode == 0, result.stderr
    assert summary["base"]["label"] == "few-trees"
    assert summary["target"]["sha"] == repo.catboost
    cv = summary["cv"][0]
    assert cv["delta"] > 0.1
    assert cv["verdict"] == "better"
    assert summary["gate"]["failed"] is False


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            lambda r: [r.first],
            lambda r: f"error: compare: {r.first} has no reports/train/metrics.json",
        ),
        (
            lambda r: [r.branch, "log-loss"],
            lambda r: f"error: compare: {r.branch} is judged by roc_auc but log-loss by log_loss",
        ),
        (
            lambda r: ["diabetes"],
            lambda r: "error: compare: diabetes is a regression run but workspace is a binary run",
        ),
        (
            lambda r: [r.branch, "no-such-experiment"],
            lambda r: (
                "error: compare: 'no-such-experiment' is neither a git revision nor a DVC "
                "experiment"
            ),
        ),
    ],
    ids=["base-without-metrics", "other-primary-metric", "other-task", "missing-experiment"],
)
def test_bad_revisions_exit_2_with_one_line(repo, tmp_path, args, message):
    out = tmp_path / "report"
    result, _ = compare(repo, out, *args(repo))
    assert result.returncode == 2, result.stdout + result.stderr
    assert one_error_line(result).startswith(message(repo))
    assert result.stdout == ""
    assert not out.exists()


# --- the report --------------------------------------------------------------------------


def test_report_has_markdown_json_and_real_pngs(repo, tmp_path):
    out = tmp_path / "report"
    result, summary = compare(repo, out, repo.dummy, repo.catboost, "--md")
    assert result.returncode == 0, result.stderr
    assert summary["cv"][0]["verdict"] == "better"
    assert {p.name for p in out.iterdir()} == {"report.md", "comparison.json"} | (
        CLASSIFICATION_PLOTS
    )
    for name in CLASSIFICATION_PLOTS:
        path = out / name
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        image = matplotlib.image.imread(path)
        assert image.ndim == 3
        assert image.shape[0] > 100
        assert image.shape[1] > 100
        assert image.std() > 0  # not a blank canvas

    report = (out / "report.md").read_text()
    assert sorted(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)) == sorted(CLASSIFICATION_PLOTS)
    assert f"({repo.dummy[:7]})" in report
    assert f"({repo.catboost[:7]})" in report
    assert "| `model.name` | `dummy` | `catboost` |" in report

    # --md prints the same report with image links that work from the current directory.
    stdout = result.stdout
    headline = next(line for line in stdout.splitlines() if line.startswith("**Cross-validated"))
    assert "roc_auc" in headline
    assert "better" in headline
    assert "worse" not in headline
    assert "within noise" not in headline
    test_row = next(
        line
        for line in stdout.split("## Test set", 1)[1].splitlines()
        if line.startswith("| roc_auc |")
    )
    assert "better" in test_row
    assert "**Regression gate:** passed" in stdout
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", stdout)
    assert sorted(Path(link).name for link in links) == sorted(CLASSIFICATION_PLOTS)
    for link in links:
        assert (repo.root / link).resolve() == (out / Path(link).name).resolve()


# --- test-set hygiene --------------------------------------------------------------------


def test_test_usage_counts_every_look_at_the_test_table(repo):
    # The catboost commit's test table was scored by the dummy and catboost commits and by
    # the few-trees and log-loss experiments (same seed, same split); seed-change and
    # diabetes scored other tables, and the first commit scored nothing.
    result = foldwise(repo, "test-usage")
    assert result.returncode == 0, result.stderr
    assert looks(result.stdout) == (4, 2, 2)
    assert "Warning:" in result.stdout
    assert "uncommitted workspace" not in result.stdout

    result = foldwise(repo, "test-usage", "seed-change")
    assert result.returncode == 0, result.stderr
    assert looks(result.stdout) == (1, 0, 1)
    assert "One look" in result.stdout
    assert "Warning" not in result.stdout

    result = foldwise(repo, "test-usage", repo.first)
    assert result.returncode == 2
    assert f"{repo.first} has no reports/train/metrics.json" in one_error_line(result)
