"""Builders for the TWIM room as the plugin stores it: messages, reactions, settings.

A :class:`Room` hands out event ids, timestamps and numbers of arrival in order (the
number is the timestamp, unless a test changes it), so a test reads like the
room's timeline: ``room.say(alice, "...")``, ``room.react(editor, msg, "⭕")``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mautrix.types import ContentURI, EventID, RoomID, UserID
from ruamel.yaml import YAML

from botkit.config import structure_config
from botkit.errors import ConfigError, Problem
from plugins.twim.checks import template_problems
from plugins.twim.rows import MessageRow, ReactionRow
from plugins.twim.settings import Settings
from plugins.twim.store import WeekRows

CONFIG = Path(__file__).parents[2] / "plugins" / "twim" / "config.yaml"
ROOM = RoomID("!twim:example.org")
BOT = UserID("@twimbot:example.org")
EDITOR = UserID("@editor:example.org")
ALICE = UserID("@alice:example.org")
BOB = UserID("@bob:example.org")
NAMES = {EDITOR: "Editor", ALICE: "Alice", BOB: "Bob", BOT: "TWIM bot"}
HTML = "org.matrix.custom.html"


def settings(**changes: Any) -> Settings:
    """The shipped config with ``ROOM`` as the TWIM room and ``EDITOR`` as the editor."""
    config: dict[str, Any] = YAML(typ="safe").load(CONFIG.read_text(encoding="utf-8"))
    config.update(rooms=[ROOM], editors=[EDITOR])
    config.update(changes)
    return read_settings(config)


def read_settings(config: Mapping[str, Any]) -> Settings:
    """A whole instance config as the plugin gets it; :class:`ConfigError` if it is bad."""
    return structure_config(Settings, config, file="bot.yaml", key_prefix="")


def config_problems(config: Mapping[str, Any], *, templates: bool = True) -> list[Problem]:
    """What ``botkit check`` reports about a whole instance config (``templates``: with
    the template's problems), keys relative to the instance's config."""
    try:
        read = read_settings(config)
    except ConfigError as e:
        return e.problems
    return template_problems(read) if templates else []


@dataclass
class Room:
    """A timeline being written: messages, edits, reactions and redactions."""

    messages: list[MessageRow] = field(default_factory=list)
    reactions: list[ReactionRow] = field(default_factory=list)
    redacted: set[str] = field(default_factory=set)
    _clock: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_000, 1000))

    def _next(self) -> tuple[EventID, int]:
        ts = next(self._clock)
        return EventID(f"$ev{ts}"), ts

    def _message(self, sender: UserID, sender_name: str, **row: Any) -> EventID:
        """A message row from ``sender`` in ``ROOM``, next in the timeline."""
        event_id, ts = self._next()
        self.messages.append(
            MessageRow(
                event_id=event_id,
                room_id=ROOM,
                sender=sender,
                sender_name=sender_name,
                ts=ts,
                seq=ts,
                **row,
            )
        )
        return event_id

    def say(
        self,
        sender: UserID,
        body: str,
        *,
        html: str | None = None,
        reply_to: EventID | None = None,
        msgtype: str = "m.text",
        mentions: tuple[UserID, ...] = (),
    ) -> EventID:
        """A text message (``mentions``: its ``m.mentions``); returns its event id."""
        return self._message(
            sender,
            NAMES.get(sender, sender),
            msgtype=msgtype,
            body=body,
            formatted_body=html,
            format=HTML if html else None,
            reply_to=reply_to,
            mentions=mentions,
        )

    def image(
        self,
        sender: UserID,
        filename: str,
        *,
        msgtype: str = "m.image",
        reply_to: EventID | None = None,
    ) -> EventID:
        """An image (or, with ``msgtype``, a video or file) upload."""
        event_id = self._message(
            sender,
            NAMES.get(sender, sender),
            msgtype=msgtype,
            body=filename,
            filename=filename,
            reply_to=reply_to,
        )
        # The upload's URI is named after the event, whose id is known only now.
        url = ContentURI(f"mxc://example.org/{event_id[1:]}")
        self.messages[-1] = replace(self.messages[-1], media_url=url)
        return event_id

    def edit(
        self, sender: UserID, original: EventID, body: str, mentions: tuple[UserID, ...] = ()
    ) -> EventID:
        """An ``m.replace`` edit of ``original`` with the new text ``body`` (and the
        new content's ``m.mentions``)."""
        return self._message(
            sender, "", msgtype="m.text", body=body, replaces=original, mentions=mentions
        )

    def react(self, sender: UserID, target: EventID, key: str) -> EventID:
        """A reaction with ``key`` to ``target``."""
        event_id, ts = self._next()
        self.reactions.append(
            ReactionRow(
                event_id=event_id,
                room_id=ROOM,
                target=target,
                sender=sender,
                key=key,
                ts=ts,
                seq=ts,
            )
        )
        return event_id

    def include(self, target: EventID, *keys: str) -> None:
        """The editor includes ``target`` and reacts with each of ``keys``."""
        self.react(EDITOR, target, "⭕")
        for key in keys:
            self.react(EDITOR, target, key)

    def redact(self, event_id: EventID) -> None:
        """Redact a message, an edit or a reaction."""
        self.redacted.add(event_id)

    def rows(self) -> WeekRows:
        """The rows as the store would return them."""
        return WeekRows(list(self.messages), list(self.reactions), frozenset(self.redacted))
