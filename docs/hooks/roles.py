"""An MkDocs hook: docstrings cross-reference in Sphinx's roles (``:class:`~horde.X```),
which Markdown renders as ``:class:<code>~horde.X</code>``. Shown as plain code here: the
name without the role, and with ``~`` only its last part, as Sphinx would."""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj):<code>(~?)([^<]*)</code>")


def _plain(found: re.Match[str]) -> str:
    tilde, path = found.groups()
    return f"<code>{path.rsplit('.', 1)[-1] if tilde else path}</code>"


def on_page_content(html: str, **_: Any) -> str:
    """Every role in a rendered page becomes the code it names."""
    return _ROLE.sub(_plain, html)
