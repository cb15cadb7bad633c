"""Typed plugin config: ranges, enums, optional values and cross-field rules, reported
one problem a line naming file and key, at ``botkit check`` and when an instance starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs
import pytest

from botkit.config import Invalid, between, merge_config, structure_config
from botkit.config.typed import mismatched_keys
from botkit.errors import ConfigError, PluginLoadError
from botkit.testing.harness import plugin_harness
from tests.core.test_cli import botkit_cli, write_config


@attrs.frozen
class Rule:
    """An item of a list in the config."""

    word: str
    points: int = attrs.field(validator=between(-5, 5))


@attrs.frozen
class KarmaConfig:
    """What a karma plugin might declare."""

    top: int = attrs.field(validator=between(1, 100))
    mode: Literal["all", "mentions"]
    limit: int | None
    rules: tuple[Rule, ...]

    def __attrs_post_init__(self) -> None:
        if self.limit is not None and self.limit < self.top:
            raise Invalid("limit", f"must be at least top ({self.top}), not {self.limit}")


GOOD: dict[str, Any] = {"top": 10, "mode": "all", "limit": None, "rules": []}


def problems(**values: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        structure_config(KarmaConfig, {**GOOD, **values}, file="bot.yaml", key_prefix="cfg")
    return [str(problem) for problem in caught.value.problems]


def test_a_good_config_becomes_the_typed_object() -> None:
    built = structure_config(
        KarmaConfig,
        {**GOOD, "limit": 20, "rules": [{"word": "++", "points": 1}]},
        file="bot.yaml",
        key_prefix="cfg",
    )

    assert built == KarmaConfig(top=10, mode="all", limit=20, rules=(Rule("++", 1),))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"top": 500}, "bot.yaml: cfg.top: must be from 1 to 100, not 500"),
        ({"top": "7"}, "bot.yaml: cfg.top: expected an integer, got '7'"),
        ({"top": True}, "bot.yaml: cfg.top: expected an integer, got true"),
        ({"mode": "some"}, "bot.yaml: cfg.mode: expected one of 'all', 'mentions', got 'some'"),
        ({"limit": "many"}, "bot.yaml: cfg.limit: expected an integer, got 'many'"),
        ({"limit": 5}, "bot.yaml: cfg.limit: must be at least top (10), not 5"),
    ],
)
def test_each_rule_is_one_problem_naming_file_and_key(
    values: dict[str, Any], expected: str
) -> None:
    assert problems(**values) == [expected]


def test_every_field_out_of_range_is_reported_beside_a_type_error() -> None:
    @attrs.frozen
    class Ranges:
        top: int = attrs.field(validator=between(1, 100))
        low: int = attrs.field(validator=between(0, 5))
        mode: Literal["all", "mentions"]

    with pytest.raises(ConfigError) as caught:
        values = {"top": 500, "low": 9, "mode": "some"}
        structure_config(Ranges, values, file="bot.yaml", key_prefix="cfg")

    # attrs stops at the first failing validator, and a type error stops them all.
    assert [str(problem) for problem in caught.value.problems] == [
        "bot.yaml: cfg.mode: expected one of 'all', 'mentions', got 'some'",
        "bot.yaml: cfg.top: must be from 1 to 100, not 500",
        "bot.yaml: cfg.low: must be from 0 to 5, not 9",
    ]


@attrs.frozen
class FromToml:
    """A config class that reads another file first, as twim reads Hebbot's TOML."""

    top: int = attrs.field(validator=between(1, 100))

    @classmethod
    def prepare(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[Invalid]]:
        if raw.get("toml") == "broken":
            raise Invalid("section", "not valid TOML", file="config.toml")
        top = raw.pop("toml")
        return {**raw, "top": top}, [Invalid("other", "unknown", file="config.toml")]


def test_what_prepare_finds_or_raises_is_reported_with_the_ranges() -> None:
    def found(raw: dict[str, Any]) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            structure_config(FromToml, raw, file="bot.yaml", key_prefix="cfg")
        return [str(problem) for problem in caught.value.problems]

    assert found({"toml": "broken"}) == ["config.toml: section: not valid TOML"]
    assert found({"toml": 500}) == [
        "config.toml: other: unknown",
        "bot.yaml: cfg.top: must be from 1 to 100, not 500",
    ]


def test_every_problem_of_a_list_is_reported_at_once_with_its_index() -> None:
    found = problems(rules=[{"word": "++"}, {"word": 1, "points": 9}, {"word": "x", "pts": 1}])

    assert found == [
        "bot.yaml: cfg.rules[0].points: missing",
        # A field of the wrong type keeps the item from being built, so its
        # validators (points' range) wait for the next check.
        "bot.yaml: cfg.rules[1].word: expected a string, got 1",
        "bot.yaml: cfg.rules[2].points: missing",
        "bot.yaml: cfg.rules[2].pts: unknown key (did you mean 'points'?)",
    ]


def test_a_null_default_takes_the_type_the_class_gives_it() -> None:
    defaults = {"limit": None}

    untyped = merge_config(defaults, {"limit": 5}, file="bot.yaml")[1]
    typed = merge_config(defaults, {"limit": 5}, file="bot.yaml", typed=True)

    assert [p.reason for p in untyped] == ["expected a string or null, got 5"]
    assert typed == ({"limit": 5}, [])


PLUGIN = """\
from __future__ import annotations

import attrs

from botkit import CommandContext, Plugin, command
from botkit.config import between


@attrs.frozen
class Config:
    top: int = attrs.field(validator=between(1, 100))
    limit: int | None


class Karma(Plugin):
    config_class = Config
    config: Config

    @command("limits")
    async def limits(self, ctx: CommandContext) -> None:
        await ctx.reply(f"{type(self.config).__name__} top={self.config.top} "
                        f"limit={self.config.limit!r}")
"""


def write_plugin(root: Path) -> Path:
    directory = root / "karma"
    directory.mkdir(parents=True)
    (directory / "plugin.yaml").write_text(
        "id: karma\nversion: 1.0.0\nmain: plugin:Karma\nconfig: config.yaml\n"
    )
    (directory / "config.yaml").write_text(
        "# Rows shown.\ntop: 10\n# Votes a day, null: no limit.\nlimit: null\n"
    )
    (directory / "plugin.py").write_text(PLUGIN)
    return directory


async def test_the_plugin_sees_its_config_as_the_typed_object(tmp_path: Path) -> None:
    directory = write_plugin(tmp_path)

    async with plugin_harness(directory, config={"limit": 5}, tmp_path=tmp_path) as h:
        await h.command("!limits")
        assert h.replies()[-1] == "Config top=10 limit=5"


async def test_an_instance_whose_config_breaks_a_rule_does_not_start(tmp_path: Path) -> None:
    directory = write_plugin(tmp_path)

    with pytest.raises(PluginLoadError, match=r"config\.top: must be from 1 to 100, not 500"):
        async with plugin_harness(directory, config={"top": 500}, tmp_path=tmp_path):
            pass


ECHO_CHECKS = [
    pytest.param(
        "      retention_days: 3\n      window_days: 7\n",
        "plugins.ping.config.retention_days: must be at least window_days (7), not 3",
        id="retention-below-window",
    ),
    pytest.param(
        "      top: 500\n",
        "plugins.ping.config.top: must be from 1 to 100, not 500",
        id="top-out-of-range",
    ),
]


@pytest.mark.parametrize(("values", "expected"), ECHO_CHECKS)
def test_botkit_check_runs_the_config_class_of_echo(
    tmp_path: Path, values: str, expected: str
) -> None:
    config = write_config(
        tmp_path / "bot.yaml", "plugins:\n  ping:\n    plugin: echo\n    config:\n" + values
    )

    result = botkit_cli("check", "-c", str(config), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{config}: {expected}"]


def test_a_config_class_and_its_defaults_that_disagree_are_the_plugins_mistake() -> None:
    defaults = {"top": 10, "mode": "all", "rules": [], "colour": "red"}

    found = mismatched_keys(KarmaConfig, defaults, file="karma/config.yaml")

    assert [str(problem) for problem in found] == [
        "karma/config.yaml: colour: not a field of the config class KarmaConfig",
        "karma/config.yaml: limit: missing: KarmaConfig.limit has no default of its own",
    ]
    assert mismatched_keys(KarmaConfig, GOOD, file="karma/config.yaml") == []
