"""MkDocs hook: Sphinx roles in docstrings (``:func:`name```) become API links.

The docstrings use Sphinx roles; mkdocstrings renders them as the role's name followed by
the code (``:func:<code>name</code>``). This hook drops the role and hands the name to
mkdocs-autorefs, which links it when the API pages document it and leaves the code as it is
otherwise. A leading ``~`` shows the last component only, as in Sphinx.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|exc|obj):<code>(~?)([\w.]+)</code>")


def _autoref(match: re.Match[str]) -> str:
    short, name = match[1], match[2]
    shown = name.rsplit(".", 1)[-1] if short else name
    return f'<autoref identifier="{name}" optional><code>{shown}</code></autoref>'


def on_page_content(html: str, **_: Any) -> str:
    """Replace every rendered Sphinx role in a page's HTML."""
    return _ROLE.sub(_autoref, html)
