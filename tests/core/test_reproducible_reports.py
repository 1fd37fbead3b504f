"""Reports reproduce digit for digit: floats rounded once, a bundle size free of float digits."""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pandas as pd

from foldwise.production.measure import JSON_FLOAT_WIDTH, folder_mb, json_size
from foldwise.stage import (
    SIGNIFICANT_DIGITS,
    close_live,
    open_live,
    rounded,
    rounded_frame,
    significant,
    write_csv_atomic,
    write_json_atomic,
)


def test_significant_digits():
    assert SIGNIFICANT_DIGITS == 6
    assert significant(0.8494704360989256) == 0.84947
    assert significant(0.0036661291479061615) == 0.00366613
    assert significant(19978.300000000003) == 19978.3
    assert significant(123456789.0) == 123457000.0
    assert significant(-2.5e-7) == -2.5e-7
    assert significant(0.0) == 0.0
    assert math.isnan(significant(float("nan")))
    assert significant(float("-inf")) == float("-inf")


def test_last_bit_noise_gives_the_same_digits():
    """What another CPU's vector units change (the last bits) does not reach the text."""
    values = np.random.default_rng(0).lognormal(0, 3, 100_000)
    noisy = values * (1 + 4 * np.finfo(float).eps)
    same = sum(significant(a) == significant(b) for a, b in zip(values, noisy, strict=True))
    # A flip needs a value within a few 1e-16 of a rounding edge: about 1 in 10^9.
    assert same == len(values)


def test_rounded_keeps_ints_bools_text_and_structure():
    payload = {"a": [np.float64(1 / 3), np.float32(0.1), 3, True, None, "x"], "b": {"c": 2.0}}
    assert rounded(payload) == {"a": [0.333333, 0.1, 3, True, None, "x"], "b": {"c": 2.0}}
    assert rounded(np.array([1 / 7, 2 / 7])) == [0.142857, 0.285714]


def test_writers_round_json_and_csv(tmp_path):
    write_json_atomic(tmp_path / "m.json", {"std": 0.0036661291479061615, "n": 5})
    assert json.loads((tmp_path / "m.json").read_text()) == {"std": 0.00366613, "n": 5}
    frame = pd.DataFrame({"x": [1 / 3, 2 / 3], "n": [1, 2], "s": ["a", "b"]})
    write_csv_atomic(tmp_path / "t.csv", frame)
    assert (tmp_path / "t.csv").read_text() == "x,n,s\n0.333333,1,a\n0.666667,2,b\n"
    assert rounded_frame(frame)["n"].dtype == frame["n"].dtype


def test_dvclive_files_are_rounded_after_the_logger_ends(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    live = open_live(tmp_path / "live")
    for step in range(3):
        live.log_metric("loss/train", 1 / (step + 3), plot=True)
        live.next_step()
    close_live(live)
    tsv = (tmp_path / "live/plots/metrics/loss/train.tsv").read_text()
    assert tsv.splitlines()[1:] == ["0\t0.333333", "1\t0.25", "2\t0.2"]
    summary = json.loads((tmp_path / "live/metrics.json").read_text())
    assert summary["loss"]["train"] == 0.2


def test_bundle_size_does_not_depend_on_the_digits_of_its_floats(tmp_path):
    for name, value in (("a", 0.1), ("b", 0.30000000000000004)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "reference.json").write_text(json.dumps({"edges": [value, 2.5, 7], "k": "v"}))
        (folder / "model.cbm").write_bytes(b"\0" * 1000)
    assert folder_mb(tmp_path / "a") == folder_mb(tmp_path / "b")
    text = (tmp_path / "a/reference.json").read_text()
    assert (
        json_size(tmp_path / "a/reference.json")
        == len(text) - len("0.1") - len("2.5") + 2 * JSON_FLOAT_WIDTH
    )
    assert folder_mb(tmp_path / "a") * 1e6 >= len(text) + 1000
