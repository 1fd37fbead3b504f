"""Code shape: no function in src/ or stages/ is longer than MAX_LINES lines.

A long coordinating body hides its phases; the habit here (as in scikit-learn's
``inspection/_permutation_importance.py``) is a short public function that calls one named
helper per phase, each returning a value. Counted from the ``def`` line to the last line of
the body, decorators and docstring included.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 80

# Paths exempt from the limit (none: every function in src/ and stages/ meets it).
ALLOWED: set[str] = set()


def function_lengths(path: Path) -> list[tuple[str, int, int]]:
    """(qualified name, first line, number of lines) of every function and method in ``path``."""
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                name = prefix + child.name
                found.append((name, first, (child.end_lineno or child.lineno) - first + 1))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), "")
    return found


def _allowed(relative: str) -> bool:
    return any(relative == a or (a.endswith("/") and relative.startswith(a)) for a in ALLOWED)


def test_function_lengths_counts_methods_nested_functions_and_decorators(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "import functools\n\n"
        "@functools.cache\n"
        "def outer():\n"
        "    def inner():\n"
        "        return 1\n"
        "    return inner()\n\n"
        "class C:\n"
        "    def method(self):\n"
        "        pass\n"
    )
    assert function_lengths(source) == [("outer", 3, 5), ("outer.inner", 5, 2), ("C.method", 10, 2)]


def test_no_function_over_the_limit():
    too_long = []
    for folder in ("src", "stages"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if _allowed(relative):
                continue
            for name, line, length in function_lengths(path):
                if length > MAX_LINES:
                    too_long.append(f"{relative}:{line} {name} has {length} lines")
    assert not too_long, f"functions over {MAX_LINES} lines:\n" + "\n".join(too_long)


def test_allow_list_names_existing_paths():
    for entry in ALLOWED:
        assert (ROOT / entry).exists(), f"{entry} is in ALLOWED but does not exist"
