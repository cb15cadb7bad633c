"""Hebbot's config.toml read as it is: every key mapped, the YAML winning, problems named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from botkit.config import load_defaults
from botkit.errors import ConfigError
from plugins.twim.hebbot import HebbotConfigError, read_hebbot_config, with_hebbot
from tests.twim.stored import config_problems, read_settings
from tests.twim.twimconfig import twim_config_dir

CONFIG_YAML = Path(__file__).parents[2] / "plugins" / "twim" / "config.yaml"

SMALL = """\
bot_user_id = '@twim:example.org'
reporting_room_id = '!report:example.org'
admin_room_id = '!admin:example.org'
ping_room_id = '!ping:example.org'
notice_emoji = '⭕️'
restrict_notice = true
image_markdown = '> ![](/blog/img/{{file}})'
video_markdown = '> {{< video src="{{file}}" >}}'
verbs = ["reports", "says"]
min_length = 100
ack_text = "Thanks {{user}}"
update_config_command = "true"
editors = ['@ed:example.org']

[[sections]]
emoji = '🏢'
name = 'servers'
title = 'Dept of Servers 🏢'
order = 1060
usual_reporters = ['@rep:example.org']

[[projects]]
emoji = 'Emt Client'
name = 'element'
title = 'Element'
description = 'A client.'
website = 'https://element.io'
default_section = 'servers'
usual_reporters = []
"""


def defaults() -> dict[str, Any]:
    return load_defaults(CONFIG_YAML.read_text(encoding="utf-8"), str(CONFIG_YAML))


def config_with(path: Path, **values: Any) -> dict[str, Any]:
    return {**defaults(), "hebbot_config": str(path), **values}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_key_of_a_hebbot_config_reaches_the_settings(tmp_path: Path) -> None:
    config = config_with(write(tmp_path, SMALL))
    assert with_hebbot(config)[1] == []
    settings = read_settings(config)

    assert settings.rooms == ("!report:example.org",)
    assert settings.editor_room == "!admin:example.org"
    assert settings.ping_room == "!ping:example.org"
    assert settings.editors == {"@ed:example.org"}
    assert (settings.notice_emoji, settings.restrict_notice) == ("⭕️", True)
    assert settings.image_markdown == "> ![](/blog/img/{{file}})"
    assert settings.video_markdown == '> {{< video src="{{file}}" >}}'
    assert (settings.verbs, settings.min_length) == (("reports", "says"), 100)
    assert settings.ack_text == "Thanks {{user}}"
    [section] = settings.sections
    assert (section.key, section.emoji, section.title, section.order) == (
        "servers",
        "🏢",
        "Dept of Servers 🏢",
        1060,
    )
    assert section.usual_reporters == ("@rep:example.org",)
    [project] = settings.projects
    assert (project.name, project.reaction, project.title, project.section) == (
        "element",
        "Emt Client",
        "Element",
        "servers",
    )
    assert (project.description, project.website) == ("A client.", "https://element.io")
    # Hebbot's editors tag with the project's emoji; the name keeps working too.
    assert settings.project_reactions() == {"element": "element", "emt client": "element"}


def test_a_value_set_in_the_yaml_wins_over_the_toml(tmp_path: Path) -> None:
    config = config_with(write(tmp_path, SMALL), min_length=10, editors=["@boss:example.org"])

    settings = read_settings(config)

    assert (settings.min_length, set(settings.editors)) == (10, {"@boss:example.org"})
    assert settings.verbs == ("reports", "says")


def test_unknown_keys_are_problems_that_botkit_check_shows(tmp_path: Path) -> None:
    text = SMALL.replace("min_length = 100", "min_lenght = 100").replace(
        "website = ", "homepage = 'x'\nwebsite = "
    )
    problems = config_problems(config_with(write(tmp_path, text)))

    assert [(p.file, p.key) for p in problems] == [
        (str(tmp_path / "config.toml"), "min_lenght"),
        (str(tmp_path / "config.toml"), "projects[0].homepage"),
    ]
    assert "did you mean 'min_length'?" in problems[0].reason


def test_a_value_of_the_wrong_type_is_named_and_left_out(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL.replace("min_length = 100", "min_length = 'long'"))

    hebbot = read_hebbot_config(path)

    assert [(p.key, p.reason) for p in hebbot.problems] == [
        ("min_length", "must be a whole number of 0 or more")
    ]
    assert "min_length" not in hebbot.values


def test_a_broken_toml_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL.replace("order = 1060", "order = = 1060"))
    line = SMALL.splitlines().index("order = 1060") + 1

    with pytest.raises(HebbotConfigError, match=rf"config\.toml: not valid TOML: .*line {line},"):
        read_hebbot_config(path)
    [problem] = config_problems(config_with(path))
    assert problem.key == "hebbot_config"
    assert f"line {line}," in problem.reason


def test_the_plugin_does_not_start_on_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hebbot_config: .*cannot read the Hebbot config"):
        read_settings(config_with(tmp_path / "absent.toml"))


def test_the_real_twim_config_maps_without_a_problem() -> None:
    folder = twim_config_dir()

    config = config_with(folder / "config.toml")
    assert with_hebbot(config)[1] == []
    settings = read_settings(config)

    assert len(settings.sections) == 33
    assert len(settings.projects) == 132
    assert len(settings.editors) == 6
    assert settings.verbs == ("reports", "says", "announces")
    assert settings.rooms == ("!vzDE5GnhIhncy8gpyeK4WFPVyeWvIh8JYeM3iqR8RV8",)
    assert all(project.website and project.description for project in settings.projects)
    servers = {s.key: s for s in settings.sections}["servers"]
    assert (servers.title, servers.order) == ("Dept of Servers 🏢", 1060)


def test_botkit_check_reports_the_hebbot_file_and_plugin_problems(tmp_path: Path) -> None:
    toml = write(tmp_path, SMALL.replace("min_length = 100", "min_lenght = 100"))
    config = tmp_path / "bot.yaml"
    config.write_text(
        "homeserver:\n"
        "  url: http://127.0.0.1:9\n"
        '  user_id: "@bot:example.org"\n'
        "  access_token: not-used-by-check\n"
        f"plugin_dirs: [{CONFIG_YAML.parents[1]}]\n"
        "plugins:\n"
        "  twim:\n"
        "    plugin: twim\n"
        "    config:\n"
        f"      hebbot_config: {toml}\n"
        "      schedule: {weekday: someday}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTKIT_")}
    env["PYTHONPATH"] = str(CONFIG_YAML.parents[2])

    result = subprocess.run(
        [sys.executable, "-m", "botkit", "check", "-c", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert (
        f"{toml}: min_lenght: unknown key (did you mean 'min_length'?) of Hebbot's config" in lines
    )
    assert any(
        line.startswith(f"{config}: plugins.twim.config.schedule.weekday: must be one of")
        for line in lines
    ), lines
