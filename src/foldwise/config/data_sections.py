"""The params.yaml sections that describe the table and the problem: data, demo, problem, split, cv."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from foldwise.config.base import Scalar, Section
from foldwise.metrics import METRICS


class DataConfig(Section):
    source: str = Field(
        default="data/builtin/churn.csv",
        description="The table to learn from: a `.csv` or `.parquet` path relative to the "
        "project root, or one of the built-in tables the generate stage writes: "
        "data/builtin/{churn,breast_cancer,wine,diabetes}.csv.",
        json_schema_extra={
            "comment": "The table: a CSV or Parquet path, or one of the built-in tables written "
            "by the generate stage: data/builtin/{churn,breast_cancer,wine,diabetes}.csv"
        },
    )
    test_source: str | None = Field(
        default=None,
        description="A separate test table with the same columns; otherwise the test set is "
        "split from `data.source`.",
        json_schema_extra={
            "comment": "optional separate test table (same columns), e.g. data/raw/test.csv"
        },
    )
    target: str = Field(default="churned", description="The column to predict.")
    id_columns: list[str] = Field(
        default_factory=list,
        description="Identifier columns: read as text, kept for error analysis, never features.",
        json_schema_extra={"comment": "kept for error analysis, never used as features"},
    )
    time_column: str | None = Field(
        default=None,
        description="A date or number column ordering the rows; enables the temporal split and "
        "walk-forward cross-validation. Not used as a feature.",
        json_schema_extra={"comment": "set to enable a time-ordered split and walk-forward CV"},
    )
    group_column: str | None = Field(
        default=None,
        description="Rows sharing a value stay on one side of every split (e.g. a customer with "
        "many rows). Not a feature.",
        json_schema_extra={"comment": "rows of one group stay on one side of every split"},
    )
    drop_columns: list[str] = Field(
        default_factory=list,
        description="Columns never used as features, e.g. one only known after the outcome (the "
        "audit flags it as leakage and names it); they stay in the tables for the audit.",
    )
    date_columns: list[str] = Field(
        default_factory=list,
        description="Columns to parse as dates even when their format is not ISO.",
        json_schema_extra={
            "comment": "columns to parse as dates (ISO dates are recognised anyway)"
        },
    )
    csv_separator: Annotated[str, Field(min_length=1, max_length=1)] = Field(
        default=",", description="The CSV field separator (one character)."
    )
    drop_duplicates: bool = Field(
        default=True,
        description="Remove exact duplicate rows of `data.source` before the split. A "
        "`data.test_source` table is never altered: it is scored whole, and the audit reports "
        "its duplicate rows.",
        json_schema_extra={
            "comment": "remove exact duplicate rows of data.source before the split (a "
            "data.test_source table is never altered)"
        },
    )
    decimal: Literal[".", ","] = Field(
        default=".",
        description="The decimal mark of numbers written as text, `.` or `,` (a table with "
        "decimal commas is separated by another character, e.g. `;`).",
        json_schema_extra={
            "comment": 'decimal mark of numbers written as text: "." or "," (then use '
            'csv_separator ";")'
        },
    )
    thousands: Literal[".", ","] | None = Field(
        default=None,
        description="The thousands separator of numbers written as text, when the column "
        "cannot prove it: `,` (with decimal `.`) or `.` (with decimal `,`). Unset, a column "
        "whose only separators are lone groups such as `27,000` (27000, or 27.000 with a "
        "decimal comma?) is refused; set, such cells are read as thousands.",
        json_schema_extra={
            "comment": 'thousands separator when a column cannot prove it, e.g. "," to read '
            '"27,000" as 27000 (null: such a column is refused)'
        },
    )
    label_map: dict[str, str] = Field(
        default_factory=dict,
        description="Target labels renamed in both tables before anything else reads them, "
        'e.g. `{">50K.": ">50K", "<=50K.": "<=50K"}` for the census-income test file whose '
        "labels end in a dot. Cells match with surrounding spaces trimmed; each label is "
        "renamed once (no chains). Recorded in `schema.json` with the count of renamed cells "
        "per table. `foldwise init` writes it when test labels differ from training labels "
        "only by case, surrounding spaces or punctuation, and prints it.",
        json_schema_extra={
            "comment": "target labels renamed in both tables before anything else, e.g. "
            '{">50K.": ">50K"} (census test file); in schema.json'
        },
    )

    @model_validator(mode="after")
    def _label_map_is_one_step(self) -> DataConfig:
        for old, new in self.label_map.items():
            if not old.strip() or not new.strip():
                raise ValueError("data.label_map: labels must not be empty or blank")
            if old.strip() != old:
                raise ValueError(
                    f"data.label_map key {old!r}: write it without surrounding spaces (cells "
                    "are compared with their spaces trimmed)"
                )
            if old == new:
                raise ValueError(f"data.label_map maps {old!r} to itself; remove the entry")
            if new in self.label_map:
                raise ValueError(
                    f"data.label_map maps to {new!r}, which it also renames; each label is "
                    "renamed once, so map every spelling straight to the final label"
                )
        return self

    @model_validator(mode="after")
    def _roles_do_not_overlap(self) -> DataConfig:
        roles: dict[str, list[str]] = {
            "data.id_columns": list(self.id_columns),
            "data.drop_columns": list(self.drop_columns),
            "data.time_column": [self.time_column] if self.time_column else [],
            "data.group_column": [self.group_column] if self.group_column else [],
        }
        for key, cols in roles.items():
            if self.target in cols:
                raise ValueError(
                    f"{key} contains the target column {self.target!r}; the target cannot also "
                    "be an id, dropped, time or group column"
                )
            dupes = sorted({c for c in cols if cols.count(c) > 1})
            if dupes:
                raise ValueError(f"{key} lists {dupes} more than once")
        if self.decimal == self.csv_separator:
            raise ValueError(
                f"data.decimal {self.decimal!r} is also data.csv_separator; a table with "
                'decimal commas is separated by another character, e.g. csv_separator: ";"'
            )
        if self.thousands is not None and self.thousands == self.decimal:
            raise ValueError(
                f"data.thousands {self.thousands!r} is also data.decimal; the thousands "
                f'separator is the other mark ("," with decimal ".", "." with decimal ",")'
            )
        if self.time_column and self.time_column in self.drop_columns:
            raise ValueError(f"data.time_column {self.time_column!r} is also in data.drop_columns")
        return self


class DemoConfig(Section):
    rows: Annotated[int, Field(ge=500, le=20_000_000)] = Field(
        default=20_000, description="Rows of the built-in churn table."
    )
    seed: Annotated[int, Field(ge=0)] = Field(
        default=0,
        description="Seed of the churn table generator, separate from `seed` so experiments "
        "keep the same data.",
    )


class ProblemConfig(Section):
    task: Literal["auto", "binary", "multiclass", "regression"] = Field(
        default="auto",
        description="The task; `auto` infers it from the target and says so.",
        json_schema_extra={"comment": "{choices}"},
    )
    positive_label: Scalar = Field(
        default=None,
        description='Binary only: the positive class (`"Yes"`, `">50K"`, `1`). `null` picks '
        "yes/true/1 if present, else the minority class, and says so.",
        json_schema_extra={"comment": "binary only: which class is positive"},
    )
    metric: str = Field(
        default="auto",
        description="The selection metric: `roc_auc`, `average_precision`, `log_loss`, "
        "`brier`, `accuracy`, `balanced_accuracy`, `f1`, `macro_f1` (classification); `rmse`, "
        "`mae`, `r2`, `mape` (regression). `auto`: `roc_auc` (binary), `log_loss` "
        "(multiclass), `rmse` (regression).",
        json_schema_extra={
            "comment": "auto | roc_auc | average_precision | log_loss | brier | accuracy | ..."
        },
    )

    @model_validator(mode="after")
    def _metric_fits_task(self) -> ProblemConfig:
        if self.metric != "auto":
            if self.metric not in METRICS:
                raise ValueError(
                    f"problem.metric {self.metric!r} is not known; allowed: auto, "
                    + ", ".join(METRICS)
                )
            tasks = METRICS[self.metric].tasks
            if self.task != "auto" and self.task not in tasks:
                raise ValueError(
                    f"problem.metric {self.metric!r} does not fit problem.task "
                    f"{self.task!r}; it is for {', '.join(tasks)}"
                )
        if self.positive_label is not None and self.task in ("regression", "multiclass"):
            raise ValueError(
                f"problem.positive_label is set ({self.positive_label!r}) but problem.task is "
                f"{self.task!r}; a positive label only applies to binary tasks"
            )
        return self


class SplitConfig(Section):
    strategy: Literal["auto", "stratified", "random", "temporal", "group"] = Field(
        default="auto",
        description="`stratified`, `random`, `temporal` (test = the latest period) or `group` "
        "(no group on both sides). `auto`: temporal with a time column, else group with a group "
        "column, else stratified for classification and random for regression.",
        json_schema_extra={"comment": "{choices}"},
    )
    test_size: Annotated[float, Field(gt=0.0, le=0.5)] = Field(
        default=0.2,
        description="Share of rows (or of the latest period) held out as the sealed test set.",
    )


class CVConfig(Section):
    folds: Annotated[int, Field(ge=2, le=20)] = Field(
        default=5,
        description="Outer cross-validation folds (the honest estimate).",
        json_schema_extra={"comment": "outer folds: the honest estimate"},
    )
    inner_folds: Annotated[int, Field(ge=2, le=10)] = Field(
        default=2,
        description="Tuning folds inside each outer training part. A trial's fit on an inner "
        "fold early-stops on that fold's validation rows, so two folds give each fit as many "
        "rows as three folds with a carved early-stopping part did, for two thirds of the fits.",
        json_schema_extra={"comment": "tuning folds inside each outer training part"},
    )
