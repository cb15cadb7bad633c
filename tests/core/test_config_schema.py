"""Checking a config against a commented defaults document (also used for plugin configs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from ruamel.yaml.comments import CommentedMap

from botkit.config import load_defaults, merge_config
from botkit.errors import ConfigError, Problem

PLUGIN_DEFAULTS = """\
# How many days a summary covers.
window_days: 7
# Seconds between polls.
interval: 1.5
enabled: true
title: Weekly
# Optional API key.
api_key: null
# Free-form: room ID -> label.
rooms: {}
tags: []
limits:
  per_user: 3
  burst: 10
feeds:
  - url: https://example.org/feed
    weight: 1
"""


@pytest.fixture
def defaults() -> dict[str, Any]:
    return load_defaults(PLUGIN_DEFAULTS, "plugins/twim/config.yaml")


def merge(defaults: dict[str, Any], user: object) -> tuple[dict[str, Any], list[Problem]]:
    return merge_config(defaults, user, file="config.yaml", key_prefix="plugins.twim.config")


def reasons(problems: Sequence[Problem]) -> list[str]:
    return [str(p) for p in problems]


def test_defaults_fill_what_the_user_left_out(defaults: CommentedMap) -> None:
    merged, problems = merge(defaults, {"title": "Digest", "limits": {"burst": 20}})

    assert problems == []
    assert merged["title"] == "Digest"
    assert merged["window_days"] == 7
    assert merged["limits"] == {"per_user": 3, "burst": 20}
    assert merged["feeds"] == [{"url": "https://example.org/feed", "weight": 1}]


def test_nothing_set_gives_the_defaults_as_plain_python(defaults: CommentedMap) -> None:
    merged, problems = merge(defaults, None)

    assert problems == []
    assert type(merged["limits"]) is dict
    assert type(merged["interval"]) is float
    assert merged["api_key"] is None


def test_wrong_type_names_key_expected_type_and_value(defaults: CommentedMap) -> None:
    merged, problems = merge(defaults, {"window_days": "seven"})

    assert reasons(problems) == [
        "config.yaml: plugins.twim.config.window_days: expected an integer, got 'seven'"
    ]
    assert merged["window_days"] == 7


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("window_days", True, "expected an integer, got true"),
        ("window_days", 7.5, "expected an integer, got 7.5"),
        ("enabled", 1, "expected true or false, got 1"),
        ("enabled", "yes", "expected true or false, got 'yes'"),
        ("interval", False, "expected a number, got false"),
        ("title", 12, "expected a string, got 12"),
        ("title", None, "expected a string, got null"),
        ("api_key", 42, "expected a string or null, got 42"),
        ("rooms", ["a"], "expected a mapping, got a list"),
        ("tags", "a", "expected a list, got 'a'"),
        ("limits", 5, "expected a mapping, got 5"),
    ],
)
def test_types_follow_the_default_value(
    defaults: CommentedMap, key: str, value: object, expected: str
) -> None:
    _, problems = merge(defaults, {key: value})

    assert [(p.key, p.reason) for p in problems] == [(f"plugins.twim.config.{key}", expected)]


def test_a_number_default_accepts_an_integer_as_a_float(defaults: CommentedMap) -> None:
    merged, problems = merge(defaults, {"interval": 2})

    assert problems == []
    assert merged["interval"] == 2.0
    assert type(merged["interval"]) is float


def test_null_default_accepts_a_string(defaults: CommentedMap) -> None:
    merged, problems = merge(defaults, {"api_key": "k-123"})

    assert problems == []
    assert merged["api_key"] == "k-123"


def test_empty_mapping_default_is_free_form(defaults: CommentedMap) -> None:
    rooms = {"!a:example.org": "main", "nested": {"any": [1, 2]}}

    merged, problems = merge(defaults, {"rooms": rooms, "tags": [1, "two"]})

    assert problems == []
    assert merged["rooms"] == rooms
    assert merged["tags"] == [1, "two"]


def test_list_items_are_checked_against_the_first_default_item(defaults: CommentedMap) -> None:
    user = {"feeds": [{"url": "https://a.example/rss"}, {"url": 3}, {"link": "x"}]}

    merged, problems = merge(defaults, user)

    assert [(p.key, p.reason) for p in problems] == [
        ("plugins.twim.config.feeds[1].url", "expected a string, got 3"),
        ("plugins.twim.config.feeds[2].link", "unknown key"),
    ]
    assert merged["feeds"][0] == {"url": "https://a.example/rss", "weight": 1}


def test_unknown_key_suggests_the_closest_known_one(defaults: CommentedMap) -> None:
    _, problems = merge(defaults, {"limits": {"per_usr": 1}, "colour": "red"})

    assert reasons(problems) == [
        "config.yaml: plugins.twim.config.limits.per_usr: unknown key (did you mean 'per_user'?)",
        "config.yaml: plugins.twim.config.colour: unknown key",
    ]


def test_every_problem_is_reported_at_once(defaults: CommentedMap) -> None:
    _, problems = merge(defaults, {"window_days": "x", "enabled": "x", "nope": 1})

    assert len(problems) == 3


def test_a_commented_out_section_counts_as_empty(defaults: CommentedMap) -> None:
    user = load_defaults("limits:\n#  per_user: 5\nrooms:\ntags:\n", "config.yaml")

    merged, problems = merge(defaults, user)

    assert problems == []
    assert merged["limits"] == {"per_user": 3, "burst": 10}
    assert merged["rooms"] == {}
    assert merged["tags"] == []


def test_values_parsed_from_yaml_come_back_as_plain_python(defaults: CommentedMap) -> None:
    user = load_defaults("interval: 0.25\nenabled: false\nwindow_days: 0x10\n", "config.yaml")

    merged, problems = merge(defaults, user)

    assert problems == []
    assert (type(merged["interval"]), type(merged["enabled"]), type(merged["window_days"])) == (
        float,
        bool,
        int,
    )
    assert merged["window_days"] == 16


def test_not_a_mapping_at_all(defaults: CommentedMap) -> None:
    _, problems = merge(defaults, ["a"])

    assert reasons(problems) == ["config.yaml: plugins.twim.config: expected a mapping, got a list"]


def test_defaults_with_a_syntax_error_name_the_plugin_file_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_defaults("a: 1\nb: [1, 2\nc: 3\n", "plugins/twim/config.yaml")

    (problem,) = caught.value.problems
    assert problem.file == "plugins/twim/config.yaml"
    assert "line 3" in problem.reason


def test_defaults_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match=r"plugins/x/config.yaml: expected a mapping"):
        load_defaults("- a\n- b\n", "plugins/x/config.yaml")


def test_empty_defaults_accept_nothing() -> None:
    defaults = load_defaults("# nothing to configure\n", "plugins/x/config.yaml")

    merged, problems = merge_config(defaults, {"a": 1}, file="config.yaml", key_prefix="p")

    assert merged == {}
    assert [p.key for p in problems] == ["p.a"]


def test_an_anchored_boolean_is_still_a_boolean(defaults: CommentedMap) -> None:
    user = load_defaults("enabled: &on false\nwindow_days: *on\n", "config.yaml")

    merged, problems = merge(defaults, user)

    assert merged["enabled"] is False
    assert reasons(problems) == [
        "config.yaml: plugins.twim.config.window_days: expected an integer, got false"
    ]


def test_an_unquoted_date_is_not_a_string(defaults: CommentedMap) -> None:
    user = load_defaults("title: 2024-05-01\n", "config.yaml")

    _, problems = merge(defaults, user)

    assert [p.reason for p in problems] == [
        "expected a string, got a date (2024-05-01; quote it to make it a string)"
    ]
