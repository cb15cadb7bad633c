"""The README's walk-through quotes the example plugin as it is: a quote cannot drift.

Each code block the README marks with ``<!-- quote: <path> -->`` on the line before
it must appear, verbatim, in that file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
QUOTE = re.compile(r"^<!-- quote: (?P<path>\S+) -->\n```[a-z]*\n(?P<code>.*?)^```$", re.M | re.S)
QUOTES = [(m["path"], m["code"]) for m in QUOTE.finditer((ROOT / "README.md").read_text())]


def test_the_walk_through_quotes_every_file_of_the_example() -> None:
    quoted = {path for path, _ in QUOTES}

    assert quoted == {
        "tests/example/karma/plugin.yaml",
        "tests/example/karma/config.yaml",
        "tests/example/karma/plugin.py",
        "tests/example/test_karma.py",
    }


@pytest.mark.parametrize(("path", "code"), QUOTES, ids=[code.split("\n")[0] for _, code in QUOTES])
def test_each_quote_is_in_its_file(path: str, code: str) -> None:
    assert code in (ROOT / path).read_text()
