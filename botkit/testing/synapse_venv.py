"""The virtualenv that Synapse runs from, created on first use.

Synapse lives in a venv of its own so that its pinned dependencies never
constrain botkit's. The venv is created (or its Synapse re-pinned) under an
exclusive file lock, so concurrent test processes install it only once.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["SYNAPSE_VERSION", "default_venv_dir", "ensure_synapse_venv", "installed_version"]

#: The Synapse release botkit is tested against.
SYNAPSE_VERSION = "1.163.2"


def default_venv_dir(base: Path | None = None) -> Path:
    """Where the Synapse venv lives: ``$BOTKIT_SYNAPSE_VENV``, else ``<base>/.cache/synapse-venv``.

    ``base`` defaults to the current directory (the project root under ``make``).
    """
    override = os.environ.get("BOTKIT_SYNAPSE_VENV")
    if override:
        return Path(override).absolute()
    return (base or Path.cwd()).absolute() / ".cache" / "synapse-venv"


def installed_version(venv: Path) -> str | None:
    """The matrix-synapse version installed in ``venv``, or None if there is none."""
    # Reading the dist-info name avoids starting an interpreter on every test run.
    for info in venv.glob("lib/python3*/site-packages/matrix_synapse-*.dist-info"):
        if (info / "RECORD").exists():
            return info.name.removeprefix("matrix_synapse-").removesuffix(".dist-info")
    return None


def ensure_synapse_venv(venv: Path | None = None, version: str = SYNAPSE_VERSION) -> Path:
    """Make sure ``venv`` holds matrix-synapse ``version``; return its Python interpreter.

    Creates the venv when missing and reinstalls Synapse when another version is
    installed. Safe to call from several processes at once.
    """
    venv = (venv or default_venv_dir()).absolute()
    python = venv / "bin" / "python"
    if python.exists() and installed_version(venv) == version:
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Another process may have finished the job while this one waited.
        if python.exists() and installed_version(venv) == version:
            return python
        started = time.monotonic()
        print(f"botkit: installing matrix-synapse=={version} into {venv}", file=sys.stderr)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"matrix-synapse=={version}",
            ],
            check=True,
        )
        took = time.monotonic() - started
        print(f"botkit: installed matrix-synapse=={version} in {took:.0f} s", file=sys.stderr)
    return python
