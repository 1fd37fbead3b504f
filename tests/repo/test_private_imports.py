"""No module of the package (or stage script) imports another module's underscore-private name.

A helper two modules share gets a public name in the lower one; import-linter (pyproject.toml)
checks the direction of the imports, this test their visibility.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Still to be given public names by the rewrite of foldwise.models (one class per estimator):
# its modules import each other's helpers, and model_settings imports three of them.
PENDING = {
    ("foldwise.model_settings", "foldwise.models.registry", "_check_reserved"),
    ("foldwise.model_settings", "foldwise.models.registry", "_invalid_parameter"),
    ("foldwise.model_settings", "foldwise.models.registry", "_unknown_setting"),
}


def _module_name(path: Path) -> str:
    src = ROOT / "src"
    if path.is_relative_to(src):
        return ".".join(path.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
    return f"stages.{path.stem}"


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


def test_no_private_names_imported_across_modules() -> None:
    paths = sorted((ROOT / "src").rglob("*.py")) + sorted((ROOT / "stages").glob("*.py"))
    found = [
        entry
        for entry in private_imports(paths)
        if entry not in PENDING and not entry[0].startswith("foldwise.models.")
    ]
    assert not found, "give these names a public name where they are defined: " + ", ".join(
        f"{importer} imports {module}.{name}" for importer, module, name in found
    )


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    script = tmp_path / "stage.py"
    script.write_text("from foldwise.problem import _hidden, visible\n", encoding="utf-8")
    assert private_imports([script]) == [("stages.stage", "foldwise.problem", "_hidden")]
