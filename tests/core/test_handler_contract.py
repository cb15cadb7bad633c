"""Handlers as a plugin author writes them: mistakes refused at load, passives as asked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from botkit.errors import PluginLoadError
from botkit.testing.harness import HarnessFactory, plugin_harness

pytest_plugins = ["botkit.testing.harness_fixtures"]

HEADER = """\
from __future__ import annotations

import re
from botkit import CommandContext, MessageContext, Plugin, command, on, passive, route

class Karma(Plugin):
"""


def write_plugin(root: Path, body: str) -> Path:
    directory = root / "plugins" / "karma"
    directory.mkdir(parents=True)
    (directory / "plugin.yaml").write_text("id: karma\nversion: 1.0.0\nmain: plugin:Karma\n")
    (directory / "plugin.py").write_text(HEADER + body)
    return directory


def botkit_check(root: Path) -> subprocess.CompletedProcess[str]:
    (root / "c.yaml").write_text(
        "homeserver:\n  url: http://127.0.0.1:9\n  user_id: '@bot:example.org'\n"
        "  access_token: x\nplugin_dirs: [plugins]\n"
        "plugins:\n  karma:\n    plugin: karma\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "botkit", "check", "-c", "c.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            "    @command('karma')\n    def karma(self, ctx: CommandContext) -> None: ...\n",
            "karma: a handler must be 'async def'",
            id="plain-def",
        ),
        pytest.param(
            "    @command('karma')\n    async def karma(self, name: str) -> None: ...\n",
            "karma: the first parameter after self gets the context, not an argument (name: str)",
            id="no-context",
        ),
        pytest.param(
            "    @command('karma')\n    async def karma(self) -> None: ...\n",
            "karma: missing the parameter botkit passes",
            id="no-parameters",
        ),
        pytest.param(
            "    @command('karma')\n"
            "    async def karma(self, ctx: CommandContext, n: list[int]) -> None: ...\n",
            "command 'karma' (karma): parameter 'n': unsupported type list[int]",
            id="unsupported-annotation",
        ),
        pytest.param(
            "    @command('karma')\n"
            "    async def karma(self, ctx: CommandContext, n: Nowhere) -> None: ...\n",
            "karma: cannot read its annotations: name 'Nowhere' is not defined",
            id="undefined-annotation",
        ),
        pytest.param(
            "    @passive(r'\\w+\\+\\+')\n"
            "    async def vote(self, ctx: MessageContext) -> None: ...\n",
            "vote: missing the parameters botkit passes: async def vote(self, ctx: "
            "MessageContext, match: re.Match[str])",
            id="passive-without-match",
        ),
        pytest.param(
            "    @on('m.reaction')\n    async def react(self, evt, extra) -> None: ...\n",
            "react: 'extra' is never passed: async def react(self, evt: Event)",
            id="event-extra-parameter",
        ),
        pytest.param(
            "    @route.get('stats?room={room}')\n"
            "    async def stats(self, request) -> None: ...\n",
            "stats: route GET 'stats?room={room}': a query or fragment is never part of the path",
            id="unreachable-route",
        ),
    ],
)
def test_a_handler_that_cannot_work_fails_check_naming_plugin_and_method(
    tmp_path: Path, body: str, reason: str
) -> None:
    write_plugin(tmp_path, body)
    result = botkit_check(tmp_path)
    assert result.returncode == 2
    assert "karma" in result.stderr and "plugin.Karma" in result.stderr
    assert reason in result.stderr, result.stderr


def test_a_well_formed_plugin_passes_check(tmp_path: Path) -> None:
    write_plugin(
        tmp_path,
        "    @command('karma')\n"
        "    async def karma(self, ctx: CommandContext, who: str) -> None: ...\n"
        "    @passive(r'(\\w+)\\+\\+', multiple=True)\n"
        "    async def vote(self, ctx: MessageContext, matches: list[re.Match[str]]) -> None: ...\n"
        "    @on('m.reaction')\n    async def react(self, evt) -> None: ...\n",
    )
    result = botkit_check(tmp_path)
    assert result.returncode == 0, result.stderr


VOTES = """\
    @command('karma')
    async def karma(self, ctx: CommandContext, who: str) -> None:
        await ctx.reply(f"karma of {who}")

    @passive(r'(\\w+)\\+\\+', multiple=True)
    async def vote(self, ctx: MessageContext, matches: list[re.Match[str]]) -> None:
        await ctx.reply("votes: " + " ".join(m[1] for m in matches))

    @passive(r'(\\w+)--')
    async def down(self, ctx: MessageContext, match: re.Match[str]) -> None:
        await ctx.reply("down: " + match[1])

    @passive(r'^!karma', commands=True)
    async def audit(self, ctx: MessageContext, match: re.Match[str]) -> None:
        await ctx.reply("audit")
"""


async def test_a_multiple_passive_gets_every_match(
    tmp_path: Path, plugin_harness: HarnessFactory
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, VOTES))
    await h.message("bob++ carol++ and dave--")
    assert sorted(h.replies()) == ["down: dave", "votes: bob carol"]


async def test_passives_leave_the_plugins_commands_alone_unless_they_ask(
    tmp_path: Path, plugin_harness: HarnessFactory
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, VOTES))
    await h.command("!karma bob++")
    assert sorted(h.replies()) == ["audit", "karma of bob++"]
    # Another plugin's command (or an unknown one) is a message like any other.
    await h.message("!ping bob++")
    assert h.replies()[2:] == ["votes: bob"]


async def test_the_harness_refuses_a_plain_def_handler_as_start_does(tmp_path: Path) -> None:
    body = (
        "    @passive(r'x')\n"
        "    def vote(self, ctx: MessageContext, match: re.Match[str]) -> None: ...\n"
    )
    with pytest.raises(PluginLoadError, match=r"vote: a handler must be 'async def'"):
        async with plugin_harness(write_plugin(tmp_path, body)):
            pass
