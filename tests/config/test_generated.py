"""params.yaml, init's template and the params reference are generated from the config models."""

import shutil

import pytest
import yaml
from pydantic import Field

from foldwise.config import Config, parse_config, parse_params_text, read_params
from foldwise.config.base import Section
from foldwise.config.demo_params import DEMO_COMMENTS, DEMO_OVERRIDES
from foldwise.config.describe import all_keys
from foldwise.config.generate import generated_files, main
from foldwise.config.params_yaml import render_params_yaml, yaml_value
from foldwise.config.reference import reference_markdown
from foldwise.model_settings import load_config
from tests.conftest import ROOT

FIX = "run `python -m foldwise.config.generate` and commit the result"


@pytest.mark.parametrize("relative", sorted(str(p) for p in generated_files()))
def test_the_generated_files_are_what_the_models_give(relative):
    expected = {str(p): text for p, text in generated_files().items()}[relative]
    path = ROOT / relative
    assert path.is_file(), f"{relative} is missing: {FIX}"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{relative} differs from the models: {FIX}"
    )


def _leaves(values, prefix=""):
    """Dotted key -> value; a section's keys are walked, any other mapping is one value."""
    out = {}
    for key in all_keys(Config):
        if key.section is None:
            node = values
            for part in key.path.split(".")[:-1]:
                node = node[part]
            out[key.path] = node[key.name]
    return out


def test_params_yaml_values_are_the_defaults_but_the_demo_overrides():
    written = _leaves(read_params(ROOT / "params.yaml"))
    defaults = _leaves(Config().model_dump(mode="python"))
    assert set(written) == set(defaults), "params.yaml must list every key"
    differ = {k for k in defaults if written[k] != defaults[k]}
    assert differ == set(DEMO_OVERRIDES), (
        f"params.yaml differs from the models' defaults at {sorted(differ - set(DEMO_OVERRIDES))}"
        " (change the default in src/foldwise/config/ or add a demo override)"
    )
    assert all(written[k] == v for k, v in DEMO_OVERRIDES.items())
    assert set(DEMO_COMMENTS) <= set(DEMO_OVERRIDES)
    load_config(ROOT / "params.yaml")  # and every stage accepts it


def test_every_key_has_a_description():
    missing = [key.path for key in all_keys(Config) if not key.description.strip()]
    assert missing == [], f"add description=... to these fields: {missing}"


def test_every_key_and_its_default_reach_the_reference_page():
    page = reference_markdown()
    for key in all_keys(Config):
        top_section = key.section is not None and "." not in key.path
        assert (f"## `{key.path}`" if top_section else f"| `{key.path}` |") in page, key.path
    assert "| `tune.n_trials` | integer (≥ 1, ≤ 100000) | `6` |" in page
    assert (
        "| `problem.task` | one of `auto`, `binary`, `multiclass`, `regression` | `auto` |" in page
    )


class Extra(Section):
    budget_s: float | None = Field(None, description="A new time budget, in seconds.")
    members: dict[str, float] = Field(
        default_factory=lambda: {"a": 0.5, "b": 0.5},
        description="Weights of the members.",
        json_schema_extra={"notes": {"a": "the first member"}},
    )


class Whole(Section):
    seed: int = Field(1, description="A seed.")
    extra: Extra = Field(default_factory=Extra, description="A new section.")


def test_a_new_key_needs_only_its_field():
    """A field with a default and a description reaches params.yaml and the reference."""
    text = render_params_yaml({"extra.budget_s": 90.0}, ["header"], model=Whole)
    assert text.startswith("# header\nseed: 1                         # a seed\n")
    assert "extra:                          # a new section\n" in text
    assert "  budget_s: 90.0                # a new time budget, in seconds\n" in text
    assert "  members:                      # weights of the members\n    a: 0.5" in text
    assert "    a: 0.5                      # the first member\n    b: 0.5\n" in text
    assert Whole.model_validate(parse_params_text(text)).extra.budget_s == 90.0
    page = reference_markdown(Whole)
    assert "| `extra.budget_s` | number or null | `null` | A new time budget, in seconds. |" in page
    assert "`{a: 0.5, b: 0.5}`" in page


def test_long_comments_go_above_the_key_and_read_the_same_whatever_the_value():
    short = render_params_yaml({"data.target": "y"}, [])
    long = render_params_yaml({"data.target": "a_rather_long_target_column_name_here"}, [])
    assert "  target: y                     # the column to predict\n" in short
    assert "  target: a_rather_long_target_column_name_here   # the column to predict\n" in long
    comments = [ln.split("#", 1)[1] for ln in short.splitlines() if "#" in ln]
    assert comments == [ln.split("#", 1)[1] for ln in long.splitlines() if "#" in ln]
    assert "  # Fixed CatBoost settings" in short  # over two lines: above the key


@pytest.mark.parametrize(
    "value",
    ["Yes", "no", "on", "1.0", "null", "", " a ", "a: b", "#x", 1e-05, 2.5e20, -0.0, 7, True, None],
)
def test_values_read_back_the_same_under_both_yaml_versions(value):
    text = yaml_value(value)
    assert parse_params_text(f"k: {text}")["k"] == value
    assert yaml.safe_load(f"k: {text}")["k"] == value


def test_the_check_command_names_a_stale_file_and_the_write_command_fixes_it(tmp_path, capsys):
    (tmp_path / "docs" / "reference").mkdir(parents=True)
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copy(ROOT / "docs/reference/params.md", tmp_path / "docs/reference/params.md")
    assert main(["--check", "--root", str(tmp_path)]) == 0
    stale = (tmp_path / "params.yaml").read_text().replace("seed: 42 ", "seed: 42  # mine")
    (tmp_path / "params.yaml").write_text(stale)
    (tmp_path / "docs/reference/params.md").unlink()
    assert main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "params.yaml, docs/reference/params.md differ from the config models" in err
    assert (tmp_path / "params.yaml").read_text() == stale  # --check writes nothing
    assert main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / "params.yaml").read_text() == (ROOT / "params.yaml").read_text()
    assert main(["--check", "--root", str(tmp_path)]) == 0


def test_the_generated_params_parse_into_the_defaults_plus_overrides():
    config = parse_config(read_params(ROOT / "params.yaml"))
    assert config.data.id_columns == ["customer_id"]
    assert config.tune.trial_settings == {"catboost": {"border_count": 64, "max_ctr_complexity": 1}}
    assert config.model_dump()["explain"] == Config().model_dump()["explain"]
