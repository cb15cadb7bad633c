"""Never lose or repeat an event: crashes, downtime, gaps, outages, rate limits.

Every test counts the bot's answers to tagged ``!pong <tag>`` commands; a final
``!pong end`` is answered after every earlier command of the room (a room's
events are handled in order), so once it arrives no late duplicate can follow.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mautrix.types import RoomID, UserID

from botkit.testing.bot import BotProcess, running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import MatrixAccount, Synapse, free_ports, unique
from botkit.testing.talk import answers_from, ask, eventually, wait_joined
from tests.core.burst import burst_through_kills, lost, repeated

PLUGINS = Path(__file__).parent / "plugins"


@dataclass
class Setup:
    """A bot account with a config, and a person in a room with it."""

    config: Path
    bot: MatrixAccount
    alice: TestClient
    room: RoomID

    def tally(self) -> Counter[str]:
        """How often each tag was answered."""
        return Counter(
            body.removeprefix("pong ")
            for body in answers_from(self.alice, self.room, self.bot.user_id)
            if body.startswith("pong ")
        )

    async def finish(self, timeout: float = 90) -> None:  # noqa: ASYNC109 - a deadline
        """Send the end marker and wait for its answer."""
        await ask(self.alice, self.room, self.bot.user_id, "!pong end", "pong end", timeout)


@asynccontextmanager
async def setup(synapse: Synapse, tmp_path: Path, **overrides: Any) -> AsyncIterator[Setup]:
    bot = synapse.register(unique("bot"))
    alice_account = synapse.register(unique("alice"))
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=bot,
        plugins=["pong"],
        plugin_dirs=[str(PLUGINS)],
        **overrides,
    )
    async with TestClient(alice_account) as alice:
        room = await alice.create_room(invite=[bot.user_id])
        yield Setup(config, bot, alice, room)


async def join_and_warm_up(s: Setup) -> None:
    await wait_joined(s.alice, s.room, s.bot.user_id)
    await ask(s.alice, s.room, s.bot.user_id, "!pong warm-up", "pong warm-up")


async def test_sigkill_twice_during_a_burst_neither_drops_nor_repeats(
    synapse: Synapse, tmp_path: Path
) -> None:
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    port = free_ports()[0]
    async with setup(synapse, tmp_path, web={"port": port}) as s:
        proc = BotProcess(s.config, port, tmp_path / "bot.log")
        await proc.start()
        try:
            await join_and_warm_up(s)
            kills = [rng.randrange(10, 80), rng.randrange(100, 170)]

            async def answered(threshold: int) -> None:
                # Kill once the bot has visibly answered this many: it is mid-burst.
                while len(s.tally()) < threshold:
                    await s.alice.wait_for(lambda e: True, 30)  # any next event
                    await asyncio.sleep(0)

            async def send(body: str) -> None:
                await s.alice.send_text(s.room, body)

            await burst_through_kills(proc, send, answered, 200, kills)
            await s.finish()
        finally:
            await proc.stop()
        tally = s.tally()
    assert lost(tally, 200) == set(), f"lost (seed {seed})"
    assert repeated(tally) == {}, f"repeated (seed {seed})"


@pytest.mark.parametrize("timeline_limit", [200, 10], ids=["catch-up", "gap-larger-than-limit"])
async def test_commands_sent_while_down_are_answered_once(
    synapse: Synapse, tmp_path: Path, timeline_limit: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="botkit.sync")
    async with setup(synapse, tmp_path, sync={"timeline_limit": timeline_limit}) as s:
        async with running_bot(s.config):
            await join_and_warm_up(s)
        for i in range(50):
            await s.alice.send_text(s.room, f"!pong {i}")
        async with running_bot(s.config) as bot:
            await s.finish()
            skipped = dict(bot.metrics.events_skipped.values)
        answers = [b for b in answers_from(s.alice, s.room, s.bot.user_id) if b != "pong warm-up"]
    assert answers == [f"pong {i}" for i in range(50)] + ["pong end"]
    assert "too old" not in skipped
    if timeline_limit < 50:  # fewer than the commands sent: the first sync must have a gap
        assert any("filled a gap" in r.getMessage() for r in caplog.records)


async def test_commands_older_than_the_catch_up_age_are_skipped_and_counted(
    synapse: Synapse, tmp_path: Path
) -> None:
    max_age = 2.0
    async with setup(synapse, tmp_path, sync={"max_catchup_age": max_age}) as s:
        async with running_bot(s.config):
            await join_and_warm_up(s)
        for i in range(50):
            await s.alice.send_text(s.room, f"!pong {i}")
        # The commands must be older than max_age when the bot starts: that is the case tested.
        await asyncio.sleep(max_age + 0.5)
        async with running_bot(s.config) as bot:
            await s.finish()
            skipped = bot.metrics.events_skipped.values["too old"]
        assert s.tally() == Counter({"warm-up": 1, "end": 1})
    assert skipped >= 50


async def test_a_homeserver_outage_loses_nothing(tmp_path: Path) -> None:
    synapse = Synapse(tmp_path / "hs")
    synapse.start()
    try:
        async with (
            setup(synapse, tmp_path, sync={"timeout": 2}) as s,
            running_bot(s.config) as bot,
        ):
            await join_and_warm_up(s)
            for i in range(10):
                await s.alice.send_text(s.room, f"!pong {i}")
            await asyncio.to_thread(synapse.stop)
            await eventually(lambda: not bot.health()["connected"], what="outage noticed")
            health = bot.health()
            assert health["outage_since"] is not None
            await asyncio.sleep(20)  # the outage being tested
            await asyncio.to_thread(synapse.start)
            await s.finish(timeout=120)
            assert bot.health()["connected"] is True
            assert bot.health()["outage_since"] is None
            tally = s.tally()
    finally:
        synapse.stop()
    assert all(tally[str(i)] == 1 for i in range(10)), tally
    assert max(tally.values()) == 1


async def _lift_rate_limit(synapse: Synapse, user: UserID) -> None:
    admin = synapse.register(unique("admin"), admin=True)
    url = f"{synapse.url}/_synapse/admin/v1/users/{user}/override_ratelimit"
    headers = {"Authorization": f"Bearer {admin.access_token}"}
    async with aiohttp.ClientSession() as http:
        body = {"messages_per_second": 0, "burst_count": 0}
        async with http.post(url, json=body, headers=headers) as resp:
            assert resp.status == 200, await resp.text()


@pytest.mark.timeout(1200)  # Synapse lets a user send 0.2 messages/s after a burst of 10
async def test_default_rate_limits_are_obeyed(tmp_path: Path) -> None:
    synapse = Synapse(tmp_path / "hs", default_ratelimits=True)
    synapse.start()
    try:
        async with setup(synapse, tmp_path) as s, running_bot(s.config) as bot:
            # Only the bot is limited: the person sends as fast as the server takes it.
            await _lift_rate_limit(synapse, s.alice.user_id)
            await wait_joined(s.alice, s.room, s.bot.user_id)
            started = time.monotonic()
            for i in range(100):
                await s.alice.send_text(s.room, f"!pong {i}")
            await s.finish(timeout=900)
            elapsed = time.monotonic() - started
            retries = bot.metrics.send_retries.total()
            tally = s.tally()
    finally:
        synapse.stop()
    assert all(tally[str(i)] == 1 for i in range(100)), tally
    assert max(tally.values()) == 1
    assert retries > 0, "the server's rate limit was never hit: the test proves nothing"
    print(f"100 answers under default rate limits in {elapsed:.0f} s, {retries:g} retries")


async def test_an_invite_received_while_down_is_honoured(synapse: Synapse, tmp_path: Path) -> None:
    async with setup(synapse, tmp_path) as s:
        async with running_bot(s.config):
            await join_and_warm_up(s)
        second = await s.alice.create_room(invite=[s.bot.user_id])
        async with running_bot(s.config):
            await wait_joined(s.alice, second, s.bot.user_id)
            answer = await ask(s.alice, second, s.bot.user_id, "!pong there", "pong there")
    assert answer.content.body == "pong there"
