"""tests/ mirrors the package: every test module sits in a folder named after what it tests.

``tests/<package>/`` for a package of ``src/foldwise/`` (nested folders mirror nested
packages), ``tests/core/`` for its top-level modules, ``tests/e2e/`` for the slow end-to-end
runs and ``tests/repo/`` for the rules over the repository's files; ``tests/support/`` holds
shared helpers and no tests. Every folder is a package (``__init__.py``): test modules are
imported by their full dotted name, so two folders may each hold a ``test_ensemble.py``.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONGEST_FIRST, ROOT

EXTRA_FOLDERS = {"core", "e2e", "repo"}
HELPERS_ONLY = {"support"}


def _folders(tests: Path) -> list[Path]:
    return sorted(
        path
        for path in tests.rglob("*")
        if path.is_dir() and "__pycache__" not in path.parts and not path.name.startswith(".")
    )


def misplaced(tests: Path, package: Path) -> list[str]:
    """Test modules outside the mirrored layout, and folders without ``__init__.py``."""
    problems = []
    for path in sorted(tests.rglob("test_*.py")):
        parts = path.relative_to(tests).parent.parts
        where = path.relative_to(tests.parent).as_posix()
        if not parts:
            problems.append(f"{where}: directly in tests/, move it to tests/<package>/")
        elif parts[0] in HELPERS_ONLY:
            problems.append(f"{where}: tests/{parts[0]}/ holds helpers, not tests")
        elif (
            parts[0] not in EXTRA_FOLDERS
            and not (package.joinpath(*parts) / "__init__.py").is_file()
        ):
            problems.append(
                f"{where}: no package src/foldwise/{'/'.join(parts)}/ "
                f"(nor one of tests/{{{','.join(sorted(EXTRA_FOLDERS))}}}/)"
            )
    for folder in _folders(tests):
        if not (folder / "__init__.py").is_file():
            problems.append(f"{folder.relative_to(tests.parent).as_posix()}/: no __init__.py")
    return problems


def test_every_test_module_sits_in_a_folder_that_mirrors_the_package() -> None:
    problems = misplaced(ROOT / "tests", ROOT / "src" / "foldwise")
    assert not problems, problems


def test_a_misplaced_module_or_a_missing_init_is_named(tmp_path: Path) -> None:
    package = tmp_path / "src" / "foldwise"
    for folder in (package, package / "serve"):
        folder.mkdir(parents=True)
        (folder / "__init__.py").touch()
    tests = tmp_path / "tests"
    for relative in (
        "test_top.py",
        "serve/test_ok.py",
        "e2e/test_ok.py",
        "servee/test_typo.py",
        "support/test_helper.py",
        "serve/app/test_nested.py",
    ):
        (tests / relative).parent.mkdir(parents=True, exist_ok=True)
        (tests / relative).touch()
    for folder in (tests, tests / "serve", tests / "e2e", tests / "servee", tests / "support"):
        (folder / "__init__.py").touch()

    problems = misplaced(tests, package)

    assert problems == [
        "tests/serve/app/test_nested.py: no package src/foldwise/serve/app/ "
        "(nor one of tests/{core,e2e,repo}/)",
        "tests/servee/test_typo.py: no package src/foldwise/servee/ "
        "(nor one of tests/{core,e2e,repo}/)",
        "tests/support/test_helper.py: tests/support/ holds helpers, not tests",
        "tests/test_top.py: directly in tests/, move it to tests/<package>/",
        "tests/serve/app/: no __init__.py",
    ]


def test_the_longest_first_order_names_existing_modules() -> None:
    missing = [name for name in LONGEST_FIRST if not (ROOT / name).is_file()]
    assert not missing, f"tests/conftest.py LONGEST_FIRST names no such file: {missing}"
