"""TWIM in an encrypted room: an encrypted report and an encrypted image, published."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.person import Person
from botkit.testing.synapse import Synapse
from tests.twim.world import PING_ROOM, PING_TABLE, PLUGIN_DIRS, png

DAY = "2024-05-03"
SHOT = png(8, 6, (30, 200, 30))


async def test_an_encrypted_report_and_image_are_collected_and_published(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot = synapse.register(f"twimbot{uuid.uuid4().hex[:8]}")
    output = tmp_path / "out"
    async with Person(synapse.register(f"editor{uuid.uuid4().hex[:8]}"), tmp_path / "nio") as ed:
        room = await ed.create_encrypted_room([bot.user_id])
        twim = {
            "rooms": [room],
            "editors": [ed.user_id],
            "output_dir": str(output),
            "ping_room": PING_ROOM,
            "ping_room_alias": "#ping:maunium.net",
            "template": "2021",
        }
        config = write_bot_config(
            tmp_path / "config.yaml",
            account=bot,
            plugins={
                "twim": {"config": twim},
                "fakeping": {"config": {"room": PING_ROOM, "table": PING_TABLE}},
            },
            plugin_dirs=PLUGIN_DIRS,
            encryption={"enabled": True},
        )
        async with running_bot(config):
            await ed.wait_joined(room, bot.user_id)
            report = await ed.send(room, "Synapse 1.99 is out, with faster room joins")
            shot = await ed.send_image(room, SHOT, "screen shot.png")
            await ed.react(room, report, "⭕")
            await ed.react(room, report, "synapse ?")
            await ed.react(room, shot, "⭕")
            await ed.send(room, f"!twim publish {DAY}")
            done = await ed.first(lambda m: m.sender == bot.user_id and "Published" in m.body)
    post = output / f"{DAY}-this-week-in-matrix-{DAY}.md"
    image = output / "img" / f"{DAY}-{shot[1:6]}-screenshot.png"
    assert done.decrypted
    assert "Synapse 1.99 is out, with faster room joins" in post.read_text(encoding="utf-8")
    assert await asyncio.to_thread(image.read_bytes) == SHOT
