"""Benchmark: the time from ``!twim publish`` to the post's file, for a busy week.

A bot runs twim against botkit's fake homeserver (which answers in milliseconds, so
the figure is the bot's own work): ``N`` reports, each included and filed by an
editor's reactions, one in ten with a screenshot its reporter posted and included
(restrict_notice), as a week's worth of history in the bot's database. Then an
editor sends ``!twim publish``; the figure is the time until the bot's answer, by
which the post and its images are written. With twim-config's files found next to
the checkout (``shared/reference/twim-config/``) the bot runs with them, as TWIM does.

    python -m bench.twim_publish [--reports 500]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from botkit.testing.bot import running_bot
from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver, SentEvent

__all__ = ["measure"]

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-09-04"
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)
_TEXT = (
    "**Project {n} 1.{n}** is out, with [release notes](https://example.org/{n}),"
    " faster `/sync` and these changes:\n\n- threads\n- polls\n\nThanks to all who tested!"
)


def _twim_config() -> dict[str, Any]:
    """twim-config's files as the bot's config when found, else the shipped defaults."""
    for parent in ROOT.parents:
        folder = parent / "shared" / "reference" / "twim-config"
        if (folder / "config.toml").is_file():
            return {
                "hebbot_config": str(folder / "config.toml"),
                "template": str(folder / "template.md"),
            }
    return {"template": "current", "restrict_notice": True, "notice_emoji": "⭕️"}


async def measure(reports: int = 500) -> list[tuple[str, str]]:
    """(what, figure) pairs: the publish time and the post's size for ``reports``."""
    with tempfile.TemporaryDirectory(prefix="botkit-twim-publish-") as tmp:
        work = Path(tmp)
        async with FakeHomeserver() as hs:
            for name in ("editor", "alice", "bob"):
                hs.create_user(name, displayname=name.capitalize())
            room = hs.create_room("editor", members=["alice", "bob", "bot"])
            admin = hs.create_room("editor", members=["bot"])
            twim = _twim_config()
            config = write_bot_config(
                work / "config.yaml",
                account=fakehs_account(hs),
                plugins={
                    "twim": {
                        "config": {
                            **twim,
                            "rooms": [room],
                            "editors": [f"@editor:{hs.server_name}"],
                            "editor_room": admin,
                            "ping_room": "",
                            "output_dir": str(work / "out"),
                        }
                    }
                },
                plugin_dirs=[str(ROOT / "plugins")],
            )
            last = _fill_week(hs, room, reports)
            async with running_bot(config):
                bot = f"@bot:{hs.server_name}"
                # The week is in the bot's database once it has acknowledged the last one.
                await hs.wait_for_sent(
                    lambda sent: sent.sender == bot and _reacts_to(sent, last), timeout=600
                )
                since = len(hs.sent)
                started = time.perf_counter()
                hs.inject(admin, "editor", {"msgtype": "m.text", "body": f"!twim publish {DAY}"})
                await hs.wait_for_sent(
                    lambda sent: sent.sender == bot and "Published" in str(sent.content),
                    since=since,
                    timeout=600,
                )
                seconds = time.perf_counter() - started
            post = next((work / "out").glob("*.md"))
            images = len(list((work / "out" / "img").iterdir()))
            return [
                (f"twim !twim publish to the file, {reports} reports", f"{seconds * 1000:.0f} ms"),
                ("twim published post", f"{post.stat().st_size / 1024:.0f} KiB, {images} images"),
            ]


def _fill_week(hs: FakeHomeserver, room: str, reports: int) -> str:
    """The week's reports and reactions, in the room before the bot starts; the last
    report's event id."""
    last = ""
    sections = ["🏢", "📱", "🤖", "🌉", "📊"]
    for n in range(reports):
        sender = "alice" if n % 2 else "bob"
        text = _TEXT.format(n=n)
        last = hs.inject(room, sender, {"msgtype": "m.text", "body": text})
        for key in ("⭕️", sections[n % len(sections)]):
            _react(hs, room, "editor", last, key)
        if n % 10 == 0:
            url = hs.add_media(_PNG, "image/png", f"screen shot {n}.png")
            content = {"msgtype": "m.image", "body": f"screen shot {n}.png", "url": url}
            image = hs.inject(room, sender, content)
            _react(hs, room, sender, image, "⭕️")
    return last


def _react(hs: FakeHomeserver, room: str, sender: str, target: str, key: str) -> None:
    content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}
    hs.inject(room, sender, content, type="m.reaction")


def _reacts_to(sent: SentEvent, target: str) -> bool:
    relates = sent.content.get("m.relates_to") or {}
    return sent.type == "m.reaction" and relates.get("event_id") == target


def main() -> None:
    """Command line: print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=500)
    args = parser.parse_args()
    for what, figure in asyncio.run(measure(args.reports)):
        print(f"{what}: {figure}")


if __name__ == "__main__":
    main()
