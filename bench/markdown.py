"""Benchmark: cmark's pathological markdown through every path that renders user text.

Each case of :data:`botkit.testing.pathological.PATHOLOGICAL`, cut to ``--size``
characters, goes through:

- ``!echo``: the echo plugin's command in the plugin harness (render and send),
- ``!ping``: the pong, which quotes the text back,
- ``sanitize``: twim's :func:`~plugins.twim.sanitize.sanitize_markdown`,
- ``render``: twim's :func:`~plugins.twim.render.render_post` of a post with that report,
- ``page``: twim's draft page (:func:`~plugins.twim.preview.page_html`) of that post.

Each run is a forked process stopped after ``--limit`` seconds, so a quadratic path
shows as ``>limit`` instead of holding up the table. Figures are CPU time (of all the
process's threads), which on a shared machine is steadier than the wall clock.

    python -m bench.markdown [--size 16000] [--limit 10] [--paths echo,ping,...]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path

from mautrix.types import EventID, UserID

from botkit.testing.harness import plugin_harness
from botkit.testing.pathological import PATHOLOGICAL
from plugins.twim.draft import Draft
from plugins.twim.model import Entry, Post, Section
from plugins.twim.preview import page_html
from plugins.twim.render import render_post
from plugins.twim.sanitize import sanitize_markdown

__all__ = ["PATHS", "measure", "slowest"]

_PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
_SECTION = Section("servers", "Dept of Servers 🏢", "🏢", 1)

Path_ = Callable[[str], Coroutine[None, None, float]]


async def _command(plugin: str, command: str, text: str) -> float:
    async with plugin_harness(_PLUGINS / plugin) as harness:
        started = time.process_time()
        await harness.command(f"{command} {text}")
        took = time.process_time() - started
        if not harness.sent or harness.errors:
            raise RuntimeError(f"{command} gave no answer: {harness.errors}")
        return took


def _post(text: str) -> Post:
    report = Entry(
        event_id=EventID("$report"),
        sender=UserID("@mallory:example.org"),
        sender_name="Mallory",
        posted_at=1_700_000_000_000,
        text=text,
        section=_SECTION.key,
    )
    return Post(date=date(2024, 6, 7), editor="Bench", sections=[_SECTION], entries=[report])


async def _timed(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


async def _echo(text: str) -> float:
    return await _command("echo", "!echo", text)


async def _ping(text: str) -> float:
    return await _command("echo", "!ping", text)


async def _sanitize(text: str) -> float:
    return await _timed(lambda: sanitize_markdown(text))


async def _render(text: str) -> float:
    post = _post(text)
    return await _timed(lambda: render_post(post))


async def _page(text: str) -> float:
    draft = Draft(post=_post(text), issues=[], previous=None)
    return await _timed(lambda: page_html(draft, "/media"))


PATHS: dict[str, Path_] = {
    "!echo": _echo,
    "!ping": _ping,
    "sanitize": _sanitize,
    "render": _render,
    "page": _page,
}
"""Each path that renders user text: the time it takes for one text, in seconds."""


def _child(path: str, text: str, pipe: Connection) -> None:
    try:
        pipe.send(asyncio.run(PATHS[path](text)))
    except Exception as e:
        pipe.send(f"{type(e).__name__}: {e}")


def _run(path: str, text: str, limit: float) -> str:
    """The time of one run as a figure, ``>limit`` if it had to be stopped."""
    # A fresh interpreter: a fork of a process that ran other benchmarks may inherit a
    # lock held by one of its threads and hang (seen in `make bench`).
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(path, text, send))
    process.start()
    figure = f">{limit:g} s"
    if receive.poll(limit):
        result = receive.recv()
        figure = f"{result * 1000:.0f} ms" if isinstance(result, float) else "error"
    process.kill()
    process.join()
    return figure


def measure(size: int, limit: float, paths: list[str]) -> Iterator[list[str]]:
    """One row per case, as it is measured: its name, its length, each path's time."""
    for case in PATHOLOGICAL:
        text = case.sized(size)
        yield [case.name, str(len(text)), *(_run(path, text, limit) for path in paths)]


def slowest(size: int = 16_000, limit: float = 10.0) -> list[tuple[str, str]]:
    """For ``python -m bench``: each path's slowest case, as (what, figure) pairs."""
    paths = list(PATHS)
    worst: dict[str, tuple[float, str, str]] = {}
    for name, _, *figures in measure(size, limit, paths):
        for path, figure in zip(paths, figures, strict=True):
            seconds = limit + 1 if figure.startswith(">") else _seconds(figure)
            if seconds >= worst.get(path, (-1.0, "", ""))[0]:
                worst[path] = (seconds, figure, name)
    count = len(PATHOLOGICAL)
    return [
        (f"markdown {path}, slowest of {count} cmark cases of {size:,} chars", f"{f} ({case})")
        for path, (_, f, case) in worst.items()
    ]


def _seconds(figure: str) -> float:
    number = figure.split()[0]
    return float(number) / 1000 if number.replace(".", "").isdigit() else float("inf")


def main() -> None:
    """Command line: print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=16_000, help="characters per input")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds before a run stops")
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated")
    args = parser.parse_args()
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    headers = ["case", "chars", *paths]
    widths = [36, *(max(len(h), 9) for h in headers[1:])]
    print(_line(headers, widths))
    for row in measure(args.size, args.limit, paths):
        print(_line(row, widths), flush=True)


def _line(cells: list[str], widths: list[int]) -> str:
    first, *rest = zip(cells, widths, strict=True)
    return "  ".join([first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in rest)])


if __name__ == "__main__":
    main()
