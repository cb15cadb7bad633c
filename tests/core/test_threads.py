"""Threads, replies and mentions against the real Synapse, as a current client sends them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from botkit.testing.synapse import Synapse
from tests.core.conversation_world import Talk, talk


@pytest.fixture
async def world(synapse: Synapse, tmp_path: Path) -> AsyncIterator[Talk]:
    async with talk(synapse, tmp_path) as w:
        yield w


async def test_commands_in_a_thread_are_answered_in_it(world: Talk) -> None:
    root = await world.send({"msgtype": "m.text", "body": "Let's talk in a thread"})
    in_thread = {"rel_type": "m.thread", "event_id": root, "is_falling_back": True}
    for body in ("!hello", "!help"):
        asked = await world.send(
            {
                "msgtype": "m.text",
                "body": body,
                "m.relates_to": {**in_thread, "m.in_reply_to": {"event_id": root}},
            }
        )
        answer = await world.answer_to(asked)
        relates = answer.content.serialize()["m.relates_to"]
        assert relates == {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": asked},
        }
        # "Hello, @alice…!" names alice, so it mentions her; the help names nobody.
        names_alice = world.alice.user_id in str(answer.content.body)
        expected = {"user_ids": [world.alice.user_id]} if names_alice else {}
        assert answer.content.serialize()["m.mentions"] == expected


async def test_a_rich_reply_mentions_whom_it_answers(world: Talk) -> None:
    asked = await world.send({"msgtype": "m.text", "body": "!rich"})
    answer = await world.answer_to(asked)
    content = answer.content.serialize()
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": asked}}
    assert content["m.mentions"] == {"user_ids": [world.alice.user_id]}


async def test_a_command_addressed_by_a_pill_is_answered(world: Talk) -> None:
    pill = f'<a href="https://matrix.to/#/{world.bot_id}">Botkit</a>: hello Pat'
    await world.send(
        {
            "msgtype": "m.text",
            "body": "Botkit: hello Pat",
            "format": "org.matrix.custom.html",
            "formatted_body": pill,
            "m.mentions": {"user_ids": [world.bot_id]},
        }
    )
    answer = await world.alice.wait_for_message(world.room, sender=world.bot_id, contains="Pat")
    assert answer.content.body == "Hello, Pat! (greeting number 1)"
