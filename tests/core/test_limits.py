"""Flood limits: a flood from one user costs the others nothing, and gets one notice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botkit.config import LimitsConfig
from botkit.limits import CommandLimiter, Verdict
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver, SentEvent

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

PLUGINS = Path(__file__).parent / "plugins"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


def body(event: SentEvent) -> str:
    return str(event.content.get("body", ""))


async def test_a_flood_from_one_user_gets_one_notice_and_delays_no_one(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    room = fakehs.create_room("alice", members=["bot", "bob"])
    alice, bob = (f"@{name}:{fakehs.server_name}" for name in ("alice", "bob"))
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=fakehs_account(fakehs),
        plugins=["pong"],
        plugin_dirs=[str(PLUGINS)],
        bot={"limits": {"user_burst": 3, "user_per_minute": 1}},
    )
    async with running_bot(config):
        for n in range(20):
            fakehs.inject(room, alice, text(f"!pong alice{n}"))
        fakehs.inject(room, bob, text("!pong bob"))
        await fakehs.wait_for_sent(lambda e: body(e) == "pong bob", timeout=30)
        # The room's events are handled in order: once bob's second answer is out,
        # every command of alice's flood has been dealt with.
        fakehs.inject(room, alice, text("!pong alice-later"))
        fakehs.inject(room, bob, text("!pong bob2"))
        await fakehs.wait_for_sent(lambda e: body(e) == "pong bob2", timeout=30)
    answers = [body(e) for e in fakehs.sent if e.room_id == room]
    assert [a for a in answers if a.startswith("pong alice")] == [
        "pong alice0",
        "pong alice1",
        "pong alice2",
    ]
    notices = [a for a in answers if a.startswith("Sorry")]
    assert len(notices) == 1, answers
    assert "faster than I answer" in notices[0]


def test_a_user_is_let_through_again_once_the_bucket_refills() -> None:
    clock = Clock()
    limiter = CommandLimiter(LimitsConfig(2, 60, 0, 0), clock=clock)
    verdicts = [limiter.check(f"$e{n}", "!room", "@alice:x") for n in range(5)]
    assert verdicts == [Verdict.RUN, Verdict.RUN, Verdict.NOTICE, Verdict.IGNORE, Verdict.IGNORE]
    assert limiter.check("$other", "!room", "@bob:x") is Verdict.RUN
    clock.now += 1.0  # 60 a minute: one more command
    assert limiter.check("$e5", "!room", "@alice:x") is Verdict.RUN
    assert limiter.check("$e6", "!room", "@alice:x") is Verdict.NOTICE  # a new flood, told again


def test_a_room_limit_covers_every_user_of_the_room() -> None:
    limiter = CommandLimiter(LimitsConfig(0, 0, 3, 6), clock=Clock())
    verdicts = [limiter.check(f"$e{n}", "!busy", f"@user{n}:x") for n in range(5)]
    assert verdicts == [Verdict.RUN] * 3 + [Verdict.NOTICE, Verdict.IGNORE]
    assert limiter.check("$calm", "!calm", "@user0:x") is Verdict.RUN


def test_one_message_is_one_command_and_admins_are_exempt() -> None:
    limiter = CommandLimiter(
        LimitsConfig(1, 1, 0, 0), exempt=frozenset({"@admin:x"}), clock=Clock()
    )
    # Two plugin instances answer the same message: it counts once.
    assert limiter.check("$e", "!room", "@alice:x") is Verdict.RUN
    assert limiter.check("$e", "!room", "@alice:x") is Verdict.RUN
    assert limiter.check("$f", "!room", "@alice:x") is Verdict.NOTICE
    assert limiter.check("$f", "!room", "@alice:x") is Verdict.IGNORE  # told once, not per instance
    assert all(limiter.check(f"$a{n}", "!room", "@admin:x") is Verdict.RUN for n in range(10))
