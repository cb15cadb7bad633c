"""A bot without encryption, PostgreSQL or templates does not import their code.

Each of these is imported only where its feature is used (see "Benchmarks" in the
README for what each costs): checked in a fresh interpreter, where nothing else
imported them first.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LAZY = (
    "mautrix.crypto",
    "olm",
    "jinja2",
    "asyncpg",
    "markdown_it",
    "botkit.appservice",
    "botkit.lease",
)


def imported_after(script: str) -> set[str]:
    """Which of :data:`LAZY` a fresh interpreter has imported after running ``script``."""
    code = script + (
        f"\nimport json, sys\nprint(json.dumps([m for m in {list(LAZY)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


LOAD_ECHO_AND_TWIM = f"""
from pathlib import Path
import botkit.bot, botkit.cli
from botkit.config import BotConfig
from botkit.loader import discover, plan_instances
from botkit.testing.botconfig import write_bot_config
from botkit.testing.synapse import MatrixAccount
import tempfile
from botkit.config import load_config

folder = Path(tempfile.mkdtemp())
account = MatrixAccount("@bot:example.org", "token", "", "", "http://127.0.0.1:1")
path = write_bot_config(folder / "config.yaml", account=account, plugins=["echo", "twim"],
                        plugin_dirs=[{str(ROOT / "plugins")!r}])
config = load_config(path)
assert not config.encryption.enabled
sources, _ = discover(config.plugin_dirs)
plans, problems = plan_instances(config, sources)
assert not problems, problems
assert sorted(p.name for p in plans) == ["echo", "twim"]
for plan in plans:
    plan.loader()()
"""


def test_echo_and_twim_load_without_crypto_postgres_or_templates() -> None:
    assert imported_after(LOAD_ECHO_AND_TWIM) == set()


def test_rendering_imports_what_it_needs() -> None:
    # The check can fail: rendering markdown and loading twim's template import them.
    render = (
        "import botkit.markdown\n"
        "botkit.markdown.render('*hi*')\n"
        "sys.modules['botkit_plugin_twim.templating'].load_template('current')\n"
    )

    assert imported_after(LOAD_ECHO_AND_TWIM + "import sys\n" + render) == {"markdown_it", "jinja2"}
