"""Hebbot's command names work as they did: an editor moving over keeps their habits."""

from __future__ import annotations

from pathlib import Path

from botkit.testing.bot import running_bot
from botkit.testing.fakehs import FakeHomeserver
from tests.twim.test_hebbot_bot import hebbot_world, included

pytest_plugins = ["botkit.testing.fakehs_fixtures"]


async def test_hebbots_command_names_do_what_the_twim_commands_do(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = hebbot_world(fakehs, tmp_path, "current")
    async with running_bot(w.config):
        report = included(w, "Syn")
        assert "1 entry" in await w.ask("!status", "This Week in Matrix")
        assert "Sections" in await w.ask("!list-sections", "Dept of Servers")
        assert "Projects" in await w.ask("!list-projects", "Synapse")
        assert "includes it" in await w.ask(f"!details {report}", "Message")
        # Given a name or a reaction, Hebbot's !details says what it is.
        project = await w.ask("!details Syn", "Project")
        section = await w.ask("!details 🏢", "Section")
        notice = await w.ask("!details ⭕", "notice emoji")
        unknown = await w.ask("!details Dendrite", "No message")
        assert ".md" in await w.ask("!render", ".md")
        await w.ask("!say The deadline is today", "The deadline is today")
        refused = await w.ask("!status", "not allowed", sender="alice")
        assert "Published" in await w.ask("!publish 2026-09-04", "ublished")

        included(w, "Syn", sender="bob")
        assert "1 entry" in await w.ask("!status", "This Week in Matrix")
        await w.ask("!clear", "!twim clear confirm")
        await w.ask("!clear confirm", "Cleared")
        assert "0 entries" in await w.ask("!status", "This Week in Matrix")
    assert "not allowed" in refused
    assert project.split("\n") == [
        "Project synapse: Synapse (react Syn).",
        "Synapse is a homeserver.",
        "Website: https://github.com/element-hq/synapse/",
        "Usual section: servers",
    ]
    assert section == (
        f"Section servers: Dept of Servers 🏢 (react 🏢; order 1060)."
        f" Usual reporters: {w.user('bob')}."
    )
    assert notice == "⭕️ is the notice emoji: it includes a report."
    assert "'Dendrite'" in unknown
