"""A bot with the pong plugin on the fake homeserver, and the messages its tests send.

Shared by the tests of the sync loop and of the handled records.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mautrix.types import RoomID

from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver, SentEvent

__all__ = ["answer_to", "pong_bot", "text"]

PLUGINS = Path(__file__).parent / "plugins"


def pong_bot(fakehs: FakeHomeserver, tmp_path: Path, **overrides: Any) -> tuple[Path, RoomID, str]:
    """A config for a bot with the pong plugin, its room, and a user there."""
    room = fakehs.create_room("alice", members=["bot"])
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=fakehs_account(fakehs),
        plugins=["pong"],
        plugin_dirs=[str(PLUGINS)],
        **overrides,
    )
    return config, room, f"@alice:{fakehs.server_name}"


def text(body: str) -> dict[str, Any]:
    """The content of a text message."""
    return {"msgtype": "m.text", "body": body}


def answer_to(tag: str) -> Callable[[SentEvent], bool]:
    """Whether a sent event is the bot's answer to ``!pong <tag>``."""
    return lambda event: event.content.get("body") == f"pong {tag}"
