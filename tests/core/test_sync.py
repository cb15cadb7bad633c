"""The sync loop against a homeserver (or a proxy) that answers /sync with garbage."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from botkit.testing.bot import running_bot
from botkit.testing.fakehs import FakeHomeserver
from botkit.testing.fakehs.sync import make_token
from botkit.testing.talk import eventually
from tests.core.pongbot import answer_to, pong_bot, text

pytest_plugins = ["botkit.testing.fakehs_fixtures"]


async def test_the_sync_loop_survives_any_malformed_answer(
    fakehs: FakeHomeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, room, alice = pong_bot(fakehs, tmp_path)
    caplog.set_level(logging.DEBUG, logger="botkit")
    async with running_bot(config) as bot:
        assert bot.syncer is not None
        fakehs.inject(room, alice, text("!pong before"))
        await fakehs.wait_for_sent(answer_to("before"))
        # A message wakes the sync waiting now; the answers after that one are bad.
        # Those with a usable next_batch repeat the position the bot has then.
        fakehs.inject(room, alice, text("hello"))
        token = make_token(fakehs.position)
        usable = [
            {"next_batch": token, "rooms": []},
            {"next_batch": token, "rooms": {"join": [], "invite": "x", "leave": 7}},
            {"next_batch": token, "rooms": {"join": {room: []}, "invite": {"!x:y": []}}},
            {"next_batch": token, "rooms": {"join": {room: {"timeline": []}}}},
            {"next_batch": token, "rooms": {"join": {room: {"timeline": {"events": {"a": 1}}}}}},
            {"next_batch": token, "rooms": {"join": {room: {"timeline": {"events": [1, None]}}}}},
        ]
        fakehs.garble_next_syncs(
            "[]",
            "[" * 100_000 + "]" * 100_000,  # deeper than Python's JSON parser goes
            '{"next_batch": 5, "rooms": {}}',
            *(json.dumps(answer) for answer in usable),
        )
        fakehs.garble_next_syncs("<html>502 Bad Gateway</html>", content_type="text/html")
        # While the answers are bad, health says so.
        await eventually(lambda: bot.health()["malformed_answer"] is not None, what="shown")
        await eventually(lambda: bot.health()["malformed_answers"] == 4, timeout=60, what="4")
        # Then the bot goes on as before: it answers, and it was never stopped.
        since = len(fakehs.sent)
        fakehs.inject(room, alice, text("!pong after"))
        await fakehs.wait_for_sent(answer_to("after"), since=since, timeout=30)
        health = bot.health()
        assert health["malformed_answer"] is None
        assert health["connected"] is True
        assert not bot.stopped.is_set()
    warnings = [r for r in caplog.records if "sent a malformed /sync answer" in r.getMessage()]
    # Three bad answers in a row, then good ones, then one more: logged once per episode.
    assert len(warnings) == 2, [r.getMessage() for r in warnings]
    assert all(len(r.getMessage()) < 400 for r in warnings)
    assert "Traceback" not in caplog.text


async def test_an_invite_that_cannot_be_joined_holds_up_no_other_room(
    fakehs: FakeHomeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, room, alice = pong_bot(fakehs, tmp_path)
    async with running_bot(config):
        fakehs.inject(room, alice, text("!pong before"))
        await fakehs.wait_for_sent(answer_to("before"))
        # An invite to a room the homeserver does not know (gone, or never real).
        fakehs.inject(room, alice, text("hello"))
        invite: dict[str, Any] = {"invite_state": {"events": []}}
        gone = f"!gone:{fakehs.server_name}"
        answer = {"next_batch": make_token(fakehs.position), "rooms": {"invite": {gone: invite}}}
        fakehs.garble_next_syncs(json.dumps(answer))
        await fakehs.wait_for_request("POST /_matrix/client/{version}/join/{room}")
        since = len(fakehs.sent)
        fakehs.inject(room, alice, text("!pong after"))
        # Well within the first wait before joining again (5 s).
        await fakehs.wait_for_sent(answer_to("after"), since=since, timeout=4)
    assert "Traceback" not in caplog.text
