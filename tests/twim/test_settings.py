"""The plugin's config read into settings; the schedule; Matrix Live ids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from botkit.errors import ConfigError
from plugins.twim.draft import youtube_id
from plugins.twim.settings import fold, project_key
from tests.twim.stored import ROOM, settings


def test_the_shipped_config_reads_into_settings() -> None:
    read = settings()

    assert read.rooms == (ROOM,)
    assert len(read.sections) == 14
    assert {p.name for p in read.projects} >= {"synapse", "conduit", "element"}
    assert read.schedule.zone.key == "Europe/London"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ack": "wave"}, "ack: expected one of 'reaction', 'notice', 'receipt', got 'wave'"),
        ({"notice_emoji": "\ufe0f"}, "notice_emoji: must not be empty"),
        (
            {"schedule": {"weekday": "caturday", "time": "15:00", "timezone": "UTC"}},
            "schedule.weekday: must be one of monday",
        ),
        (
            {"schedule": {"weekday": "friday", "time": "25:00", "timezone": "UTC"}},
            "schedule.time: must be HH:MM, not '25:00'",
        ),
        (
            {"schedule": {"weekday": "friday", "time": "15:00", "timezone": "Mars/Olympus"}},
            "schedule.timezone: unknown time zone 'Mars/Olympus'",
        ),
        ({"min_length": -1}, "min_length: must be at least 0, not -1"),
        ({"live_video": "https://example.org/v"}, "live_video: 'https://example.org/v' is not"),
        ({"file_name": "posts/{date}.md"}, "file_name: 'posts/{date}.md' must name a file"),
        (
            {"projects": [{"name": "x", "title": "X", "description": "", "section": "nope"}]},
            "projects[0].section: 'nope' is not a section key",
        ),
        ({"draft_token": "short"}, "draft_token: must be at least 16 printable characters"),
    ],
)
def test_values_a_type_cannot_check_are_refused_with_their_key(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**change)
    [problem] = caught.value.problems
    assert f"{problem.key}: {problem.reason}".startswith(message)


def test_the_weekly_preview_runs_at_the_local_hour_across_summer_time() -> None:
    schedule = settings().schedule  # Fridays 15:00, Europe/London

    summer = schedule.next_run(datetime(2024, 7, 3, 9, 0, tzinfo=UTC))
    assert summer.astimezone(UTC) == datetime(2024, 7, 5, 14, 0, tzinfo=UTC)
    winter = schedule.next_run(datetime(2024, 12, 6, 15, 0, tzinfo=UTC))
    assert winter.astimezone(UTC) == datetime(2024, 12, 13, 15, 0, tzinfo=UTC)
    just_before = schedule.next_run(datetime(2024, 12, 6, 14, 59, tzinfo=UTC))
    assert just_before.astimezone(UTC) == datetime(2024, 12, 6, 15, 0, tzinfo=UTC)


def test_reaction_keys_fold_variation_selectors_case_and_the_suggestion_mark() -> None:
    assert fold("🌡️") == fold("🌡") == "🌡"
    assert project_key("Synapse ?") == project_key("synapse") == "synapse"
    assert project_key("synapse?") == "synapse"


@pytest.mark.parametrize(
    "given",
    [
        "dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42",
        "https://youtu.be/dQw4w9WgXcQ",
        "youtube.com/live/dQw4w9WgXcQ",
        "<https://www.youtube.com/embed/dQw4w9WgXcQ>",
    ],
)
def test_matrix_live_takes_a_youtube_url_or_id(given: str) -> None:
    assert youtube_id(given) == "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "given", ["", "short", "https://example.org/watch?v=dQw4w9WgXcQ", 'dQw4w9WgXcQ"><x']
)
def test_anything_else_is_no_video(given: str) -> None:
    assert youtube_id(given) is None


def test_every_rule_the_sections_and_projects_break_is_reported_at_once() -> None:
    sections = [
        {"key": "a", "title": "A", "emoji": "🅰️", "order": 1},
        {"key": "a", "title": "B", "emoji": "🅰", "order": 2},
    ]
    projects = [{"name": "p", "title": "P", "description": "", "section": "nope"}]

    with pytest.raises(ConfigError) as caught:
        settings(sections=sections, projects=projects)

    assert [f"{p.key}: {p.reason}" for p in caught.value.problems] == [
        "sections[1].key: 'a' is used twice",
        "sections[1].emoji: '🅰' is used twice",
        "projects[0].section: 'nope' is not a section key",
    ]
