"""The bot in encrypted rooms, with matrix-nio (E2EE) as the person talking to it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.synapse import MatrixAccount, Synapse

from .person import Person

PLUGINS = Path(__file__).parent.parent / "core" / "plugins"


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:8]}"


@dataclass
class Setup:
    """A bot account with encryption on, and a person with an encrypted room it is invited to."""

    config: Path
    bot: MatrixAccount
    alice: Person
    room: str


@asynccontextmanager
async def encrypted_setup(
    synapse: Synapse, tmp_path: Path, plugins: Any = ("pong",), **overrides: Any
) -> AsyncIterator[Setup]:
    bot = synapse.register(unique("bot"))
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=bot,
        plugins=list(plugins),
        plugin_dirs=[str(PLUGINS)],
        encryption={"enabled": True, **overrides.pop("encryption", {})},
        **overrides,
    )
    async with Person(synapse.register(unique("alice")), tmp_path / "nio") as alice:
        yield Setup(config, bot, alice, "")


async def test_a_command_in_an_encrypted_room_is_answered_encrypted(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with encrypted_setup(synapse, tmp_path) as s, running_bot(s.config) as bot:
        room = await s.alice.create_encrypted_room([s.bot.user_id])
        await s.alice.wait_joined(room, s.bot.user_id)
        await s.alice.send(room, "!pong secret")
        answer = await s.alice.answer(room, s.bot.user_id, "pong secret")
        health = bot.health()
    assert answer.decrypted, "the answer was sent in the clear"
    assert health["encryption"]["undecryptable"] == 0
