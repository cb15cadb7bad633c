"""Where the real files of ``matrix-org/twim-config`` are, for tests that read them.

They are not part of the project: CI keeps them in ``../shared/reference/twim-config/``
next to the checkout. A worktree one level further down finds them in its parents.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_PLACE = Path("shared") / "reference" / "twim-config"


def twim_config_dir() -> Path:
    """The folder with twim-config's ``config.toml`` and ``template.md``, or skip the test."""
    for parent in ROOT.parents:
        candidate = parent / _PLACE
        if (candidate / "config.toml").is_file():
            return candidate
    pytest.skip(f"no {_PLACE}/config.toml in any parent of {ROOT}: the real twim-config is absent")
