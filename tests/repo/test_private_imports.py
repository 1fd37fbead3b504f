"""No module of the package (or stage script) imports another module's underscore-private name.

A helper two modules share gets a public name in the lower one; import-linter (pyproject.toml)
checks the direction of the imports, this test their visibility.
"""

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    src = ROOT / "src"
    if path.is_relative_to(src):
        return ".".join(path.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
    return f"{path.parent.name}.{path.stem}"


def private_imports(paths: list[Path]) -> list[tuple[str, str, str]]:
    """(importing module, imported module, name) for every ``from foldwise.x import _name``."""
    found = []
    for path in paths:
        importer = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                "foldwise"
            ):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append((importer, str(node.module), alias.name))
    return found


def _checked_files() -> list[Path]:
    scripts = [*(ROOT / "stages").glob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    return sorted((ROOT / "src").rglob("*.py")) + sorted(scripts)


def test_no_private_names_imported_across_modules() -> None:
    found = private_imports(_checked_files())
    assert not found, "give these names a public name where they are defined: " + ", ".join(
        f"{importer} imports {module}.{name}" for importer, module, name in found
    )


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    script = tmp_path / "stage.py"
    script.write_text("from foldwise.problem import _hidden, visible\n", encoding="utf-8")
    assert private_imports([script]) == [(f"{tmp_path.name}.stage", "foldwise.problem", "_hidden")]


def test_every_imported_foldwise_name_exists() -> None:
    """Benchmarks run outside the test suite: a renamed function must not break them silently."""
    missing = []
    for path in _checked_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                "foldwise"
            ):
                continue
            module = importlib.import_module(str(node.module))
            for alias in node.names:
                if not hasattr(module, alias.name) and not _is_submodule(module, alias.name):
                    missing.append(f"{path.relative_to(ROOT)}: {node.module}.{alias.name}")
    assert not missing, "imports of names that do not exist: " + ", ".join(missing)


def _is_submodule(module: object, name: str) -> bool:
    try:
        importlib.import_module(f"{getattr(module, '__name__', '')}.{name}")
    except ImportError:
        return False
    return True
