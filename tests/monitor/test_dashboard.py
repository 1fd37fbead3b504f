"""The monitoring dashboard in a real browser: headless Chromium opens ``dashboard.html``.

Built by real ``foldwise simulate`` and ``foldwise monitor`` runs on a small simulation. Checks
what a reader meets: no console errors, a row for every period, every plot written beside the
page shown and decoded, and no sideways scrolling at a laptop's width (1366 x 768).

Needs Debian's ``chromium`` (``.ci/run`` installs it and sets ``FOLDWISE_TEST_CHROMIUM``, which
makes a missing browser a failure) and the ``playwright`` Python package, which drives the
installed browser (no ``playwright install``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.monitor.support import train_churn_bundle

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 768}
NOTE_SCREENSHOT = Path("/work/wt/_notes/dashboard.png")


def chromium() -> str:
    """The browser to drive: $FOLDWISE_TEST_CHROMIUM (CI: must exist), else one on PATH."""
    required = os.environ.get("FOLDWISE_TEST_CHROMIUM")
    if required:
        if not Path(required).is_file():
            pytest.fail(f"FOLDWISE_TEST_CHROMIUM={required}: no such browser")
        return required
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run installs it)")
    return found


def foldwise(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "foldwise.cli", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a real `foldwise monitor` run over four simulated months."""
    root = tmp_path_factory.mktemp("dashboard")
    simulated = foldwise(
        "simulate", "--out", str(root / "sim"), "--months", "4", "--rows", "600",
        "--train-rows", "2500", "--shift-month", "3", "--concept-month", "0", "--seed", "5",
    )  # fmt: skip
    assert simulated.returncode == 0, simulated.stderr
    manifest = json.loads((root / "sim" / "scenario.json").read_text())
    model = train_churn_bundle(root / "proj", Path(manifest["train"]))
    out = root / "monitor"
    result = foldwise(
        "monitor", *manifest["batches"], "--labels", *manifest["labels"],
        "--model", str(model), "--by", "month", "--out", str(out),
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr  # 1: retraining due, still a report
    return out


@pytest.mark.slow
def test_dashboard_in_headless_chromium(monitored: Path, tmp_path: Path) -> None:
    browser_path = chromium()
    if os.environ.get("FOLDWISE_TEST_CHROMIUM"):  # CI: the test must run
        from playwright import sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    summary = json.loads((monitored / "summary.json").read_text())
    periods = [p["period"] for p in summary["periods"]]
    plots = sorted(p.name for p in monitored.glob("*.png"))
    assert len(periods) == 4
    assert plots  # drift.png at least

    with sync_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto((monitored / "dashboard.html").as_uri(), wait_until="load")

            assert page.title() == "foldwise monitor"
            assert problems == []
            cells = page.eval_on_selector_all(
                "table tr td:first-child", "c => c.map(e => e.innerText)"
            )
            assert [c.strip() for c in cells] == periods
            images = page.eval_on_selector_all(
                "img",
                "imgs => imgs.map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0,"
                " width: i.getBoundingClientRect().width}))",
            )
            assert len(images) == len(plots)
            assert all(i["ok"] for i in images), images
            assert all(0 < i["width"] <= LAPTOP["width"] for i in images), images
            widths = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1], f"scrolls sideways at 1366 px: {widths}"
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    if NOTE_SCREENSHOT.parent.is_dir():  # the lead's notes, on the development machine only
        shutil.copy(tmp_path / "dashboard.png", NOTE_SCREENSHOT)
