"""Rules dvc.yaml must keep: the sealed test table, per-key params, declared code deps."""

from pathlib import Path

import yaml

from foldwise.config import Config

ROOT = Path(__file__).resolve().parents[2]
SEALED = "data/prepared/test.parquet"
# Modules every stage imports that change no output: params.yaml validation (model_settings
# checks the model settings against the estimators) and file plumbing.
PLUMBING = {"config", "model_settings", "paths", "stage", "errors", "metrics"}


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


def _declared(module: str, deps: set[str]) -> bool:
    """``explain.run`` is covered by ``src/foldwise/explain/run.py`` or its folder."""
    parts = module.split(".")
    candidates = {f"src/foldwise/{'/'.join(parts)}.py"}
    candidates |= {f"src/foldwise/{'/'.join(parts[:i])}" for i in range(1, len(parts) + 1)}
    return bool(candidates & deps)


def test_stage_scripts_import_their_package_modules_as_declared():
    """A stage's script may only import foldwise modules its dvc.yaml deps list."""
    for name, stage in stages().items():
        deps = set(_paths(stage.get("deps")))
        text = (ROOT / f"stages/{name}.py").read_text()
        for line in text.splitlines():
            if line.startswith("from foldwise.") and " import " in line:
                module = line.split()[1].removeprefix("foldwise.")
                if module in PLUMBING:
                    continue  # shared plumbing, validated by params deps
                assert _declared(module, deps), (name, module)


def test_subpackage_modules_import_only_declared_modules():
    """A subpackage a stage depends on may only import foldwise modules that stage declares."""
    for name, stage in stages().items():
        deps = set(_paths(stage.get("deps")))
        for folder in (d for d in deps if d.startswith("src/foldwise/") and (ROOT / d).is_dir()):
            for source in sorted((ROOT / folder).glob("*.py")):
                for line in source.read_text().splitlines():
                    words = line.strip().split()
                    if len(words) > 1 and words[0] == "from" and words[1].startswith("foldwise."):
                        module = words[1].removeprefix("foldwise.")
                        if module in PLUMBING:
                            continue
                        if module.split(".")[0] in {"data", "compare"} and source.name in {
                            "rows.py",
                            "moves.py",
                        }:
                            continue  # used by the foldwise command, not by the stage
                        assert _declared(module, deps), (name, source.name, module)
