"""The bot in encrypted rooms, with matrix-nio (E2EE) as the person talking to it."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from botkit.storage import create_engine
from botkit.testing.bot import BotProcess, running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.person import Person
from botkit.testing.synapse import MatrixAccount, Synapse, free_ports, unique
from botkit.testing.talk import eventually
from tests.core.burst import burst_through_kills, lost, repeated

PLUGINS = Path(__file__).parent.parent / "core" / "plugins"
OWN_PLUGINS = Path(__file__).parent / "plugins"


@dataclass
class Setup:
    """A bot account with encryption on, and a person with an encrypted room it is invited to."""

    config: Path
    bot: MatrixAccount
    alice: Person
    room: str

    async def encrypted_room(self) -> str:
        """A new encrypted room of alice's, once the bot has joined it."""
        room = await self.alice.create_encrypted_room([self.bot.user_id])
        await self.alice.wait_joined(room, self.bot.user_id)
        return room


@asynccontextmanager
async def encrypted_setup(
    synapse: Synapse, tmp_path: Path, plugins: Any = ("pong",), **overrides: Any
) -> AsyncIterator[Setup]:
    bot = synapse.register(unique("bot"))
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=bot,
        plugins=list(plugins),
        plugin_dirs=[str(PLUGINS), str(OWN_PLUGINS)],
        encryption={"enabled": True, **overrides.pop("encryption", {})},
        **overrides,
    )
    async with Person(synapse.register(unique("alice")), tmp_path / "nio") as alice:
        yield Setup(config, bot, alice, "")


async def test_a_command_in_an_encrypted_room_is_answered_encrypted(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with encrypted_setup(synapse, tmp_path) as s, running_bot(s.config) as bot:
        room = await s.encrypted_room()
        await s.alice.send(room, "!pong secret")
        answer = await s.alice.answer(room, s.bot.user_id, "pong secret")
        health = bot.health()
    assert answer.decrypted, "the answer was sent in the clear"
    assert health["encryption"]["undecryptable"] == 0


async def test_a_file_a_plugin_uploads_to_an_encrypted_room_is_encrypted(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with (
        encrypted_setup(synapse, tmp_path, plugins=("attach",)) as s,
        running_bot(s.config),
    ):
        room = await s.encrypted_room()
        await s.alice.send(room, "!attach top secret")
        sent = await s.alice.first(lambda m: m.sender == s.bot.user_id and m.body == "note.txt")
        data = await s.alice.download(sent)
    assert sent.file is not None, "the file was sent unencrypted"
    assert data == b"top secret"


async def test_echo_records_pongs_from_an_encrypted_room(synapse: Synapse, tmp_path: Path) -> None:
    async with (
        encrypted_setup(synapse, tmp_path, plugins=("echo",)) as s,
        running_bot(s.config),
    ):
        room = await s.encrypted_room()
        await s.alice.send(room, "!ping")
        pong = await s.alice.first(lambda m: m.sender == s.bot.user_id and "Pong!" in m.body)
        await s.alice.send(room, "!pingstats")
        stats = await s.alice.first(lambda m: m.sender == s.bot.user_id and "latency" in m.body)
    assert pong.decrypted and stats.decrypted
    assert "localhost" in stats.body.split("\n", 1)[1], stats.body


async def test_cross_signed_only_keeps_keys_from_unverified_devices(
    synapse: Synapse, tmp_path: Path
) -> None:
    policy = {"share_keys_with": "cross-signed"}
    async with (
        encrypted_setup(synapse, tmp_path, encryption=policy) as s,
        running_bot(s.config),
    ):
        room = await s.encrypted_room()
        await s.alice.send(room, "!pong unverified")
        # nio's device is not cross-signed: the answer comes, but without its key.
        answer = await s.alice.first(lambda m: m.room_id == room and m.sender == s.bot.user_id)
    assert answer.undecryptable


async def test_a_plugin_can_tell_an_encrypted_event_and_its_device_trust(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with (
        encrypted_setup(synapse, tmp_path, plugins=("how",)) as s,
        running_bot(s.config),
    ):
        secret = await s.alice.create_encrypted_room([s.bot.user_id])
        plain = await s.alice.create_room([s.bot.user_id])
        for room in (secret, plain):
            await s.alice.wait_joined(room, s.bot.user_id)
            await s.alice.send(room, "!how")
        encrypted = await s.alice.first(lambda m: m.room_id == secret and m.sender == s.bot.user_id)
        clear = await s.alice.first(lambda m: m.room_id == plain and m.sender == s.bot.user_id)
    # nio's device is known to the bot but not cross-signed by its owner.
    assert encrypted.body == "encrypted unverified (not verified)"
    assert clear.body == "clear"


async def test_help_is_answered_in_an_encrypted_room(synapse: Synapse, tmp_path: Path) -> None:
    async with encrypted_setup(synapse, tmp_path) as s, running_bot(s.config):
        room = await s.encrypted_room()
        await s.alice.send(room, "!help")
        answer = await s.alice.first(
            lambda m: m.room_id == room and m.sender == s.bot.user_id and "!pong" in m.body
        )
    assert answer.decrypted


async def test_a_restart_between_two_messages_of_one_megolm_session_loses_nothing(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with encrypted_setup(synapse, tmp_path) as s:
        async with running_bot(s.config):
            room = await s.encrypted_room()
            await s.alice.send(room, "!pong before")
            await s.alice.answer(room, s.bot.user_id, "pong before")
        session = s.alice.client.olm.outbound_group_sessions[room].id
        async with running_bot(s.config) as bot:
            await s.alice.send(room, "!pong after")
            await s.alice.answer(room, s.bot.user_id, "pong after")
            undecryptable = bot.health()["encryption"]["undecryptable"]
        assert s.alice.client.olm.outbound_group_sessions[room].id == session
    assert undecryptable == 0


async def test_a_late_key_is_awaited_and_its_event_handled_once(
    synapse: Synapse, tmp_path: Path
) -> None:
    # No key request: the key comes only when the person sends it.
    waits = {"key_wait": 600.0, "key_request_wait": 600.0}
    async with encrypted_setup(synapse, tmp_path, encryption=waits) as s:
        async with running_bot(s.config) as bot:
            assert bot.encryption is not None
            room = await s.encrypted_room()
            _, key = await s.alice.send_withholding_key(room, "!pong late", s.bot.user_id)
            await s.alice.send(room, "!pong meanwhile")
            # The room goes on while the late one waits for its key.
            await s.alice.answer(room, s.bot.user_id, "pong meanwhile")
            assert bot.encryption.health()["waiting_for_keys"] == 1
        # A restart in between: the held event is still held.
        async with running_bot(s.config) as bot:
            assert bot.encryption is not None
            assert bot.encryption.health()["waiting_for_keys"] == 1
            await s.alice.send_key(s.bot.user_id, key)
            await s.alice.answer(room, s.bot.user_id, "pong late")
            await s.alice.send(room, "!pong end")
            await s.alice.answer(room, s.bot.user_id, "pong end")
            health = bot.encryption.health()
    answers = s.alice.bodies_from(room, s.bot.user_id)
    assert answers.count("pong late") == 1
    assert health["waiting_for_keys"] == 0
    assert health["undecryptable"] == 0


async def test_a_released_event_is_released_again_if_its_handling_was_not_recorded(
    synapse: Synapse, tmp_path: Path
) -> None:
    waits = {"key_wait": 600.0, "key_request_wait": 600.0}
    async with encrypted_setup(synapse, tmp_path, encryption=waits) as s:
        async with running_bot(s.config):
            room = await s.encrypted_room()
            late, key = await s.alice.send_withholding_key(room, "!pong late", s.bot.user_id)
            await s.alice.send(room, "!pong meanwhile")
            await s.alice.answer(room, s.bot.user_id, "pong meanwhile")
            await s.alice.send_key(s.bot.user_id, key)
            await s.alice.answer(room, s.bot.user_id, "pong late")
        # As if the bot had died after releasing the event, before recording its handling.
        assert await handled_records(tmp_path, late, delete=True) == 1
        async with running_bot(s.config):
            # The room's events are handled in order: the released one comes first.
            await s.alice.send(room, "!pong end")
            await s.alice.answer(room, s.bot.user_id, "pong end")
    assert await handled_records(tmp_path, late) == 1, "not handled again"
    # Its answer was deduplicated by its transaction ID: the person saw one.
    assert s.alice.bodies_from(room, s.bot.user_id).count("pong late") == 1


async def handled_records(tmp_path: Path, event_id: str, *, delete: bool = False) -> int:
    """How many instances recorded ``event_id`` as handled (and forget them if ``delete``)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'botkit.db'}")
    try:
        async with engine.begin() as conn:
            query = "DELETE FROM" if delete else "SELECT * FROM"
            found = await conn.execute(
                text(f"{query} botkit_handled WHERE event_id = :e"), {"e": event_id}
            )
            return found.rowcount if delete else len(found.all())
    finally:
        await engine.dispose()


async def test_a_key_that_never_comes_is_counted_and_blocks_nothing(
    synapse: Synapse, tmp_path: Path
) -> None:
    waits = {"key_wait": 0.5, "key_request_wait": 1.0}
    async with (
        encrypted_setup(synapse, tmp_path, plugins=("pong", "lost"), encryption=waits) as s,
        running_bot(s.config) as bot,
    ):
        assert bot.encryption is not None
        encryption = bot.encryption
        room = await s.encrypted_room()
        never, _ = await s.alice.send_withholding_key(room, "!pong never", s.bot.user_id)
        await s.alice.send(room, "!pong next")
        await s.alice.answer(room, s.bot.user_id, "pong next")
        await eventually(lambda: encryption.undecryptable == 1, what="given up")
        await s.alice.answer(room, s.bot.user_id, f"lost {never}")  # the plugin hook
        health = bot.health()
        skipped = dict(bot.metrics.events_skipped.values)
    assert health["encryption"]["waiting_for_keys"] == 0
    assert health["encryption"]["undecryptable"] == 1
    assert skipped.get("undecryptable") == 1
    answers = s.alice.bodies_from(room, s.bot.user_id)
    assert "pong never" not in answers
    assert answers.count(f"lost {never}") == 1


async def test_sigkill_during_an_encrypted_burst_neither_drops_nor_repeats(
    synapse: Synapse, tmp_path: Path
) -> None:
    seed = random.randrange(1_000_000)
    kill_at = random.Random(seed).randrange(10, 80)
    port = free_ports()[0]
    async with encrypted_setup(synapse, tmp_path, web={"port": port}) as s:
        proc = BotProcess(s.config, port, tmp_path / "bot.log")
        await proc.start()
        try:
            room = await s.encrypted_room()

            def count() -> int:
                return sum(1 for b in s.alice.bodies_from(room, s.bot.user_id) if b != "pong end")

            async def answered(threshold: int) -> None:
                await s.alice.until(lambda: count() >= threshold, 120)

            async def send(body: str) -> None:
                await s.alice.send(room, body)

            await burst_through_kills(proc, send, answered, 100, [kill_at])
            await s.alice.send(room, "!pong end")
            await s.alice.answer(room, s.bot.user_id, "pong end", 120)
        finally:
            await proc.stop()
    tally = Counter(b.removeprefix("pong ") for b in s.alice.bodies_from(room, s.bot.user_id))
    assert lost(tally, 100) == set(), f"lost (seed {seed})"
    assert repeated(tally) == {}, f"repeated (seed {seed})"
    undecrypted = [m for m in s.alice.messages if m.undecryptable]
    assert undecrypted == [], f"the person could not decrypt {len(undecrypted)} answers"
