"""Commands as a plugin author declares them: nested subcommands, custom argument parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit.errors import PluginLoadError
from botkit.testing.harness import HarnessFactory
from tests.core.kit import write_plugin

pytest_plugins = ["botkit.testing.harness_fixtures"]

KARMA = """\
    @command("karma", help="Someone's karma")
    async def karma(self, ctx: CommandContext, who: str) -> None:
        await ctx.reply(f"karma of {who}")

    @command("karma top week", help="The week's best")
    async def top_week(self, ctx: CommandContext, count: int = 3) -> None:
        await ctx.reply(f"top {count} of the week")

    @command("karma top month", help="The month's best")
    async def top_month(self, ctx: CommandContext) -> None:
        await ctx.reply("top of the month")

    @command("karma admin reset all", help="Forget everything")
    async def reset(self, ctx: CommandContext, really: bool) -> None:
        await ctx.reply(f"reset: {really}")
"""

REMIND = """\
    @command("remind")
    async def remind(self, ctx: CommandContext, after: Annotated[int, minutes], text: Rest) -> None:
        await ctx.reply(f"in {after} s: {text}")
"""

PARSER = '''
from typing import Annotated


def minutes(word: str) -> int:
    """a time like 5m or 2h"""
    number, unit = word[:-1], word[-1:]
    if not number.isdigit() or unit not in ("m", "h"):
        raise ValueError(word)
    return int(number) * (60 if unit == "m" else 3600)
'''


async def test_subcommands_nest_to_any_depth(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, KARMA))

    await h.command("!karma top week 5")
    await h.command("!KARMA Top Month")
    await h.command("!karma admin reset all yes")
    await h.command("!karma bob")

    assert h.replies() == [
        "top 5 of the week",
        "top of the month",
        "reset: True",
        "karma of bob",
    ]


async def test_an_incomplete_group_lists_what_is_below_it(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    body = KARMA.replace('@command("karma", help', '@command("karma show", help')
    h = await plugin_harness(write_plugin(tmp_path, body))

    await h.command("!karma top")

    (listing,) = h.replies()
    assert "!karma top week [count]" in listing
    assert "!karma top month" in listing
    assert "reset" not in listing and "show" not in listing


async def test_a_custom_parser_reads_the_argument(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, REMIND, prelude=PARSER))

    await h.command("!remind 2h stretch your legs")
    await h.command("!remind soon stretch")

    assert h.replies() == [
        "in 7200 s: stretch your legs",
        "<after> must be a time like 5m or 2h, not 'soon'. Usage: !remind <after> <text...>",
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            "    @command('a b c d e')\n"
            "    async def deep(self, ctx: CommandContext) -> None: ...\n",
            "command 'a b c d e' (deep): a name has at most 4 words",
            id="too-deep",
        ),
        pytest.param(
            "    @command('when')\n"
            "    async def when(self, ctx: CommandContext, at: datetime) -> None: ...\n",
            "command 'when' (when): parameter 'at': unsupported type "
            "<class 'datetime.datetime'> (use str, int, float, bool, UserID, RoomID, Rest or "
            "Annotated[T, parser])",
            id="unsupported",
        ),
    ],
)
async def test_a_command_botkit_cannot_parse_is_a_load_error(
    plugin_harness: HarnessFactory, tmp_path: Path, body: str, reason: str
) -> None:
    with pytest.raises(PluginLoadError) as refused:
        await plugin_harness(write_plugin(tmp_path, body))

    assert reason in str(refused.value)
