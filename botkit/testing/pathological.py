"""Markdown that makes naive parsers slow: the hostile inputs of cmark's own test suite.

The CommonMark reference implementation (cmark, ``test/pathological_tests.py``) keeps a
list of inputs that once made some parser take quadratic time or overflow its stack:
runs of unmatched emphasis or link delimiters, deep nesting, long backtick runs,
unclosed links and comments. They are written out again here, each as a function of a
size ``n`` (cmark uses ``n`` from 25,000 to 160,000 repetitions), so a test can use a
size that fits a chat message and a benchmark can grow it to see how time scales.

Use them to check that a path which renders user text finishes in bounded time::

    for case in PATHOLOGICAL:
        text = case.sized(16_000)  # at most 16,000 characters
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PATHOLOGICAL", "Case"]


@dataclass(frozen=True, slots=True)
class Case:
    """One hostile input: ``make(n)`` repeats its pattern about ``n`` times."""

    name: str
    make: Callable[[int], str]

    def sized(self, chars: int) -> str:
        """The largest input of this case that is at most ``chars`` characters long."""
        low, high = 1, 2
        while len(self.make(high)) <= chars:
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            if len(self.make(middle)) <= chars:
                low = middle
            else:
                high = middle
        return self.make(low)


def _nested_lists(n: int) -> str:
    return "".join("  " * depth + "* a\n" for depth in range(n))


def _backticks(n: int) -> str:
    return "".join("e" + "`" * run for run in range(1, n))


def _many_references(n: int) -> str:
    definitions = "".join(f"[{i}]: u\n" for i in range(1, n))
    return definitions + "[0] " * n


PATHOLOGICAL: tuple[Case, ...] = (
    Case("nested strong emph", lambda n: "*a **a " * n + "b" + " a** a*" * n),
    Case("emph closers, no openers", lambda n: "a_ " * n),
    Case("emph openers, no closers", lambda n: "_a " * n),
    Case("link closers, no openers", lambda n: "a]" * n),
    Case("link openers, no closers", lambda n: "[a" * n),
    Case("mismatched openers and closers", lambda n: "*a_ " * n),
    Case("emph crossing (cmark #389)", lambda n: "*a " * n + "_a*_ " * n),
    Case("openers and closers multiple of 3", lambda n: "a**b" + "c* " * n),
    Case("link openers and emph closers", lambda n: "[ a_" * n),
    Case("pattern [ (]( repeated", lambda n: "[ (](" * n),
    Case("pattern ![[]() repeated", lambda n: "![[]()" * n),
    Case("nested brackets", lambda n: "[" * n + "a" + "]" * n),
    Case("nested block quotes", lambda n: "> " * n + "a"),
    Case("deeply nested lists", _nested_lists),
    Case("U+0000 in input", lambda n: "abc\x00de\x00" * n),
    Case("backticks", _backticks),
    Case("unclosed links A", lambda n: "[a](<b" * n),
    Case("unclosed links B", lambda n: "[a](b" * n),
    Case("unclosed <!--", lambda n: "</" + "<!--" * n),
    Case("empty lines in nested lists", lambda n: "- " * n + "x" + "\n" * n),
    Case("empty lines in quoted nested lists", lambda n: "> " + "- " * n + "x\n" + ">\n" * n),
    Case("emph in deep blockquote", lambda n: ">" * n + "a*" * n),
    Case("nested inlines", lambda n: "*" * n + "a" + "*" * n),
    Case("many references", _many_references),
)
"""The cases, in the order cmark lists them (its reference-hash collision case is left
out: it targets cmark's own hash table)."""
