"""Rules dvc.yaml must keep: the sealed test table, per-key params, declared code deps."""

from pathlib import Path

import yaml

from foldwise.config import Config

ROOT = Path(__file__).resolve().parents[1]
SEALED = "data/prepared/test.parquet"


def stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _paths(entries) -> list[str]:
    out = []
    for entry in entries or []:
        out.extend(entry.keys() if isinstance(entry, dict) else [entry])
    return [str(p) for p in out]


def test_only_evaluate_depends_on_the_sealed_test_table():
    readers = [name for name, stage in stages().items() if SEALED in _paths(stage.get("deps"))]
    assert readers in ([], ["evaluate"]), f"stages reading the sealed test table: {readers}"


def test_test_table_is_written_by_prepare_only():
    writers = [name for name, stage in stages().items() if SEALED in _paths(stage.get("outs"))]
    assert writers == ["prepare"]


def test_every_stage_runs_its_own_script_and_depends_on_it():
    for name, stage in stages().items():
        script = f"stages/{name}.py"
        assert stage["cmd"] == f"python {script}", name
        assert script in _paths(stage.get("deps")), name
        assert (ROOT / script).is_file(), name


def test_params_are_real_keys():
    """Each params entry names a key (or section) that the validator knows."""
    for name, stage in stages().items():
        for key in _paths(stage.get("params")):
            model = Config
            for part in key.split("."):
                assert part in model.model_fields, f"stage {name}: unknown params key {key!r}"
                model = model.model_fields[part].annotation


def test_package_modules_listed_as_deps_exist():
    for name, stage in stages().items():
        for dep in _paths(stage.get("deps")):
            if dep.startswith(("src/", "stages/")):
                # a module file, or a subpackage folder (e.g. src/foldwise/audit)
                found = (ROOT / dep).is_file() or (ROOT / dep / "__init__.py").is_file()
                assert found, f"stage {name}: {dep} does not exist"


def test_stage_scripts_import_their_package_modules_as_declared():
    """A stage's script may only import foldwise modules its dvc.yaml deps list."""
    for name, stage in stages().items():
        deps = set(_paths(stage.get("deps")))
        text = (ROOT / f"stages/{name}.py").read_text()
        for line in text.splitlines():
            if line.startswith("from foldwise.") and " import " in line:
                module = line.split()[1].removeprefix("foldwise.").replace(".", "/")
                if module in {"config", "paths", "stage", "errors", "metrics"}:
                    continue  # shared plumbing, validated by params deps
                path = module.replace(".", "/")  # a subpackage module: production.gate
                package = f"src/foldwise/{module.split('.')[0]}"
                assert f"src/foldwise/{path}.py" in deps or package in deps, (name, module)
