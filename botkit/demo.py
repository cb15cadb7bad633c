"""``python -m botkit.demo`` (``make demo``): botkit on a throwaway homeserver.

Starts Synapse on loopback with its data in ``./demo/`` (wiped first),
registers a bot and a person to log in as, puts both in a room, enables every
plugin in ``./plugins/`` and runs the bot in the foreground until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from mautrix.types import RoomCreatePreset, RoomID
from ruamel.yaml import YAML

from .testing.botconfig import write_bot_config
from .testing.matrix import TestClient
from .testing.synapse import MatrixAccount, Synapse
from .testing.synapse_venv import default_venv_dir

__all__ = ["main"]

PREFERRED_PORT = 8008
ROOM_NAME = "botkit demo"


def main() -> int:
    """Run the demo; return the bot's exit status."""
    root = Path.cwd()
    work_dir = root / "demo"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir()
    port = PREFERRED_PORT if _is_free("127.0.0.1", PREFERRED_PORT) else 0
    synapse = Synapse(work_dir / "synapse", port=port, venv=default_venv_dir(root))
    print(f"Starting Synapse in {synapse.work_dir} ...", flush=True)
    try:
        synapse.start()
        bot = synapse.register("bot")
        person = synapse.register("demo")
        room = asyncio.run(_make_room(person, bot))
        plugins = _find_plugins(root / "plugins")
        if "twim" in plugins:
            # The demo room is the news room and the person its editor, so that
            # reactions there build a post; its ping table is the same room's.
            plugins["twim"]["config"] = {
                "rooms": [room],
                "editors": [person.user_id],
                "ping_room": room,
                "output_dir": str(work_dir / "twim"),
            }
        config = write_bot_config(
            work_dir / "config.yaml",
            account=bot,
            plugins=plugins,
            plugin_dirs=[str(root / "plugins")],
            bot={"admins": [person.user_id]},
        )
        _greet(synapse, person, bot, room, sorted(plugins))
        return _run_bot(config)
    finally:
        print("Stopping Synapse ...", flush=True)
        synapse.stop()


async def _make_room(person: MatrixAccount, bot: MatrixAccount) -> RoomID:
    """The demo room, made by the person; the bot is invited with the same power."""
    async with TestClient(person) as client:
        return await client.create_room(
            invite=[bot.user_id], name=ROOM_NAME, preset=RoomCreatePreset.TRUSTED_PRIVATE
        )


def _find_plugins(plugins_dir: Path) -> dict[str, dict[str, Any]]:
    """An enabled instance, named after its directory, of every plugin in ``plugins_dir``."""
    instances: dict[str, dict[str, Any]] = {}
    for manifest in sorted(plugins_dir.glob("*/plugin.yaml")):
        name = manifest.parent.name
        data = YAML(typ="safe").load(manifest.read_text())
        # A broken manifest is left for the bot to report, with its file and key.
        plugin_id = data.get("id", name) if isinstance(data, dict) else name
        instances[name] = {"plugin": plugin_id}
    return instances


def _greet(
    synapse: Synapse,
    person: MatrixAccount,
    bot: MatrixAccount,
    room: RoomID,
    plugins: list[str],
) -> None:
    print(
        f"""
botkit demo
===========

  Homeserver   {synapse.url}
  Log in as    {person.user_id}
  Password     {person.password}
  Room         "{ROOM_NAME}" ({room})
  Bot          {bot.user_id}
  Plugins      {", ".join(plugins) or "none (no plugins/*/plugin.yaml found)"}

Log in with any Matrix client (Element: "Sign in", edit the homeserver to
{synapse.url}), open the room "{ROOM_NAME}" and try !help, !ping, !pingstats.
The room is also a TWIM news room with you as editor: post some news, react
with ⭕ and a section emoji (📱 for clients), then !twim status, !twim preview.

Ctrl-C stops the bot and the homeserver. Config, database and logs: demo/
""",
        flush=True,
    )


def _run_bot(config: Path) -> int:
    """Run ``botkit run`` in the foreground; forward Ctrl-C and SIGTERM to it once each."""
    bot = subprocess.Popen(
        [sys.executable, "-m", "botkit", "run", "-c", str(config)],
        stdin=subprocess.DEVNULL,
        # Its own session, so a Ctrl-C reaches it once, through us, not twice.
        start_new_session=True,
    )

    def forward(signum: int, frame: FrameType | None) -> None:
        bot.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = bot.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if bot.poll() is None:
            bot.terminate()
            try:
                bot.wait(30)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()
    return status if status >= 0 else 128 - status


def _is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())
