"""Figure: how long a late join with a week of history takes to be caught up.

A user fills a room with ``N`` messages; then a running bot (with a collector
plugin that has a week's ``catchup_age``, as twim) is invited. The time is from
the invite until the collector has stored all ``N``, and the count of
``/messages`` pages it took. Against a throwaway real Synapse.

    python -m bench.history_join [-n 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from mautrix.types import RoomCreatePreset

from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import Synapse
from botkit.testing.synapse_venv import default_venv_dir

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "core" / "conversation_plugins"


class _Pages(logging.Handler):
    """Counts the events botkit.history read, as it logs them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def measure(n: int) -> dict[str, Any]:
    """Seconds from the invite until ``n`` messages of history are collected."""
    with tempfile.TemporaryDirectory(prefix="botkit-hist-") as tmp:
        work = Path(tmp)
        synapse = Synapse(work / "synapse", venv=default_venv_dir(ROOT))
        await synapse.async_start()
        try:
            bot_account, alice_account = synapse.register("bot"), synapse.register("alice")
            config = write_bot_config(
                work / "bot" / "config.yaml",
                account=bot_account,
                plugins={"collector": {}},
                plugin_dirs=[str(PLUGINS)],
            )
            pages = _Pages()
            logging.getLogger("botkit.history").addHandler(pages)
            logging.getLogger("botkit.history").setLevel(logging.INFO)
            async with TestClient(alice_account) as alice:
                room = await alice.create_room(preset=RoomCreatePreset.PUBLIC)
                for i in range(n):
                    await alice.send_text(room, f"report {i}")
                async with running_bot(config) as bot:
                    plugin: Any = bot.instances["collector"].plugin
                    started = time.monotonic()
                    await alice.invite(room, bot_account.user_id)
                    while len(await plugin.seen()) < n:  # noqa: ASYNC110 - a database to poll
                        await asyncio.sleep(0.05)
                    seconds = time.monotonic() - started
            return {"events": n, "seconds": round(seconds, 2), "logged": pages.lines}
        finally:
            await synapse.async_stop()


def main() -> None:
    """Print the figure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1000)
    args = parser.parse_args()
    print(asyncio.run(measure(args.n)))


if __name__ == "__main__":
    main()
