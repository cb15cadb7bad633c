"""Bot configs written for test accounts are configs botkit accepts, as asked for."""

from __future__ import annotations

from pathlib import Path

from mautrix.types import DeviceID, UserID

from botkit.config import load_config
from botkit.testing.botconfig import write_bot_config
from botkit.testing.synapse import MatrixAccount

ACCOUNT = MatrixAccount(
    user_id=UserID("@bot:localhost"),
    access_token="syt_secret",
    device_id=DeviceID("DEVICE"),
    password="hunter2",
    homeserver_url="http://127.0.0.1:8008",
)


def test_the_config_logs_in_as_the_account_and_stops_quickly(tmp_path: Path) -> None:
    path = write_bot_config(tmp_path / "config.yaml", account=ACCOUNT)

    config = load_config(path, environ={})
    assert config.homeserver.url == "http://127.0.0.1:8008"
    assert config.homeserver.user_id == "@bot:localhost"
    assert config.homeserver.access_token == "syt_secret"
    assert config.web.port == 0
    assert config.sync.timeout == 5
    assert config.plugins == {}
    # It is the commented sample, filled in.
    assert "# Long-poll timeout of each /sync request" in path.read_text()


def test_plugins_database_and_overrides_are_taken_as_given(tmp_path: Path) -> None:
    path = write_bot_config(
        tmp_path / "config.yaml",
        account=ACCOUNT,
        homeserver_url="http://127.0.0.2:9000",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        plugins={"loud": {"plugin": "echo", "config": {"volume": 11}}, "quiet": {}},
        plugin_dirs=[str(tmp_path)],
        sync={"timeout": 1},
        bot={"admins": ["@alice:localhost"]},
    )

    config = load_config(path, environ={}, upgrade=False)
    assert config.homeserver.url == "http://127.0.0.2:9000"
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    assert config.plugin_dirs == (tmp_path,)
    assert config.sync.timeout == 1
    assert config.sync.timeline_limit == 50  # the rest of the section is kept
    assert config.bot.admins == ("@alice:localhost",)
    assert config.bot.command_prefix == "!"
    loud, quiet = config.plugins["loud"], config.plugins["quiet"]
    assert (loud.plugin, loud.enabled, loud.config) == ("echo", True, {"volume": 11})
    assert (quiet.plugin, quiet.enabled, quiet.config) == ("quiet", True, {})


def test_a_list_of_plugin_ids_enables_one_instance_of_each(tmp_path: Path) -> None:
    path = write_bot_config(tmp_path / "config.yaml", account=ACCOUNT, plugins=["echo", "twim"])

    config = load_config(path, environ={}, upgrade=False)
    assert {name: i.plugin for name, i in config.plugins.items()} == {
        "echo": "echo",
        "twim": "twim",
    }
