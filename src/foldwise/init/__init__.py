"""``foldwise init``: write a params.yaml for a new table (task, positive class, ids, dates,
segments) and track the table with DVC."""

from foldwise.init.infer import ReadingOptions, SplitColumns, TablePlan, plan_table
from foldwise.init.params_file import render_params
from foldwise.init.project import InitResult, init_project

__all__ = [
    "InitResult",
    "ReadingOptions",
    "SplitColumns",
    "TablePlan",
    "init_project",
    "plan_table",
    "render_params",
]
