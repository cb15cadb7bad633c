"""Loading the main config: defaults, checks, environment overrides, the sample."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from botkit.config import InstanceConfig, load_config, sample_text, write_sample
from botkit.errors import ConfigError, Problem
from botkit.storage import default_url

MINIMAL = """\
homeserver:
  url: https://matrix.example.org
  user_id: "@bot:example.org"
  access_token: syt_secret
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {}, upgrade=False)
    return caught.value.problems


def reasons(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    return [str(p) for p in problems_of(path, environ)]


def test_a_minimal_config_gets_every_default(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)

    config = load_config(path, environ={}, upgrade=False)

    assert config.homeserver.url == "https://matrix.example.org"
    assert config.homeserver.user_id == "@bot:example.org"
    assert config.homeserver.access_token == "syt_secret"
    assert config.homeserver.password is None
    assert config.homeserver.device_name == "botkit"
    assert (config.web.host, config.web.port) == ("127.0.0.1", 29316)
    assert config.bot.command_prefix == "!"
    assert config.bot.admins == ()
    assert config.bot.autojoin.enabled is True
    assert config.sync.timeout == 30.0
    assert config.sync.max_pending == 200
    assert config.sending.max_retries == 8
    assert config.logging.level == "INFO"
    assert config.plugins == {}
    assert config.path == path.resolve()


def test_database_defaults_to_sqlite_next_to_the_config(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)

    config = load_config(path, environ={}, upgrade=False)

    assert config.database_url == default_url(path)
    assert str(tmp_path.resolve() / "botkit.db") in config.database_url


def test_plugin_dirs_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "plugin_dirs: [plugins, /opt/botkit/plugins]\n")

    config = load_config(path, environ={}, upgrade=False)

    assert config.plugin_dirs == (tmp_path.resolve() / "plugins", Path("/opt/botkit/plugins"))


def test_user_values_win(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """\
database:
  url: postgresql+asyncpg://bot@db/bot
web:
  port: 8080
bot:
  command_prefix: "?"
  admins: ["@alice:example.org"]
  autojoin:
    allow: ["@bob:example.org", "example.com", "matrix.org:8448"]
sync:
  timeout: 5
logging:
  level: debug
""",
    )

    config = load_config(path, environ={}, upgrade=False)

    assert config.database_url == "postgresql+asyncpg://bot@db/bot"
    assert config.web.port == 8080
    assert config.bot.command_prefix == "?"
    assert config.bot.admins == ("@alice:example.org",)
    assert config.bot.autojoin.allow == ("@bob:example.org", "example.com", "matrix.org:8448")
    assert config.sync.timeout == 5.0
    assert config.logging.level == "DEBUG"


def test_plugin_instances(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """\
plugins:
  echo:
    plugin: echo
  twim.main:
    plugin: twim
    enabled: false
    config:
      window_days: 7
      rooms: {"!a:example.org": main}
""",
    )

    config = load_config(path, environ={}, upgrade=False)

    assert config.plugins == {
        "echo": InstanceConfig("echo", "echo", enabled=True, config={}),
        "twim.main": InstanceConfig(
            "twim.main",
            "twim",
            enabled=False,
            config={"window_days": 7, "rooms": {"!a:example.org": "main"}},
        ),
    }


def test_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "  password: hunter2\n")

    config = load_config(path, environ={}, upgrade=False)

    assert "syt_secret" not in repr(config)
    assert "hunter2" not in repr(config)


# Problems


def test_unknown_key_names_the_full_key_and_suggests_one(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "  acess_token: x\n")

    assert reasons(path) == [
        f"{path}: homeserver.acess_token: unknown key (did you mean 'access_token'?)"
    ]


def test_unknown_section_suggests_one(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "loging:\n  level: DEBUG\n")

    assert reasons(path) == [f"{path}: loging: unknown key (did you mean 'logging'?)"]


def test_wrong_type_names_key_type_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "web:\n  port: http\n")

    assert reasons(path) == [f"{path}: web.port: expected an integer, got 'http'"]


def test_a_boolean_is_not_a_port(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "web:\n  port: true\n")

    assert reasons(path) == [f"{path}: web.port: expected an integer, got true"]


def test_bad_homeserver_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
homeserver:
  url: matrix.example.org
  user_id: bot
""",
    )

    assert [(p.key, p.reason) for p in problems_of(path)] == [
        ("homeserver.url", "expected an http(s) URL, got 'matrix.example.org'"),
        ("homeserver.user_id", "expected a Matrix user ID like '@bot:example.org', got 'bot'"),
    ]


def test_a_password_is_enough(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("access_token: syt_secret", "password: hunter2"))

    config = load_config(path, environ={}, upgrade=False)

    assert (config.homeserver.access_token, config.homeserver.password) == (None, "hunter2")


@pytest.mark.parametrize(
    ("extra", "key", "reason"),
    [
        ("web:\n  port: 70000\n", "web.port", "expected a port from 0 to 65535, got 70000"),
        ("bot:\n  admins: [alice]\n", "bot.admins[0]", "expected a Matrix user ID, got 'alice'"),
        (
            "bot:\n  autojoin:\n    allow: ['not a server']\n",
            "bot.autojoin.allow[0]",
            "expected a Matrix user ID or server name, got 'not a server'",
        ),
        ("bot:\n  command_prefix: ''\n", "bot.command_prefix", "must not be empty"),
        ("sync:\n  timeout: 0\n", "sync.timeout", "must be more than 0, got 0"),
        ("sync:\n  max_pending: -1\n", "sync.max_pending", "must be more than 0, got -1"),
        ("sending:\n  max_retries: -1\n", "sending.max_retries", "must be 0 (no retries) or more"),
        ("sending:\n  max_backoff: 0\n", "sending.max_backoff", "must be more than 0"),
        (
            "logging:\n  level: LOUD\n",
            "logging.level",
            "expected a level name (DEBUG, INFO, WARNING, ERROR, CRITICAL), got 'LOUD'",
        ),
        ("database:\n  url: 'not a url'\n", "database.url", None),
        ("logging:\n  format: '%(message'\n", "logging.format", None),
    ],
)
def test_values_out_of_range(tmp_path: Path, extra: str, key: str, reason: str | None) -> None:
    path = write(tmp_path, MINIMAL + extra)

    (problem,) = problems_of(path)

    assert problem.key == key
    if reason is not None:
        assert problem.reason == reason


def test_zero_retries_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "sending:\n  max_retries: 0\n")

    assert load_config(path, environ={}, upgrade=False).sending.max_retries == 0


def test_bad_plugin_instances(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """\
plugins:
  no-plugin:
    enabled: true
  typo:
    plugin: echo
    enable: false
  wrong-types:
    plugin: echo
    enabled: "no"
    config: [1]
  "bad name!":
    plugin: echo
  bare:
""",
    )

    assert [(p.key, p.reason) for p in problems_of(path)] == [
        ("plugins.no-plugin.plugin", "missing: which plugin to run"),
        ("plugins.typo.enable", "unknown key (did you mean 'enabled'?)"),
        ("plugins.wrong-types.enabled", "expected true or false, got 'no'"),
        ("plugins.wrong-types.config", "expected a mapping, got a list"),
        ("plugins.bad name!", "instance names may only hold letters, digits and '_', '.', '-'"),
        ("plugins.bare.plugin", "missing: which plugin to run"),
    ]


def test_every_problem_is_raised_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "homeserver:\n  url: ftp://x\nweb:\n  port: true\nfoo: 1\n",
    )

    assert [p.key for p in problems_of(path)] == [
        "web.port",
        "foo",
        "homeserver.url",
    ]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "web:\n  port: [8080\n  host: x\n")

    (problem,) = problems_of(path)

    assert problem.file == str(path)
    assert "line 7" in problem.reason


def test_tab_indentation_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "homeserver:\n\turl: x\n")

    (problem,) = problems_of(path)

    assert "line 2" in problem.reason


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    assert reasons(path) == [f"{path}: file not found (`botkit init` writes a commented sample)"]


def test_a_list_is_not_a_config(tmp_path: Path) -> None:
    path = write(tmp_path, "- homeserver\n")

    assert reasons(path)[0] == f"{path}: expected a mapping, got a list"


# Environment


def test_token_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("  access_token: syt_secret\n", ""))

    config = load_config(
        path, environ={"BOTKIT_HOMESERVER__ACCESS_TOKEN": "syt_env"}, upgrade=False
    )

    assert config.homeserver.access_token == "syt_env"


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    environ = {"BOTKIT_HOMESERVER__ACCESS_TOKEN": "12345", "BOTKIT_WEB__PORT": "8080"}

    config = load_config(path, environ=environ, upgrade=False)

    # A string key takes the text as is, so a numeric token stays a string.
    assert config.homeserver.access_token == "12345"
    assert config.web.port == 8080
    assert config.raw["web"]["port"] == 8080


def test_environment_scalars_are_read_as_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    environ = {
        "BOTKIT_BOT__AUTOJOIN__ENABLED": "false",
        "BOTKIT_SYNC__TIMEOUT": "2.5",
        "BOTKIT_BOT__ADMINS": '["@alice:example.org"]',
    }

    config = load_config(path, environ=environ, upgrade=False)

    assert config.bot.autojoin.enabled is False
    assert config.sync.timeout == 2.5
    assert config.bot.admins == ("@alice:example.org",)


def test_unknown_environment_key_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)

    assert reasons(path, {"BOTKIT_HOMESERVER__ACESS_TOKEN": "x"}) == [
        "environment: BOTKIT_HOMESERVER__ACESS_TOKEN: 'homeserver.acess_token': "
        "unknown key (did you mean 'access_token'?)"
    ]


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("BOTKIT_WEB__PORT", "eighty", "expected an integer, got 'eighty'"),
        ("BOTKIT_WEB__PORT", "true", "expected an integer, got true"),
        ("BOTKIT_BOT__AUTOJOIN", "x", "'bot.autojoin' is a section; set its keys one by one"),
        ("BOTKIT_WEB__PORT__X", "1", "'web.port.x' is not a config key"),
        (
            "BOTKIT_PLUGINS__ECHO",
            "x",
            "the entries of 'plugins' cannot be set from the environment",
        ),
        (
            "BOTKIT_HOMESERVER_ACCESS_TOKEN",
            "x",
            "separate section and key with '__': BOTKIT_HOMESERVER__ACCESS_TOKEN",
        ),
    ],
)
def test_bad_environment_values_name_the_variable(
    tmp_path: Path, variable: str, value: str, reason: str
) -> None:
    path = write(tmp_path, MINIMAL)

    assert [(p.file, p.key, p.reason) for p in problems_of(path, {variable: value})] == [
        ("environment", variable, reason)
    ]


def test_a_bad_value_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)

    assert reasons(path, {"BOTKIT_HOMESERVER__URL": "localhost"}) == [
        "environment: BOTKIT_HOMESERVER__URL: expected an http(s) URL, got 'localhost'"
    ]


def test_unrelated_botkit_variables_are_left_alone(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    environ = {"BOTKIT_TEST_POSTGRES_URL": "postgresql://x", "HOME": "/root"}

    assert load_config(path, environ=environ, upgrade=False).web.port == 29316


def test_environment_values_are_never_written_to_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("  access_token: syt_secret\n", ""))
    environ = {"BOTKIT_HOMESERVER__ACCESS_TOKEN": "syt_from_env", "BOTKIT_WEB__PORT": "4242"}

    load_config(path, environ=environ)

    text = path.read_text()
    assert "syt_from_env" not in text
    assert "4242" not in text
    assert "access_token: null" in text
    assert "port: 29316" in text


# The sample


def test_the_sample_loads_once_it_has_a_token(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    write_sample(path)
    before = path.stat()

    config = load_config(path, environ={"BOTKIT_HOMESERVER__ACCESS_TOKEN": "syt_x"})

    assert config.homeserver.user_id == "@bot:example.org"
    assert config.plugin_dirs == (tmp_path.resolve() / "plugins",)
    # The sample already has every key: nothing to write.
    assert path.stat().st_ino == before.st_ino
    assert path.read_text() == sample_text()


def test_the_sample_loads_without_a_token(tmp_path: Path) -> None:
    # `botkit login` may keep the device's tokens in the database instead; without
    # them the bot says at start what is missing (tests/core/test_tokens.py).
    path = tmp_path / "config.yaml"
    write_sample(path)

    assert load_config(path, environ={}, upgrade=False).homeserver.access_token is None


def test_write_sample_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)

    with pytest.raises(ConfigError, match="already exists") as caught:
        write_sample(path)

    assert caught.value.problems[0].file == str(path)
    assert path.read_text() == MINIMAL


def test_write_sample_is_private_and_makes_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "botkit" / "config.yaml"

    write_sample(path)

    assert path.read_text() == sample_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_variable_unsets_a_nullable_value(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "  password: hunter2\n")

    config = load_config(path, environ={"BOTKIT_HOMESERVER__PASSWORD": ""}, upgrade=False)

    assert config.homeserver.password is None
