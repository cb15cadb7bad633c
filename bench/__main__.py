"""``python -m bench`` (``make bench``): every benchmark, one table.

1. The bot's own cost against the fake homeserver, each run a fresh server process and
   a fresh bot process: the bare mautrix client (``raw``, the limit) and botkit, under
   1 event per sync at max rate, 1 per sync at 500 events/s, and 100 per sync at max
   rate, interleaved (raw, botkit, raw, botkit, ...), medians of the repetitions.
2. botkit's targets checked against those medians.
3. The bots' own CPU per event with the network taken out (:mod:`bench.dispatch`),
   appservice mode against sync mode (:mod:`bench.appservice`), a bot in 10,000 rooms
   over a million events (:mod:`bench.scale`: memory, handled records, start-up), the
   echo ranking over a million pongs (:mod:`bench.ping_stats`) and the TWIM renderer
   over 500 entries (:mod:`bench.twim_render`), ``!twim publish`` of a week of 500
   reports to its file (:mod:`bench.twim_publish`), and the slowest of cmark's
   pathological markdown inputs on each path that renders user text
   (:mod:`bench.markdown`, which prints every case).

The machine is shared: the ``busy%`` column is the whole system's CPU use during a run
(two cores), a hint of how noisy its figures are.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench import appservice, dispatch, markdown, ping_stats, scale, twim_publish, twim_render
from bench.bots import BOTS, botkit_plugins
from bench.report import figure_rows, format_table, summarize, target_rows
from bench.scenario import Scenario, run_scenario

__all__ = ["main"]

DEFAULT_SCENARIOS = "1:0 1:500 100:0"


def _scenarios(text: str) -> list[Scenario]:
    scenarios = []
    for item in text.split():
        per_sync, _, rate = item.partition(":")
        scenarios.append(Scenario(int(per_sync), float(rate or 0)))
    return scenarios


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("-n", "--events", type=int, default=3000, help="commands per run (default 3000)")
    add("-r", "--repeats", type=int, default=3, help="runs per bot and scenario (default 3)")
    add("-s", "--scenarios", default=DEFAULT_SCENARIOS, help="'B:RATE ...', RATE 0 = max")
    add("--bots", default=",".join(BOTS), help="comma-separated: raw,botkit")
    add("--command", choices=["auto", "pong", "ping"], default="auto", help="!pong <i>, !ping")
    add("--start-delay", type=float, default=2.0, help="s between the bot's start and load")
    add("--pongs", type=int, default=1_000_000, help="pongs for the echo ranking")
    add("--scale-events", type=int, default=1_000_000, help="for the 10,000-room run (0: skip)")
    add("--twim-entries", type=int, default=500)
    add("--markdown-chars", type=int, default=16_000, help="size of the hostile markdown")
    add("--no-load", action="store_true", help="skip the fake homeserver runs")
    add("--no-micro", action="store_true", help="skip the ranking and renderer benchmarks")
    add("--json", type=Path, help="append every run's figures to this file (JSON lines)")
    return parser


def _load_runs(args: argparse.Namespace) -> list[dict[str, Any]]:
    bots = [b.strip() for b in args.bots.split(",") if b.strip()]
    results = []
    for scenario in _scenarios(args.scenarios):
        for rep in range(args.repeats):
            for bot in bots:
                result = run_scenario(
                    bot,
                    scenario,
                    args.events,
                    command=args.command,
                    start_delay=args.start_delay,
                )
                result["scenario"] = scenario.label
                result["rep"] = rep
                results.append(result)
                cpu = result.get("bot", {}).get("cpu_ms_per_event")
                print(
                    f"  {scenario.label:<10} {bot:<7} rep {rep + 1}: "
                    f"{result['answered']}/{result['N']} answered, "
                    f"{result.get('events_per_s')} ev/s, {cpu} ms CPU/ev",
                    file=sys.stderr,
                    flush=True,
                )
                if args.json:
                    with args.json.open("a") as f:
                        f.write(json.dumps(result) + "\n")
    return results


def _print_load(results: list[dict[str, Any]]) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["scenario"], r["bot_name"]), []).append(r)
    summaries = [summarize(bot, scenario, rs) for (scenario, bot), rs in groups.items()]
    print(format_table(*figure_rows(summaries)))
    print()
    headers, rows = target_rows(summaries)
    if rows:
        print(format_table(headers, rows))
        print()
    states = {k: v for r in results if r["bot_name"] == "botkit" for k, v in r["plugins"].items()}
    if states:
        print("botkit plugin instances: " + ", ".join(f"{k} {v}" for k, v in states.items()))


def main() -> None:
    """Run the benchmarks and print the tables."""
    args = _parser().parse_args()
    started = time.monotonic()
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    python = platform.python_version()
    print(f"botkit bench, {now}, {platform.node()}: {os.cpu_count()} CPUs, Python {python}")
    plugins, notes = botkit_plugins()
    if args.command == "auto":
        # The echo plugin answers !ping as the bare client does; without it, !pong <i>.
        args.command = "ping" if "echo" in plugins else "pong"
    print(f"{args.events} commands per run (!{args.command}), medians of {args.repeats} runs")
    print(f"botkit plugins: {', '.join(plugins)}")
    print()
    if not args.no_load:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        _print_load(_load_runs(args))
        for note in notes:
            print(f"note: {note}")
        print()
    if not args.no_micro:
        figures = []
        for per_sync in (1, 100):
            run = dispatch.measure(args.events, per_sync, args.command, args.repeats)
            figures += asyncio.run(run)
        figures += asyncio.run(appservice.measure(args.events, 100, args.repeats))
        if args.scale_events:
            figures += asyncio.run(scale.measure(args.scale_events))
        figures += twim_render.measure(args.twim_entries)
        figures += asyncio.run(twim_publish.measure(args.twim_entries))
        figures += markdown.slowest(args.markdown_chars)
        figures += ping_stats.run(pongs=args.pongs)
        width = max(len(what) for what, _ in figures)
        for what, figure in figures:
            print(f"{what:<{width}}  {figure}")
        print()
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
