"""The one exception type a stage turns into a one-line message and a non-zero exit."""

from collections.abc import Iterable


class FoldwiseError(Exception):
    """A problem with the user's input (params, table, column) that the user can fix.

    The message is one line and names the file, key or column and what was expected.
    """


def quoted(names: Iterable[object], limit: int = 10) -> str:
    """Names for a message or report, quoted and comma-separated (not a Python list)."""
    items = [str(name) for name in names]
    shown = ", ".join(f"'{name}'" for name in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
