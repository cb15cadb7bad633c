"""The echo config as the plugin reads it: defaults from config.yaml, and what is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from botkit.config import load_defaults, merge_config, structure_config
from botkit.errors import ConfigError
from plugins.echo.settings import EchoSettings

CONFIG = Path(__file__).parents[2] / "plugins" / "echo" / "config.yaml"


def settings(**values: Any) -> EchoSettings:
    """The settings of an instance configured with ``values``, checked as the bot checks them."""
    defaults = load_defaults(CONFIG.read_text(), str(CONFIG))
    merged, problems = merge_config(defaults, values, file="bot.yaml", typed=True)
    assert problems == []
    return structure_config(EchoSettings, merged, file="bot.yaml", key_prefix="plugins.echo.config")


def test_the_defaults_are_the_protocols() -> None:
    defaults = settings()

    assert defaults == EchoSettings(
        rooms=frozenset(),
        window_days=7,
        retention_days=30,
        min_ms=10,
        max_ms=600_000,
        top=10,
        verify_pongs=True,
        disclaimer=defaults.disclaimer,
    )
    assert "say little about how well the homeserver performs" in defaults.disclaimer
    assert defaults.window_s == 7 * 86400
    assert defaults.records("!any:example.org")


def test_listed_rooms_are_the_only_ones_recorded() -> None:
    only = settings(rooms=["!ping:example.org"])

    assert only.records("!ping:example.org")
    assert not only.records("!other:example.org")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rooms": ["#ping:example.org"]}, "rooms: expected room IDs like '!abc:example.org'"),
        ({"window_days": 0}, "window_days: must be from 1 to 3650, not 0"),
        ({"retention_days": 3}, "retention_days: must be at least window_days (7), not 3"),
        ({"min_ms": 700_000}, "min_ms: must not exceed max_ms (600000), not 700000"),
        ({"top": 0}, "top: must be from 1 to 100, not 0"),
        ({"top": 500}, "top: must be from 1 to 100, not 500"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**values)
    [problem] = caught.value.problems
    assert problem.file == "bot.yaml"
    assert str(problem).startswith(f"bot.yaml: plugins.echo.config.{message}")
