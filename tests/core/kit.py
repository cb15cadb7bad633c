"""Writing a throwaway plugin for a test, as a plugin author's directory holds it."""

from __future__ import annotations

from pathlib import Path

HEADER = """\
from __future__ import annotations

from datetime import datetime
from aiohttp import web
from botkit import CommandContext, Plugin, Rest, command, route
"""


def write_plugin(
    root: Path, body: str, *, prelude: str = "", files: dict[str, str] | None = None
) -> Path:
    """``root/plugins/kit``: a plugin ``Kit`` whose class body is ``body``, after ``prelude``."""
    directory = root / "plugins" / "kit"
    directory.mkdir(parents=True)
    (directory / "plugin.yaml").write_text("id: kit\nversion: 1.0.0\nmain: plugin:Kit\n")
    (directory / "plugin.py").write_text(HEADER + prelude + "\n\nclass Kit(Plugin):\n" + body)
    for name, content in (files or {}).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return directory
