"""The README's example plugin (``karma/``), tested as its author would: with the test kit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from botkit import PluginLoadError
from botkit.cli import main as botkit_main
from botkit.storage import migrate
from botkit.testing.databases import drop_namespace, schema_drift, scratch_storage
from botkit.testing.harness import HarnessFactory
from tests.example.karma.plugin import KARMA_SCORES, KarmaTables

KARMA = Path(__file__).parent / "karma"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def test_every_vote_in_a_message_counts(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(KARMA)

    await h.message("bob++ carol-- and bob++ again, dave++")
    await h.command("!karma show bob")
    await h.command("!karma show @Carol:example.org")
    await h.command("!karma top 2")

    assert h.replies() == ["bob has 2 karma.", "carol has -1 karma.", "1. bob: 2\n2. dave: 1"]
    assert h.errors == []


async def test_a_command_message_casts_no_vote(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(KARMA)

    answer = await h.command("!karma bob++")  # no such subcommand: the group's list
    await h.command("!karma show bob")

    assert "karma top [count]" in answer[0].content["body"]
    assert "karma show <name>" in answer[0].content["body"]
    assert h.replies()[1:] == ["bob has 0 karma."]


async def test_top_lists_as_many_as_the_config_says(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(KARMA, config={"top": 2})

    await h.command("!karma top")
    await h.message("ann++ ann++ bob++ cid++ cid++ cid++")
    await h.command("!karma top")

    assert h.replies() == ["Nobody has karma yet.", "1. cid: 3\n2. ann: 2"]


async def test_a_word_that_is_no_name_gets_the_usage(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(KARMA)

    await h.command('!karma show "two words"')
    await h.command("!karma top many")

    assert h.replies() == [
        "<name> must be a name like bob or @bob:example.org, not 'two words'."
        " Usage: !karma show <name>",
        "<count> must be a whole number, not 'many'. Usage: !karma top [count]",
    ]


async def test_own_votes_do_not_count_and_may_be_scolded(plugin_harness: HarnessFactory) -> None:
    quiet = await plugin_harness(KARMA, instance="quiet")
    scolding = await plugin_harness(KARMA, instance="scolding", config={"self_votes": "scold"})

    for h in (quiet, scolding):
        await h.message("alice++ bob++", sender="@alice:example.org")
        await h.command("!karma show alice")

    assert quiet.replies() == ["alice has 0 karma."]
    assert scolding.replies() == [
        "Nice try: your own karma is not yours to vote on.",
        "alice has 0 karma.",
    ]
    assert await scolding.service(KARMA_SCORES).score_of("bob") == 1


async def test_help_lists_the_subcommands(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(KARMA)

    await h.command("!help")

    assert "karma top [count]" in h.replies()[0]
    assert "Someone's karma" in h.replies()[0]


async def test_the_route_serves_a_users_karma(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(KARMA)
    await h.message("bob++")

    bob = await h.http.get("user/bob")
    nobody = await h.http.get("user/nobody")
    bad = await h.http.get("user/two%20words")

    assert (bob.status, await bob.json()) == (200, {"name": "bob", "karma": 1})
    assert await nobody.json() == {"name": "nobody", "karma": 0}
    assert bad.status == 400


async def test_idle_karma_fades_every_hour(plugin_harness: HarnessFactory) -> None:
    config = {"decay_after_hours": 24, "decay_percent": 10}
    h = await plugin_harness(KARMA, config=config, start_time=START)
    await h.message("bob++ " * 10)
    await h.advance(timedelta(hours=20))
    await h.message("carol++")  # four hours later than bob's

    await h.advance(timedelta(hours=4))  # bob's 24 hours are up, not over
    assert await h.service(KARMA_SCORES).score_of("bob") == 10
    await h.advance(timedelta(hours=2))  # two hourly runs past them

    assert await h.service(KARMA_SCORES).score_of("bob") == 8  # 10 -> 9 -> 8
    assert await h.service(KARMA_SCORES).score_of("carol") == 1
    assert h.errors == []


async def test_without_decay_karma_stays(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(KARMA, start_time=START)
    await h.message("bob++")

    await h.advance(timedelta(days=30))

    assert await h.service(KARMA_SCORES).score_of("bob") == 1


def check(tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The lines ``botkit check`` prints about a bot config whose karma instance has ``config``."""
    bot = tmp_path / "bot.yaml"
    bot.write_text(
        "homeserver:\n"
        "  url: http://127.0.0.1:9\n"
        '  user_id: "@bot:example.org"\n'
        "  access_token: not-used-by-check\n"
        f"plugin_dirs: [{KARMA.parent}]\n"
        "plugins:\n"
        "  karma:\n"
        "    plugin: karma\n"
        "    config:\n" + "".join(f"      {line}\n" for line in config.splitlines())
    )
    bot.chmod(0o600)
    status = botkit_main(["check", "-c", str(bot)])
    out, err = capsys.readouterr()
    return [f"exit {status}", *out.splitlines(), *err.splitlines()]


def test_check_names_each_bad_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bot = tmp_path / "bot.yaml"
    key = f"{bot}: plugins.karma.config"

    assert check(tmp_path, "top: 500\nself_votes: loud", capsys) == [
        "exit 2",
        f"{key}.self_votes: expected one of 'ignore', 'scold', got 'loud'",
        f"{key}.top: must be from 1 to 100, not 500",
    ]
    assert check(tmp_path, "decay_after_hours: 24", capsys) == [
        "exit 2",
        f"{key}.decay_percent: must be more than 0 when decay_after_hours is set",
    ]
    good = check(tmp_path, "decay_after_hours: 24\ndecay_percent: 5", capsys)
    assert good == ["exit 0", f"{bot}: OK; plugin instances: karma (karma 1.0.0)"]


async def test_an_instance_with_a_bad_config_does_not_start(
    plugin_harness: HarnessFactory,
) -> None:
    with pytest.raises(PluginLoadError, match=r"config\.top: must be from 1 to 100, not 500"):
        await plugin_harness(KARMA, config={"top": 500})


async def test_the_second_migration_keeps_the_scores(database_url: str) -> None:
    async with scratch_storage(database_url, "karma", KarmaTables, upto=1) as storage:
        first = storage.bind(KarmaTables).scores
        async with storage.begin() as conn:  # a score the first release counted
            await conn.execute(insert(first).values(name="bob", score=3))

        assert await migrate(storage, KarmaTables) == 2  # the version it is at now

        async with storage.connect() as conn:
            rows = (await conn.execute(select(first))).all()
        assert [tuple(row) for row in rows] == [("bob", 3, None)]
        assert await schema_drift(storage, KarmaTables) == []


async def test_the_plugin_runs_on_each_engine(
    plugin_harness: HarnessFactory, database_url: str
) -> None:
    # A unique instance: PostgreSQL's test database is shared by every run.
    instance = f"karma_{uuid.uuid4().hex[:8]}"
    h = await plugin_harness(KARMA, instance=instance, database_url=database_url)
    try:
        await h.message("bob++ bob++ carol--")
        await h.command("!karma top")

        assert h.replies() == ["1. bob: 2\n2. carol: -1"]
        assert await schema_drift(h.plugin.storage, KarmaTables) == []
    finally:
        await drop_namespace(h.plugin.storage)
