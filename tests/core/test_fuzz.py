"""Hostile events neither stop the bot nor cost it a command.

A running bot (the ``pong`` plugin, and ``crashy``, which handles and fails on every
event) gets 1,000 malformed events (see :mod:`tests.core.hostile`) interleaved with
real ``!pong <n>`` commands, some in small sync batches and most behind gaps it fills
with ``/messages``. Every command must be answered exactly once, the bot must answer
a new one afterwards, and its health page must still say it is connected. The run
is random but seeded: a failure names its seed, and ``BOTKIT_FUZZ_SEED=<seed>``
replays it.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from botkit.testing.bot import running_bot
from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver, SentEvent
from tests.core.hostile import HostileEvents

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

PLUGINS = Path(__file__).parent / "plugins"
HOSTILE_EVENTS = 1000


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


def pong_tag(event: SentEvent) -> str | None:
    body = event.content.get("body")
    if event.type != "m.room.message" or not isinstance(body, str):
        return None
    return body.removeprefix("pong ") if body.startswith("pong ") else None


def answered(body: str) -> Any:
    return lambda event: event.content.get("body") == body


async def test_hostile_events_neither_stop_the_bot_nor_cost_it_a_command(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    seed = int(os.environ.get("BOTKIT_FUZZ_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    print(f"fuzz seed {seed}")
    account = fakehs_account(fakehs)
    bot_id = account.user_id
    room = fakehs.create_room("alice", members=["bot"])
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=account,
        plugins=["pong", "crashy"],
        plugin_dirs=[str(PLUGINS)],
    )
    alice = f"@alice:{fakehs.server_name}"
    hostile = HostileEvents(rng, room, alice, int(time.time() * 1000))
    try:
        async with running_bot(config) as bot:
            commands = 0
            for _ in range(HOSTILE_EVENTS):
                fakehs.inject_raw(room, hostile.make())
                if rng.random() < 0.05:
                    fakehs.inject(room, alice, text(f"!pong {commands}"))
                    commands += 1
                if rng.random() < 0.03:
                    # Now and then the bot catches up, so that batches come in all sizes.
                    await fakehs.wait_for_sync("bot", timeout=60)
            # A room's commands are handled in order: once this is answered, all are.
            fakehs.inject(room, alice, text("!pong end"))
            await fakehs.wait_for_sent(answered("pong end"), timeout=120)

            # The hostile events did reach the bot (all but those that are no objects).
            assert bot.metrics.events_received.total() > HOSTILE_EVENTS * 0.8
            tally = Counter(tag for e in fakehs.sent if e.sender == bot_id and (tag := pong_tag(e)))
            wrong = {str(n): tally[str(n)] for n in range(commands) if tally[str(n)] != 1}
            assert wrong == {}, f"commands not answered exactly once: {wrong}"

            since = len(fakehs.sent)
            fakehs.inject(room, alice, text("!pong after"))
            await fakehs.wait_for_sent(answered("pong after"), timeout=30, since=since)
            assert bot.web is not None
            url = f"http://{bot.web.host}:{bot.web.port}/_botkit/health"
            async with aiohttp.ClientSession() as session, session.get(url) as resp:
                health = await resp.json()
            assert health["connected"] is True
    except BaseException as e:
        e.add_note(f"fuzz seed {seed}: replay with BOTKIT_FUZZ_SEED={seed}")
        raise
