"""``make demo``: a homeserver, an account to log in with, a bot that answers, a clean stop."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from mautrix.types import RoomID, UserID

from botkit.testing.matrix import TestClient
from botkit.testing.synapse import login
from botkit.testing.synapse_venv import default_venv_dir
from botkit.testing.talk import wait_joined

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.synapse


class Output:
    """Everything the demo prints, and a way to wait for a line of it."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.text = ""
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            async with self._changed:
                self.text += line.decode(errors="replace")
                self._changed.notify_all()

    async def closed(self) -> None:
        """Wait until the demo has closed its output (it and its children exited)."""
        async with asyncio.timeout(30):
            await self._task

    async def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: re.search(pattern, self.text) is not None)
        found = re.search(pattern, self.text)
        assert found is not None
        return found


async def test_the_demo_runs_a_bot_to_talk_to_and_stops_everything_on_ctrl_c(
    tmp_path: Path,
) -> None:
    # The project's own plugins, as `make demo` runs them from a checkout.
    for name in ("echo", "twim"):
        shutil.copytree(ROOT / "plugins" / name, tmp_path / "plugins" / name)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOTKIT_SYNAPSE_VENV": str(default_venv_dir(ROOT)),
    }
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "botkit.demo",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert demo.stdout is not None
    output = Output(demo.stdout)
    try:
        await output.wait_for("try !help")
        url = (await output.wait_for(r"Homeserver +(\S+)"))[1]
        password = (await output.wait_for(r"Password +(\S+)"))[1]
        room = RoomID((await output.wait_for(r"Room .*\((!\S+)\)"))[1])
        assert "Plugins      echo, twim" in output.text
        assert (tmp_path / "demo" / "config.yaml").exists()

        person = await asyncio.to_thread(login, url, "demo", password)
        bot = UserID((await output.wait_for(r"Bot +(\S+)"))[1])
        async with TestClient(person) as client:
            # What is sent before the bot's join is history, never a command.
            await wait_joined(client, room, bot)
            await client.send_text(room, "!help")
            answer = await client.wait_for_message(room, contains="!pingstats")
            assert answer.sender.startswith("@bot:")
            assert "!twim publish" in str(answer.content.body)
            # The person is the demo room's TWIM editor.
            await client.send_text(room, "!twim status")
            status_answer = await client.wait_for_message(room, contains="this week")
            assert "not allowed" not in str(status_answer.content.body)

        demo.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            status = await demo.wait()
    finally:
        if demo.returncode is None:
            demo.kill()
            await demo.wait()
        await output.closed()

    assert status == 0, output.text
    assert "Stopping Synapse" in output.text
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(f"{url}/_matrix/client/versions"):
                pass
