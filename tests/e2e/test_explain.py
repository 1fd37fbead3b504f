"""End-to-end: `dvc repro` runs explain on the demo data, `dvc plots show` renders, no rerun."""

import pytest

pytestmark = pytest.mark.slow


def test_repro_explains_the_demo_then_does_nothing(project):
    project.set_params(demo={"rows": 3000}, tune={"nested": False})
    project.commit()
    project.dvc("repro")
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
