"""run_audit: the audit stage as a library function with a frozen, typed result."""

import dataclasses

import pytest

from foldwise.audit.run import HEADLINE, run_audit
from foldwise.config import AuditConfig
from tests.audit.helpers import planted, schema_for


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_run_audit_fails_on_a_planted_leak_and_says_so_once(task):
    frame = planted(task, n=500)
    schema = schema_for(frame, "label", task)
    result = run_audit(frame, schema, {}, AuditConfig(fail_on=["leakage"]), 0)
    assert not result.passed
    assert result.details["passed"] is False
    assert list(result.headline()) == [k for k in HEADLINE if k in result.details]
    assert [f["column"] for f in result.failing] == ["leak"]
    message = result.failure_message()
    assert "leak" in message
    assert "\n" not in message
    assert result.markdown().startswith("# Data audit: FAILED")
    assert result.summary_line("reports/audit/audit.md").startswith("audit FAILED:")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.failing = ()  # type: ignore[misc]


def test_run_audit_passes_when_nothing_is_in_fail_on():
    frame = planted("binary", n=500)
    result = run_audit(frame, schema_for(frame, "label", "binary"), {}, AuditConfig(fail_on=[]), 0)
    assert result.passed
    assert result.failing == ()
    assert result.headline()["passed"] is True
    assert result.summary_line("audit.md").startswith("audit passed:")
