"""A whole bot runs twim from a Hebbot config.toml, as TWIM's editors keep it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mautrix.types import EventID
from ruamel.yaml import YAML

from botkit.testing.bot import running_bot
from botkit.testing.fakehs import FakeHomeserver
from tests.twim.fakeroom import FakeRoom, fake_room
from tests.twim.twimconfig import twim_config_dir

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

REPORT = "Synapse 1.99 is out, with faster sync and fewer surprises."
#: The notice emoji as Hebbot's config.toml has it: ⭕ with a variation selector.
NOTICE = "⭕️"


def included(w: FakeRoom, key: str, *, sender: str = "alice", body: str = REPORT) -> EventID:
    """``sender``'s report, which the editor includes with :data:`NOTICE` and tags ``key``."""
    report = w.say(sender, body)
    w.include(report, key, notice=NOTICE)
    return report


def hebbot_world(hs: FakeHomeserver, tmp_path: Path, template: str, **twim: Any) -> FakeRoom:
    """A room whose rooms, editors, sections and projects come from Hebbot's file only."""
    toml = tmp_path / "config.toml"
    # The room is made by fake_room; its ID is known only afterwards, so write twice.
    w = fake_room(
        hs, tmp_path, rooms=[], editors=[], template=template, hebbot_config=str(toml), **twim
    )
    toml.write_text(
        f"""\
bot_user_id = '{w.bot}'
reporting_room_id = '{w.room}'
admin_room_id = '{w.room}'
notice_emoji = '⭕️'
restrict_notice = true
verbs = ["says"]
min_length = 10
ack_text = "Thanks {{{{user}}}}"
update_config_command = "true"
editors = ['{w.user("editor")}']

[[sections]]
emoji = '🏢'
name = 'servers'
title = 'Dept of Servers 🏢'
order = 1060
usual_reporters = ['{w.user("bob")}']

[[projects]]
emoji = 'Syn'
name = 'synapse'
title = 'Synapse'
description = 'Synapse is a homeserver.'
website = 'https://github.com/element-hq/synapse/'
default_section = 'servers'
usual_reporters = []
""",
        encoding="utf-8",
    )
    return w


async def test_a_bot_on_hebbots_config_publishes_the_current_format(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")
    async with running_bot(w.config):
        report = w.say("alice", REPORT)
        # The project is tagged with its Hebbot emoji; ⭕️ carries a variation selector.
        w.react("editor", report, "⭕️")
        w.react("editor", report, "Syn")
        await w.bot_sends(lambda sent: sent.type == "m.reaction")
        assert "Published" in await w.ask("!twim publish 2026-09-04", "ublished")

    text = (w.output / "2026-09-04-twim.md").read_text(encoding="utf-8")
    assert (
        "## Dept of Servers 🏢\n\n"
        "### Synapse ([website](https://github.com/element-hq/synapse/))\n\n"
        "Synapse is a homeserver.\n\n"
        f"[Alice](https://matrix.to/#/{w.user('alice')}) says\n\n"
        f"> {REPORT}\n"
    ) in text


async def test_a_bot_renders_twim_configs_own_template(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    template = twim_config_dir() / "template.md"
    w = hebbot_world(fakehs, tmp_path, str(template))
    async with running_bot(w.config):
        included(w, "Syn")
        await w.bot_sends(lambda sent: sent.type == "m.reaction")
        assert "Published" in await w.ask("!twim publish 2026-09-04", "ublished")

    text = (w.output / "2026-09-04-twim.md").read_text(encoding="utf-8")
    assert text.startswith('+++\ndate = "2026-09-04T00:00:00+00:00"\n')
    assert (
        "## Matrix Live\n\n"
        '{{youtube_player(video_id="")}}\n\n'
        "## Dept of Servers 🏢\n"
        "  \n"
        "### Synapse ([website](https://github.com/element-hq/synapse/))\n\n"
        "Synapse is a homeserver.\n\n"
        f"[Alice](https://matrix.to/#/{w.user('alice')}) says\n\n"
        f"> {REPORT}\n\n"
        "## Dept of Ping 🏓\n"
    ) in text


async def test_a_broken_template_is_named_at_preview_and_publish_and_loses_no_report(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    mine = tmp_path / "mine.md"
    mine.write_text("+++\n{{ editor }}\n{% for key, entry in sections | dictsort %}\n", "utf-8")
    w = hebbot_world(fakehs, tmp_path, str(mine))
    async with running_bot(w.config):
        included(w, "🏢")
        await w.bot_sends(lambda sent: sent.type == "m.reaction")

        preview = await w.ask("!twim preview", "cannot be rendered")
        assert f"{mine}:3: " in preview
        refused = await w.ask("!twim publish 2026-09-04", "not published")
        assert f"{mine}:3: " in refused
        assert not (w.output / "2026-09-04-twim.md").exists()

        # Fixed while the bot runs: the next publish has the week's report.
        mine.write_text(
            "{% for key, entry in sections | dictsort %}{{ entry.news[0].message }}{% endfor %}\n",
            "utf-8",
        )
        assert "Published" in await w.ask("!twim publish 2026-09-04", "ublished")

    assert (w.output / "2026-09-04-twim.md").read_text(encoding="utf-8") == f"{REPORT}\n"


async def test_hebbots_ack_text_names_the_reporter(fakehs: FakeHomeserver, tmp_path: Path) -> None:
    w = hebbot_world(fakehs, tmp_path, "current", ack="notice")
    async with running_bot(w.config):
        report = w.say("alice", REPORT)
        w.react("editor", report, "⭕️")

        notice = await w.bot_sends(lambda sent: "Thanks" in str(sent.content.get("body")))

    assert notice.content["body"] == "Thanks Alice"
    assert notice.content["m.relates_to"]["m.in_reply_to"]["event_id"] == report


async def test_editors_list_sections_and_projects_with_their_reactions(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")
    async with running_bot(w.config):
        sections = await w.ask("!twim sections", "Sections")
        projects = await w.ask("!twim projects", "Projects")
        refused = await w.ask("!twim sections", "", sender="alice")

    assert sections.split("\n")[1:] == ["🏢 servers: Dept of Servers 🏢 (1060)"]
    assert projects.split("\n")[1:] == ["Syn = synapse: Synapse (in servers)"]
    assert "Sections" not in refused


async def test_list_config_and_about_answer_as_hebbots_do(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current", ack="receipt")
    async with running_bot(w.config):
        listed = await w.ask("!list-config", "Settings in effect")
        about = await w.ask("!about", "botkit")
        refused = await w.ask("!list-config", "not allowed", sender="alice")

    lines = listed.split("\n")
    assert f'reporting_room_id = "{w.room}"' in lines
    assert 'ack_text = "Thanks {{user}}"' in lines
    assert "min_length = 10" in lines
    assert f'editors = ["{w.user("editor")}"]' in lines
    assert "# sections: 1 (!twim sections)" in lines
    assert 'ack = "receipt"' in lines
    assert str(tmp_path / "config.toml") in about
    assert "Settings" not in refused


async def test_the_matrix_live_title_comes_from_the_config(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current", live_title="S13E09 - Hydra updates")
    async with running_bot(w.config):
        included(w, "🏢")
        await w.bot_sends(lambda sent: sent.type == "m.reaction")
        await w.ask("!twim live https://youtu.be/q7Os7WzHoCg", "Matrix Live")
        assert "Published" in await w.ask("!twim publish 2026-09-18", "ublished")

    text = (w.output / "2026-09-18-twim.md").read_text(encoding="utf-8")
    assert (
        "+++\n\n## Matrix Live S13E09 - Hydra updates\n\n"
        '{{youtube_player(video_id="q7Os7WzHoCg")}}\n\n## Dept of Servers 🏢\n'
    ) in text


async def test_an_editor_says_something_in_the_twim_room(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")
    async with running_bot(w.config):
        since = len(fakehs.sent)
        w.say("editor", "!twim say Deadline is **today** at 17:00 UTC!")
        said = await w.bot_sends(
            lambda sent: "today" in str(sent.content.get("formatted_body")), since=since
        )
        refused = await w.ask("!twim say hi", "not allowed", sender="alice")

    assert said.room_id == w.room
    assert said.content["msgtype"] == "m.text"
    assert "<strong>today</strong>" in said.content["formatted_body"]
    assert "twim say" not in said.content["body"]
    assert "not allowed" in refused


async def test_the_bot_presets_hebbots_reactions_on_a_new_report(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")
    async with running_bot(w.config):
        since = len(fakehs.sent)
        report = w.say("bob", REPORT)
        keys = []
        for _ in range(2):
            sent = await w.bot_sends(lambda sent: sent.type == "m.reaction", since=since)
            since = fakehs.sent.index(sent) + 1
            assert sent.content["m.relates_to"]["event_id"] == report
            keys.append(sent.content["m.relates_to"]["key"])

    # The project by its Hebbot emoji, and the section Bob usually reports in.
    assert keys == ["Syn ?", "🏢"]


async def test_with_restrict_notice_a_reporters_own_circle_counts_and_no_one_elses(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")  # its config.toml has restrict_notice
    other = "Dendrite is in maintenance mode now; thanks to everyone who worked on it."
    async with running_bot(w.config):
        own = w.say("bob", REPORT)
        w.react("bob", own, "⭕️")
        w.react("editor", own, "🏢")
        await w.bot_sends(
            lambda sent: (
                sent.type == "m.reaction"
                and sent.content["m.relates_to"]
                == {"rel_type": "m.annotation", "event_id": own, "key": "⭕️"}
            )
        )
        # Alice's circle on Bob's report and Bob's section emoji do not count.
        theirs = w.say("bob", other)
        w.react("alice", theirs, "⭕️")
        w.react("bob", theirs, "🏢")
        w.react("editor", theirs, "Syn")
        status = await w.ask("!twim status", "This Week in Matrix")
        assert "Dept of Servers 🏢: 1" in status
        assert "Published" in await w.ask("!twim publish 2026-09-04", "ublished")

    text = (w.output / "2026-09-04-twim.md").read_text(encoding="utf-8")
    assert REPORT in text
    assert other not in text


async def test_a_refusal_goes_to_the_admin_room_with_a_link(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")
    admin = fakehs.create_room("editor", members=["bot"])
    toml = tmp_path / "config.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            f"admin_room_id = '{w.room}'", f"admin_room_id = '{admin}'"
        ),
        encoding="utf-8",
    )
    async with running_bot(w.config):
        empty = w.say("alice", " ")
        w.react("editor", empty, "⭕️")
        told = await w.bot_sends(lambda sent: "cannot use" in str(sent.content.get("body")))

    assert told.room_id == admin
    assert told.content["body"] == (
        f"{w.user('editor')}: I cannot use that message in the post: it is empty."
        f" https://matrix.to/#/{w.room}/{empty}"
    )


async def test_with_reports_from_mentions_only_addressed_messages_are_answered(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current", reports="mentions")
    async with running_bot(w.config):
        since = len(fakehs.sent)
        chat = w.say("alice", REPORT)
        addressed = w.say("alice", f"TWIM: {REPORT}")
        short = w.say("alice", "TWIM: soon")
        told = await w.bot_sends(
            lambda sent: sent.type == "m.room.message" and "too short" in sent.content["body"],
            since=since,
        )
        sent = fakehs.sent[since:]

    reacted = [s.content["m.relates_to"]["event_id"] for s in sent if s.type == "m.reaction"]
    assert chat not in reacted
    assert addressed in reacted
    assert told.content["body"] == (
        "Alice: your update is too short for the post (4 characters; at least 10, please)."
    )
    assert told.content["m.relates_to"]["m.in_reply_to"]["event_id"] == short


async def test_reload_rereads_hebbots_config_as_update_config_does(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")
    yaml = YAML()
    config = yaml.load(w.config.read_text(encoding="utf-8"))
    config.setdefault("bot", {})["admins"] = [w.user("editor")]
    with w.config.open("w", encoding="utf-8") as f:
        yaml.dump(config, f)
    toml = tmp_path / "config.toml"
    async with running_bot(w.config):
        before = await w.ask("!twim projects", "Projects")
        with toml.open("a", encoding="utf-8") as f:
            f.write(
                "\n[[projects]]\nemoji = 'Dendrite'\nname = 'dendrite'\ntitle = 'Dendrite'\n"
                "description = 'A homeserver.'\nwebsite = 'https://example.org'\n"
                "default_section = 'servers'\nusual_reporters = []\n"
            )
        await w.ask("!reload twim", "twim")
        after = await w.ask("!twim projects", "Projects")

    assert "dendrite" not in before
    assert "Dendrite = dendrite: Dendrite (in servers)" in after.split("\n")


async def test_details_say_who_sent_a_report_and_what_its_reactions_mean(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")
    async with running_bot(w.config):
        report = included(w, "Syn")
        w.react("bob", report, "🏢")
        link = f"https://matrix.to/#/{w.room}/{report}"
        details = await w.ask(f"!twim details {link}", "Message")
        unknown = await w.ask("!twim details $nothing", "not seen")

    assert details.split("\n") == [
        f"Message {report} by Alice ({w.user('alice')}), {len(REPORT)} characters: {REPORT}",
        f"⭕️ by {w.user('editor')}: includes it",
        f"Syn by {w.user('editor')}: tags it with the project synapse",
    ]
    assert "I have not seen that message in a TWIM room." in unknown


async def test_the_last_post_is_taken_back_and_published_again_with_a_late_report(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")
    late = "Conduit 0.10 is out, sent just after the editor pressed publish."
    async with running_bot(w.config):
        included(w, "🏢")
        assert "Published" in await w.ask("!twim publish 2026-09-04", "ublished")
        refused = await w.ask("!twim unpublish 2026-08-28", "last")
        assert "Only the last post can be taken back (the last one is of 2026-09-04)." in refused
        included(w, "🏢", sender="bob", body=late)
        answer = await w.ask("!twim unpublish 2026-09-04", "taken back")
        assert "its reports are in the draft again" in answer
        assert ": 2 entries" in await w.ask("!twim status", "This Week in Matrix")
        assert "Published" in await w.ask("!twim publish 2026-09-04", "ublished")

    text = (w.output / "2026-09-04-twim.md").read_text(encoding="utf-8")
    assert REPORT in text and late in text
