"""Silent catch-up: what came while the bot was away is kept, and answered to editors only."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from botkit.testing.bot import running_bot
from botkit.testing.fakehs import FakeHomeserver, SentEvent
from tests.twim.fakeroom import fake_room, now_ms

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

DAY_MS = 86_400_000


async def test_week_old_messages_are_answered_in_the_editors_room_in_one_summary(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = fake_room(fakehs, tmp_path)
    admin = fakehs.create_room("editor", members=["bot"])
    yaml = YAML()
    config = yaml.load(w.config)
    config["plugins"]["twim"]["config"]["editor_room"] = admin
    yaml.dump(config, w.config)
    # Sent while the bot was down: a report naming a project, one an editor included.
    old = now_ms() - 3 * DAY_MS
    named = w.say("alice", "Synapse 1.99 is out, with faster sync.", ts=old)
    included = w.say("bob", "Our bridge now bridges everything.", ts=old + 1)
    w.hs.inject(
        w.room,
        "editor",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": included, "key": "⭕"}},
        type="m.reaction",
        origin_server_ts=old + 2,
    )

    async with running_bot(w.config):
        summary = await w.bot_sends(lambda sent: sent.room_id == admin)
        # The bot is live: a new report gets its suggestion in public.
        fresh = w.say("alice", "Synapse 2.0 is out too.")
        await w.bot_sends(lambda sent: _relates_to(sent) == fresh)
        # The report it did not acknowledge in public is in the post all the same.
        status = await w.ask("!twim status", "This Week in Matrix")

    body = str(summary.content["body"])
    assert body.startswith("While I was away, 2 messages came")
    assert named in body and "suggest" in body
    assert included in body and "included it" in body
    in_public = [sent for sent in fakehs.sent if sent.sender == w.bot and sent.room_id == w.room]
    assert not [sent for sent in in_public if _relates_to(sent) in (named, included)]
    assert len([sent for sent in fakehs.sent if sent.room_id == admin]) == 1
    assert "1 entry" in status


def _relates_to(sent: SentEvent) -> str | None:
    relates = sent.content.get("m.relates_to") or {}
    return relates.get("event_id") or (relates.get("m.in_reply_to") or {}).get("event_id")
