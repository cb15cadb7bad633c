"""The crypto store: in the bot's database, kept across restarts, never silently replaced."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from botkit.config import load_config
from botkit.errors import BotkitError, ConfigError
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.person import Person
from botkit.testing.synapse import Synapse, unique

PLUGINS = Path(__file__).parent.parent / "core" / "plugins"
ON = {"enabled": True}


async def test_keys_and_device_survive_a_restart_on_each_engine(
    synapse: Synapse, tmp_path: Path, database_url: str
) -> None:
    bot = synapse.register(unique("bot"))
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=bot,
        database_url=database_url,
        plugins=["pong"],
        plugin_dirs=[str(PLUGINS)],
        encryption={"enabled": True},
    )
    async with Person(synapse.register(unique("alice")), tmp_path / "nio") as alice:
        async with running_bot(config) as first:
            assert first.encryption is not None
            identity = first.encryption.backend.identity_key
            room = await alice.create_encrypted_room([bot.user_id])
            await alice.wait_joined(room, bot.user_id)
            await alice.send(room, "!pong one")
            await alice.answer(room, bot.user_id, "pong one")
        async with running_bot(config) as second:
            assert second.encryption is not None
            assert second.encryption.backend.identity_key == identity
            await alice.send(room, "!pong two")
            answer = await alice.answer(room, bot.user_id, "pong two")
    assert answer.decrypted


async def test_a_lost_crypto_store_stops_the_bot_with_what_to_do(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot = synapse.register(unique("bot"))
    first = write_bot_config(
        tmp_path / "a" / "config.yaml", account=bot, encryption={"enabled": True}
    )
    async with running_bot(first):
        pass  # the device's keys are on the homeserver now
    # The same device with an empty database: a lost or new database.
    second = write_bot_config(
        tmp_path / "b" / "config.yaml", account=bot, encryption={"enabled": True}
    )
    with pytest.raises(BotkitError, match=r"no crypto store.*restore the database"):
        async with running_bot(second):
            pass


async def test_a_crypto_store_of_another_device_stops_the_bot(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot = synapse.register(unique("bot"))
    config = write_bot_config(tmp_path / "config.yaml", account=bot, encryption=ON)
    async with running_bot(config):
        pass
    other = synapse.login(bot.user_id.split(":")[0][1:], bot.password)
    write_bot_config(config, account=other, encryption=ON)
    with pytest.raises(BotkitError, match=f"belongs to device {bot.device_id}"):
        async with running_bot(config):
            pass


def test_check_says_when_python_olm_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "olm" else real(name, *a)
    )
    path = tmp_path / "config.yaml"
    path.write_text(
        "homeserver:\n  url: https://example.org\n  user_id: '@bot:example.org'\n"
        "  access_token: x\nencryption:\n  enabled: true\n"
    )
    with pytest.raises(ConfigError) as e:
        load_config(path, environ={}, upgrade=False)
    assert any(p.key == "encryption.enabled" and "python-olm" in p.reason for p in e.value.problems)
