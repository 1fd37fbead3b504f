"""The repository's demo project: where its ``params.yaml`` differs from the defaults, and why."""

from __future__ import annotations

from typing import Any

# The built-in churn demo's values where they differ from the defaults. Everything else in
# the repository's params.yaml is a default.
DEMO_OVERRIDES: dict[str, Any] = {
    "data.id_columns": ["customer_id"],
    "data.drop_columns": ["account_closure_fee"],
    "problem.positive_label": "Yes",
    "evaluate.segments": ["plan", "contract_type", "region"],
}
# Comments that say why the demo overrides a default.
DEMO_COMMENTS: dict[str, str] = {
    "data.drop_columns": "account_closure_fee is only known after a customer churned: the "
    "audit flags it as leakage; it stays in the tables for the audit but is never a feature.",
}
