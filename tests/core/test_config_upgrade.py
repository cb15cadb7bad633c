"""Upgrading a config file in place: missing keys added, the user's comments kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from botkit.config import load_config
from botkit.config.files import read_yaml
from botkit.errors import ConfigError

USER_CONFIG = """\
# My bot's config. Do not commit the token!
homeserver:
  # ours, since 2023
  url: https://matrix.example.org  # behind the proxy
  # the bot account
  user_id: "@bot:example.org"
  access_token: syt_secret

# Ops asked for this port.
web:
  port: 8080

plugins:
  # says everything back
  echo:
    plugin: echo
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def lines_between(text: str, first: str, last: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index(first)
    return lines[start : lines.index(last, start) + 1]


def test_missing_keys_are_written_with_the_samples_comments(tmp_path: Path) -> None:
    path = write(tmp_path, USER_CONFIG)

    load_config(path, environ={})

    text = path.read_text()
    document = read_yaml(path)[1]
    assert list(document) == [
        "homeserver",
        "database",
        "web",
        "bot",
        "sync",
        "sending",
        "encryption",
        "appservice",
        "standby",
        "logging",
        "plugin_dirs",
        "plugins",
    ]
    assert document["homeserver"]["device_name"] == "botkit"
    assert document["sync"]["handler_timeout"] == 60.0
    assert "# Display name of the device created by a password login." in text
    assert "# Long-poll timeout of each /sync request, in seconds." in text


def test_the_users_comments_stay_where_they_were(tmp_path: Path) -> None:
    path = write(tmp_path, USER_CONFIG)

    load_config(path, environ={})

    text = path.read_text()
    assert text.startswith("# My bot's config. Do not commit the token!\nhomeserver:\n")
    assert lines_between(text, "# ours, since 2023", 'user_id: "@bot:example.org"') == [
        "# ours, since 2023",
        "url: https://matrix.example.org  # behind the proxy",
        "# the bot account",
        'user_id: "@bot:example.org"',
    ]
    # Inserting keys after a section must not carry the comment above the next one along.
    assert lines_between(text, "# Ops asked for this port.", "port: 8080") == [
        "# Ops asked for this port.",
        "web:",
        "# Address of the HTTP server (health, metrics and plugin routes).",
        "host: 127.0.0.1",
        "port: 8080",
    ]
    assert lines_between(text, "# says everything back", "plugin: echo") == [
        "# says everything back",
        "echo:",
        "plugin: echo",
    ]


def test_the_upgraded_file_loads_to_the_same_config(tmp_path: Path) -> None:
    path = write(tmp_path, USER_CONFIG)

    first = load_config(path, environ={})
    second = load_config(path, environ={})

    assert first == second


def test_a_complete_file_is_not_rewritten(tmp_path: Path) -> None:
    path = write(tmp_path, USER_CONFIG)
    load_config(path, environ={})
    upgraded = path.stat()

    load_config(path, environ={})

    # The upgrade replaces the file (temp file + rename), which would show as a new inode.
    assert path.stat().st_ino == upgraded.st_ino
    assert path.stat().st_mtime_ns == upgraded.st_mtime_ns


def test_the_upgrade_keeps_the_files_permissions(tmp_path: Path) -> None:
    path = write(tmp_path, USER_CONFIG)
    path.chmod(0o600)

    load_config(path, environ={})

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]


def test_no_upgrade_when_asked_not_to(tmp_path: Path) -> None:
    path = write(tmp_path, USER_CONFIG)

    config = load_config(path, environ={}, upgrade=False)

    assert config.homeserver.device_name == "botkit"
    assert path.read_text() == USER_CONFIG


def test_no_upgrade_when_something_is_wrong(tmp_path: Path) -> None:
    path = write(tmp_path, USER_CONFIG.replace("port: 8080", "port: true"))
    before = path.read_text()

    with pytest.raises(ConfigError):
        load_config(path, environ={})

    assert path.read_text() == before


def test_four_space_indentation_is_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
homeserver:
    url: https://matrix.example.org
    user_id: "@bot:example.org"
    access_token: syt_secret
bot:
    admins:
      - "@alice:example.org"
""",
    )

    load_config(path, environ={})

    text = path.read_text()
    assert "\n    device_name: botkit\n" in text
    assert (
        "\n    autojoin:\n        # Join rooms the bot is invited to.\n        enabled: true\n"
        in text
    )
    assert '\n    admins:\n      - "@alice:example.org"\n' in text


def test_a_key_missing_at_the_top_of_a_section_goes_above_the_users_comment(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        USER_CONFIG.replace("web:\n  port: 8080\n", "web:\n  # fixed by ops\n  port: 8080\n"),
    )

    load_config(path, environ={})

    assert lines_between(path.read_text(), "web:", "port: 8080") == [
        "web:",
        "# Address of the HTTP server (health, metrics and plugin routes).",
        "host: 127.0.0.1",
        "# fixed by ops",
        "port: 8080",
    ]


def test_a_commented_out_section_is_filled(tmp_path: Path) -> None:
    path = write(tmp_path, USER_CONFIG + "bot:\n#  command_prefix: '?'\n")

    load_config(path, environ={})

    document = read_yaml(path)[1]
    assert document["bot"]["command_prefix"] == "!"
    assert document["bot"]["autojoin"]["allow"] == []
    assert "#  command_prefix: '?'" in path.read_text()


def test_a_file_of_comments_only_keeps_them(tmp_path: Path) -> None:
    path = write(tmp_path, "# filled in by botkit\n")

    load_config(path, environ={"BOTKIT_HOMESERVER__ACCESS_TOKEN": "syt_x"})

    text = path.read_text()
    assert text.startswith("# filled in by botkit\n")
    assert read_yaml(path)[1]["homeserver"]["url"] == "https://matrix.example.org"
    assert "syt_x" not in text


def test_comments_at_the_end_of_a_section_stay_in_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
homeserver:
  url: https://matrix.example.org
  user_id: "@bot:example.org"
  access_token: syt_secret
bot:
  admins:
    - "@alice:example.org"
    # - "@bob:example.org" once he is back
  # end of the bot section

# The port below is fixed by ops.
web:
  port: 8080
""",
    )

    load_config(path, environ={})

    text = path.read_text()
    assert lines_between(text, "admins:", "autojoin:") == [
        "admins:",
        '- "@alice:example.org"',
        '# - "@bob:example.org" once he is back',
        "autojoin:",
    ]
    assert lines_between(text, "allow: []", "# end of the bot section") == [
        "allow: []",
        "# end of the bot section",
    ]
    assert lines_between(text, "# The port below is fixed by ops.", "web:") == [
        "# The port below is fixed by ops.",
        "web:",
    ]
