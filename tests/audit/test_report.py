"""The audit's fail_on, Markdown report, failure line and stage."""

import importlib.util
import json

import pytest
import yaml

from foldwise.audit import build_audit, failed_findings, render_markdown
from foldwise.config import AuditConfig
from foldwise.errors import FoldwiseError
from tests.audit.helpers import (
    ROOT,
    checks_for,
    planted,
    schema_for,
    split,
)


def test_failed_findings_respects_fail_on_and_passed():
    frame = planted("binary")
    schema = schema_for(frame, "label", "binary")
    lenient = build_audit(frame, schema, {}, AuditConfig(fail_on=["drift", "missing"]), 0)
    assert failed_findings(lenient, ["drift", "missing"]) == []
    assert lenient["passed"] is True
    assert [f["column"] for f in failed_findings(lenient, ["leakage"])] == ["leak"]
    strict = build_audit(frame, schema, {}, AuditConfig(fail_on=["leakage"]), 0)
    assert strict["passed"] is False
    assert strict["n_failing"] == 1
    assert strict["summary"]["failing_kinds"] == ["leakage"]


def test_render_markdown_names_the_leaky_column():
    frame = planted("binary")
    train, test = split(frame)
    schema = schema_for(frame, "label", "binary")
    audit = build_audit(
        train, schema, checks_for(train, test, schema), AuditConfig(fail_on=["leakage"]), 0
    )
    text = render_markdown(audit)
    assert text.startswith("# Data audit: FAILED")
    findings = text[text.index("## Findings") : text.index("## Dataset")]
    assert "| FAIL | leakage | `leak` |" in findings
    assert "## Leakage" in text
    assert "## Train vs test" in text
    assert render_markdown(json.loads(json.dumps(audit))) == text
    assert "Training table: " in text
    assert "; target `label` (binary)." in text.splitlines()[2]
    assert audit["target_column"] == "label"
    assert not any(mark in text for mark in ("{'", "['", "None", "nan")), text


def load_stage():
    spec = importlib.util.spec_from_file_location("audit_stage", ROOT / "stages" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("fail_on", [[], ["leakage"]])
def test_stage_writes_reports_and_fails_with_one_line(tmp_path, monkeypatch, fail_on):
    frame = planted("binary", n=400)
    train, test = split(frame)
    schema = schema_for(frame, "label", "binary")
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    train.to_parquet(prepared / "train.parquet")
    (prepared / "schema.json").write_text(json.dumps(schema))
    (prepared / "split_checks.json").write_text(json.dumps(checks_for(train, test, schema)))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"audit": {"fail_on": fail_on}}))
    monkeypatch.chdir(tmp_path)
    stage = load_stage()
    if fail_on:
        with pytest.raises(FoldwiseError) as err:
            stage.main()
        message = str(err.value)
        assert message.startswith("audit failed on audit.fail_on: leakage in column 'leak' (")
        assert "single-feature roc_auc" in message
        assert "To fix: add 'leak' to data.drop_columns" in message
        assert "or remove 'leakage' from audit.fail_on" in message
        assert "\n" not in message
    else:
        stage.main()
    audit = json.loads((tmp_path / "reports" / "audit" / "audit.json").read_text())
    assert audit["passed"] is not bool(fail_on)
    assert {"n_findings", "rows_train", "adversarial_auc", "max_psi", "leakage_columns"} <= set(
        audit
    )
    details = json.loads((tmp_path / "reports" / "audit" / "audit_details.json").read_text())
    assert "leak" in {f["column"] for f in details["findings"]}
    assert "findings" not in audit  # the metrics file stays flat
    assert "leak" in (tmp_path / "reports" / "audit" / "audit.md").read_text()
    assert not list((tmp_path / "reports" / "audit").glob("*.tmp"))
