"""The Synapse venv: installed once, re-pinned when the version differs, never twice at once.

A stand-in interpreter plays the venv's Python: "installing" writes the
dist-info directory pip would write and logs the install, slowly enough for
concurrent callers to overlap.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import botkit
from botkit.testing.synapse_venv import ensure_synapse_venv, installed_version

FAKE_PYTHON = """\
#!/bin/sh
# Called as: python -m pip install ... matrix-synapse==VERSION
for last; do :; done
venv=$(dirname "$(dirname "$0")")
echo "$last" >> "$venv/installs.log"
sleep 0.5
rm -rf "$venv"/lib/python3.11/site-packages/matrix_synapse-*.dist-info
info="$venv/lib/python3.11/site-packages/matrix_synapse-${last#matrix-synapse==}.dist-info"
mkdir -p "$info"
touch "$info/RECORD"
"""


def fake_venv(path: Path, version: str) -> Path:
    """A venv whose interpreter is the stand-in, with ``version`` "installed"."""
    python = path / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    info = path / "lib" / "python3.11" / "site-packages" / f"matrix_synapse-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "RECORD").touch()
    return python


def installs(venv: Path) -> list[str]:
    log = venv / "installs.log"
    return log.read_text().split() if log.exists() else []


def test_the_pinned_version_already_there_is_used_as_it_is(tmp_path: Path) -> None:
    python = fake_venv(tmp_path / "venv", "1.0.0")

    assert ensure_synapse_venv(tmp_path / "venv", "1.0.0") == python
    assert installs(tmp_path / "venv") == []


def test_another_version_is_replaced_by_the_pinned_one(tmp_path: Path) -> None:
    fake_venv(tmp_path / "venv", "1.0.0")

    ensure_synapse_venv(tmp_path / "venv", "2.0.0")

    assert installs(tmp_path / "venv") == ["matrix-synapse==2.0.0"]
    assert installed_version(tmp_path / "venv") == "2.0.0"


def test_concurrent_processes_install_only_once(tmp_path: Path) -> None:
    fake_venv(tmp_path / "venv", "1.0.0")
    env = {**os.environ, "PYTHONPATH": str(Path(botkit.__file__).parents[1])}
    code = (
        "import sys; from pathlib import Path; "
        "from botkit.testing.synapse_venv import ensure_synapse_venv; "
        "ensure_synapse_venv(Path(sys.argv[1]), '2.0.0')"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "venv")],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(3)
    ]

    assert [p.wait(timeout=60) for p in processes] == [0, 0, 0]
    assert installs(tmp_path / "venv") == ["matrix-synapse==2.0.0"]
