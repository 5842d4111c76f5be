"""The dashboard's front-end files, read from the installed package (no CDN, works offline).

The page, its script and its styles live in ``horde/live/assets/``. uPlot (MIT) is
vendored once for the whole package, beside the HTML report in ``horde/report/assets/``;
the dashboard serves that same copy.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

CONTENT_TYPES = {
    ".html": "text/html", ".js": "text/javascript", ".css": "text/css",
}
# name served under /assets/ → (package, file): nothing else is readable
FILES = {
    "dashboard.js": ("horde.live", "dashboard.js"),
    "dashboard.css": ("horde.live", "dashboard.css"),
    "uPlot.iife.min.js": ("horde.report", "uPlot.iife.min.js"),
    "uPlot.min.css": ("horde.report", "uPlot.min.css"),
}


def _file(package: str, name: str) -> Traversable:
    return resources.files(package).joinpath("assets", name)


def read_text(name: str) -> str:
    """A file of ``horde/live/assets/`` (the page's template)."""
    return _file("horde.live", name).read_text(encoding="utf-8")


@cache
def find(name: str) -> tuple[bytes, str] | None:
    """The bytes and content type of an asset served under ``/assets/NAME``, or None."""
    if name not in FILES:
        return None
    package, file = FILES[name]
    path = _file(package, file)
    if not path.is_file():
        return None
    suffix = file[file.rfind("."):]
    return path.read_bytes(), CONTENT_TYPES.get(suffix, "application/octet-stream")
