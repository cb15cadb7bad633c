"""A bot with the hello and answers plugins in a room with alice, on the real Synapse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from mautrix.types import Event, EventID, EventType, MessageEvent, RoomID, UserID

from botkit.bot import Bot
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import MatrixAccount, Synapse, unique
from botkit.testing.talk import wait_joined

HERE = Path(__file__).parent
PLUGIN_DIRS = [str(HERE / "plugins"), str(HERE / "conversation_plugins")]


@dataclass
class Talk:
    """A bot in a room with alice."""

    bot: Bot
    alice: TestClient
    room: RoomID
    config: Path

    @property
    def bot_id(self) -> UserID:
        """The bot's user ID."""
        return UserID(self.bot.config.homeserver.user_id)

    async def send(self, content: dict[str, Any], room: RoomID | None = None) -> EventID:
        """Send a message with exactly ``content`` as alice."""
        return await self.alice.client.send_message_event(
            # mautrix types the content as its own classes; a dict goes out as it is.
            room or self.room,
            EventType.ROOM_MESSAGE,
            cast(Any, content),
        )

    async def answer_to(self, event_id: EventID, timeout: float = 30) -> MessageEvent:  # noqa: ASYNC109
        """The bot's message whose relation names ``event_id`` (as thread fallback or reply)."""

        def answers(evt: Event) -> bool:
            if not (isinstance(evt, MessageEvent) and evt.sender == self.bot_id):
                return False
            relates = evt.content.serialize().get("m.relates_to") or {}
            return bool((relates.get("m.in_reply_to") or {}).get("event_id") == event_id)

        found = await self.alice.wait_for(answers, timeout)
        assert isinstance(found, MessageEvent)
        return found


def bot_config(tmp_path: Path, bot: MatrixAccount, admin: UserID, **overrides: Any) -> Path:
    """A config for ``bot`` with hello and answers loaded and ``admin`` as admin."""
    plugins = overrides.pop("plugins", {"hello": {}, "answers": {}})
    return write_bot_config(
        tmp_path / "config.yaml",
        account=bot,
        plugins=plugins,
        plugin_dirs=PLUGIN_DIRS,
        bot={"admins": [admin]},
        **overrides,
    )


@asynccontextmanager
async def talk(synapse: Synapse, tmp_path: Path, **overrides: Any) -> AsyncIterator[Talk]:
    """A running bot that joined a room alice made and invited it to."""
    bot_account = synapse.register(unique("bot"))
    alice_account = synapse.register(unique("alice"))
    config = bot_config(tmp_path, bot_account, alice_account.user_id, **overrides)
    async with TestClient(alice_account) as alice, running_bot(config) as bot:
        room = await alice.create_room(invite=[bot_account.user_id])
        await wait_joined(alice, room, bot_account.user_id)
        yield Talk(bot, alice, room, config)
