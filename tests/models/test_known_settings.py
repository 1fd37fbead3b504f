"""The generated table of setting names matches the installed estimators, and the registry's
static facts match its backends, which it imports only when a model is used."""

import subprocess
import sys

import pytest

from foldwise.metrics import TASKS
from foldwise.models import EARLY_STOPPING_MODELS, MODEL_NAMES, backend_for, saved_model_file
from foldwise.models.setting_names import allowed_settings, generate_table, reserved_settings


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_the_table_names_what_the_installed_estimator_accepts(name, task):
    """Fails after a library upgrade that adds or drops a parameter: regenerate the table."""
    hint = "regenerate with: python -m foldwise.models.setting_names"
    backend = backend_for(name)
    estimator, keys = backend.setting_keys(task)
    assert allowed_settings(name, task) == (estimator, keys), hint
    assert reserved_settings(name) == (backend.early_stopping_keys, backend.categorical_keys)


def test_the_generated_table_is_the_one_in_the_package():
    from foldwise.models import known_settings

    namespace: dict = {}
    exec(generate_table(), namespace)
    for table in ("ESTIMATORS", "SETTINGS", "RESERVED"):
        assert namespace[table] == getattr(known_settings, table), table


def test_the_registry_facts_match_the_backends():
    assert {n for n in MODEL_NAMES if backend_for(n).supports_early_stopping} == set(
        EARLY_STOPPING_MODELS
    )
    for name in MODEL_NAMES:
        assert saved_model_file(name) == backend_for(name).model_file, name


def test_an_unknown_model_name_names_the_key():
    from foldwise.errors import FoldwiseError

    with pytest.raises(FoldwiseError, match=r"model\.name 'catbost' is not known"):
        saved_model_file("catbost")


def test_a_backend_imports_its_library_on_first_use_only():
    code = (
        "import sys\n"
        "from foldwise.models import backend_for, MODEL_FILE\n"
        "before = [m for m in ('sklearn', 'catboost', 'lightgbm') if m in sys.modules]\n"
        "backend_for('catboost')\n"
        "after = [m for m in ('catboost', 'lightgbm') if m in sys.modules]\n"
        "print(before, after)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] ['catboost']"
