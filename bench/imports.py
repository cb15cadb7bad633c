"""``python -m bench.imports``: what each dependency of a running bot costs to import.

Each row is imported on top of the rows before it in a fresh interpreter; the RSS
(VmRSS) is the median and the time the fastest of ``-r`` interpreters, the cost of
the row the difference to the one before. The optional rows (encryption,
PostgreSQL) are each added to all the others. A bot with echo and twim in sync mode
on SQLite without encryption imports every main row but markdown-it and Jinja2
(until it renders markdown or a twim post).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

__all__ = ["main"]

ROWS = [
    ("asyncio, logging, json", "import asyncio, logging, json"),
    ("aiohttp (the client)", "import aiohttp"),
    ("aiohttp.web", "import aiohttp.web"),
    ("mautrix (client, types)", "import mautrix.client, mautrix.api"),
    ("SQLAlchemy Core", "import sqlalchemy"),
    ("aiosqlite, SQLite dialect", "import aiosqlite, sqlalchemy.dialects.sqlite.aiosqlite"),
    ("sqlalchemy.ext.asyncio (+ORM)", "import sqlalchemy.ext.asyncio"),
    ("ruamel.yaml", "import ruamel.yaml"),
    ("attrs, cattrs", "import cattrs"),
    ("markdown-it-py", "import markdown_it"),
    ("Jinja2", "import jinja2"),
    ("botkit itself", "import botkit.bot, botkit.cli"),
]
OPTIONAL = [
    ("mautrix.crypto, python-olm", "import mautrix.crypto, olm"),
    ("asyncpg, PostgreSQL dialect", "import asyncpg, sqlalchemy.dialects.postgresql.asyncpg"),
]
_PROBE = """
import time
started = time.perf_counter()
{imports}
took = time.perf_counter() - started
status = open("/proc/self/status").read().splitlines()
print(next(line.split()[1] for line in status if line.startswith("VmRSS:")), took)
"""


def measure(imports: list[str], repeats: int) -> tuple[float, float]:
    """RSS in MB (median) and import time in ms (fastest) of ``imports`` in fresh interpreters."""
    rss, ms = [], []
    for _ in range(repeats):
        probe = _PROBE.format(imports="\n".join(imports) or "pass")
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.split()
        rss.append(int(out[0]) / 1024)
        ms.append(float(out[1]) * 1000)
    return statistics.median(rss), min(ms)


def main() -> None:
    """Print one line per row: its RSS and time on top of the rows before it."""
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("-r", "--repeats", type=int, default=9)
    args = parser.parse_args()
    before = measure([], args.repeats)
    print(f"{'the bare interpreter':<32} {before[0]:5.1f} MB")
    imports: list[str] = []
    for name, statement in ROWS:
        imports.append(statement)
        now = measure(imports, args.repeats)
        print(f"{name:<32} +{now[0] - before[0]:4.1f} MB +{now[1] - before[1]:5.1f} ms")
        before = now
    for name, statement in OPTIONAL:
        now = measure([*imports, statement], args.repeats)
        print(f"{name:<32} +{now[0] - before[0]:4.1f} MB +{now[1] - before[1]:5.1f} ms (optional)")


if __name__ == "__main__":
    main()
