"""End-to-end: `dvc repro` runs explain on the demo data, `dvc plots show` renders, no rerun."""

import pytest

from tests.support.finished import demo_run, finished_copy

pytestmark = pytest.mark.slow


def test_repro_explains_the_demo_then_does_nothing(request, tmp_path):
    # `dvc repro` on 3,000 demo rows without the outer loop, committed first (a copy of the
    # run tests/e2e/test_repro.py shares: tests/support/finished.py::demo_run).
    project = finished_copy(request, tmp_path, "demo-3000", demo_run)
    summary = project.read_json("reports/explain/importance.json")
    assert summary["rows_out_of_fold"] == 2395
    assert len(summary["top_features"]) == 10
    details = project.read_json("reports/explain/details.json")
    # the demo's planted weak segment is found and named first
    assert details["segments"]["flagged"][0]["segment"] == (
        "plan = basic and payment_method = mailed_check"
    )
    assert (project.root / "reports/explain/plots/importance_bar.png").is_file()

    shown = project.dvc("plots", "show", "-o", "plots_html")
    html = (project.root / "plots_html" / "index.html").read_text()
    assert "importance_bar.png" in html
    assert "beeswarm.png" in html
    assert shown.returncode == 0

    again = project.dvc("repro")
    assert "Running stage" not in again.stdout
    status = project.dvc("status")
    assert "up to date" in status.stdout.lower()
