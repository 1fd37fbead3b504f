"""Stage processes import only the model libraries they use (start-up time), and still refuse
an unknown or refused model setting, naming its params.yaml key, before any work."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from foldwise.errors import FoldwiseError
from foldwise.model_settings import check_model_settings, load_config

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("sklearn", "scipy", "catboost", "lightgbm")

# Imports the stage script as a module (its main() does not run), validates params.yaml as the
# stage's main() does first, and prints which model libraries the process has imported.
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("stage", {script!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from foldwise.model_settings import load_config
load_config({params!r}, fitted=())
print(json.dumps([m for m in {libraries!r} if m in sys.modules]))
"""


def _imported(stage: str, params: Path) -> list[str]:
    code = PROBE.format(
        script=str(ROOT / f"stages/{stage}.py"), params=str(params), libraries=LIBRARIES
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("stage", "allowed"),
    [
        ("generate", set()),
        ("card", {"sklearn", "scipy"}),
        ("audit", {"sklearn", "scipy"}),  # its leakage probes fit scikit-learn models
        ("evaluate", {"sklearn", "scipy"}),
        ("validate", {"sklearn", "scipy"}),
        ("explain", {"sklearn", "scipy"}),
        ("baseline", {"sklearn", "scipy"}),
    ],
)
def test_a_stage_that_fits_no_boosting_model_imports_no_boosting_library(stage, allowed):
    imported = set(_imported(stage, ROOT / "params.yaml"))
    assert imported <= allowed, f"stage {stage} imports {sorted(imported - allowed)}"


def _params(tmp_path: Path, model: dict) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for name, settings in model.items():
        params["model"][name] = settings
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ({"lightgbm": {"num_leave": 8}}, "model.lightgbm.num_leave"),
        ({"catboost": {"dept": 6}}, "model.catboost.dept"),
        ({"extra_trees": {"max_feature": 0.5}}, "model.extra_trees.max_feature"),
        ({"catboost": {"od_wait": 5}}, "model.catboost.od_wait"),
        ({"lightgbm": {"categorical_feature": "a"}}, "model.lightgbm.categorical_feature"),
    ],
)
def test_an_unknown_or_reserved_key_is_refused_without_importing_its_library(tmp_path, model, key):
    """Names are checked from the generated table: a stage that fits nothing still refuses."""
    params = _params(tmp_path, model)
    code = (
        "import sys\n"
        "from foldwise.errors import FoldwiseError\n"
        "from foldwise.model_settings import load_config\n"
        "try:\n"
        f"    load_config({str(params)!r}, fitted=())\n"
        "except FoldwiseError as exc:\n"
        "    print(exc)\n"
        f"print([m for m in {LIBRARIES!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    error, imported = done.stdout.strip().splitlines()
    assert error.startswith(key), error
    assert imported == "[]"


def test_a_training_stage_refuses_a_bad_value_of_the_model_it_fits(tmp_path):
    """tune and train check the values of the models they fit (model.members)."""
    params = _params(tmp_path, {"catboost": {"depth": "deep"}})
    config = load_config(params, fitted=())  # a stage that fits nothing does not judge values
    with pytest.raises(FoldwiseError, match=r"^model\.catboost\.depth: CatBoost refuses"):
        check_model_settings(config, "binary", config.model.members)
    with pytest.raises(FoldwiseError, match=r"^model\.catboost\.depth: CatBoost refuses"):
        load_config(params)  # every model's values: prepare, and callers of the library


def test_a_training_run_refuses_an_unknown_key_before_reading_data(tmp_path):
    from foldwise.paths import ProjectPaths
    from foldwise.training.data import load_training_run

    _params(tmp_path, {"lightgbm": {"num_leave": 8}})
    with pytest.raises(FoldwiseError, match=r"^model\.lightgbm\.num_leave .*'num_leaves'"):
        load_training_run(ProjectPaths(tmp_path))
