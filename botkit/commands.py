"""Command arguments: read from a handler's signature, parsed from a message.

A command handler ``async def f(self, ctx, a: int, b: str = "x", rest: Rest = "")``
takes one word (or a "quoted phrase") per parameter, converted by its
annotation (``str``, ``int``, ``float``, ``bool`` as yes/no, ``UserID``, ``RoomID``,
or ``Annotated[T, parser]``: ``parser(word)`` gives the value or raises ``ValueError``;
the first line of its docstring says what the word must be, e.g. "a duration like 2h");
:data:`Rest` takes the remainder of the line verbatim. A message
that does not fit raises :class:`~botkit.errors.UsageError` with the usage line.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from mautrix.types import RoomID, UserID

from .errors import UsageError

__all__ = [
    "MAX_DEPTH",
    "Param",
    "Rest",
    "format_usage",
    "name_words",
    "parse_args",
    "read_params",
    "split_word",
]

MAX_DEPTH = 4
"""How many words a command's name may have (``"karma top week"`` has three)."""


class _RestOfLine:
    """Marker inside ``Annotated`` for the rest-of-line parameter."""


Rest = Annotated[str, _RestOfLine]
"""Annotate the last parameter of a command with this to get the rest of the line as typed."""

_YES = {"yes", "y", "true", "on", "1"}
_NO = {"no", "n", "false", "off", "0"}
# Matrix IDs as the spec's grammar has them: a sigil, a localpart, ":" and a server.
_USER_ID = re.compile(r"@[^:\s]+:[^\s]+")
_ROOM_ID = re.compile(r"![^:\s]+:[^\s]+")


def _bool(word: str) -> bool:
    lowered = word.lower()
    if lowered in _YES | _NO:
        return lowered in _YES
    raise ValueError(word)


def _matching(pattern: re.Pattern[str], make: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(word: str) -> Any:
        if not pattern.fullmatch(word):
            raise ValueError(word)
        return make(word)

    return convert


# Keys are types and mautrix's NewTypes (UserID, RoomID), hence Any.
_CONVERTERS: dict[Any, tuple[Callable[[str], Any], str]] = {
    str: (str, "a word"),
    int: (int, "a whole number"),
    float: (float, "a number"),
    bool: (_bool, "yes or no"),
    UserID: (_matching(_USER_ID, UserID), "a user ID like @alice:example.org"),
    RoomID: (_matching(_ROOM_ID, RoomID), "a room ID like !abc:example.org"),
}


@dataclass(frozen=True, slots=True)
class Param:
    """One argument of a command."""

    name: str
    convert: Callable[[str], Any]
    """Turns the word typed into the value passed; ``ValueError`` when it cannot."""
    description: str | None
    """What the word must be ("a whole number"); None: the parser's error says it."""
    rest: bool
    required: bool
    default: Any


SUPPORTED = "str, int, float, bool, UserID, RoomID, Rest or Annotated[T, parser]"
"""The annotations a command argument may have, for error messages."""


def read_params(func: Callable[..., Any]) -> list[Param]:
    """The arguments of a command handler, after ``self`` and ``ctx``.

    Raises ``TypeError`` naming the parameter when the signature cannot be a
    command: the loader reports it when the plugin loads, not when it is used.
    """
    hints = typing.get_type_hints(func, include_extras=True)
    params = list(inspect.signature(func).parameters.values())[2:]
    result: list[Param] = []
    for i, p in enumerate(params):
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise TypeError(f"parameter {p.name!r}: *args/**kwargs cannot be command arguments")
        hint = hints.get(p.name, str)
        if typing.get_origin(hint) in (types.UnionType, typing.Union):
            # ``days: int | None = None``: optional, and "not given" stays None.
            options = [a for a in typing.get_args(hint) if a is not type(None)]
            hint = options[0] if len(options) == 1 else hint
        rest = typing.get_origin(hint) is Annotated and _RestOfLine in typing.get_args(hint)
        if rest and i != len(params) - 1:
            raise TypeError(f"parameter {p.name!r}: Rest must be the last parameter")
        convert, description = (str, None) if rest else _converter(p.name, hint)
        required = p.default is inspect.Parameter.empty
        default = None if required else p.default
        result.append(Param(p.name, convert, description, rest, required, default))
    return result


def _converter(name: str, hint: Any) -> tuple[Callable[[str], Any], str | None]:
    """How a parameter annotated ``hint`` reads its word, and what the word must be."""
    if typing.get_origin(hint) is Annotated:
        # ``Annotated[timedelta, duration]``: the last callable is the parser.
        kind, *extras = typing.get_args(hint)
        parsers = [e for e in extras if callable(e)]
        if parsers:
            parser = parsers[-1]
            doc = (getattr(parser, "__doc__", None) or "").strip().split("\n")[0].rstrip(".")
            return parser, doc or None
        hint = kind
    if hint in _CONVERTERS:
        return _CONVERTERS[hint]
    raise TypeError(f"parameter {name!r}: unsupported type {hint!r} (use {SUPPORTED})")


def format_usage(invocation: str, params: list[Param]) -> str:
    """``!cmd <a> [b] [text...]``: angle brackets required, square optional."""
    parts = [invocation]
    for p in params:
        label = f"{p.name}..." if p.rest else p.name
        parts.append(f"<{label}>" if p.required else f"[{label}]")
    return " ".join(parts)


def split_word(text: str) -> tuple[str, str]:
    """The first word (or "quoted phrase") of ``text`` and what follows it."""
    text = text.lstrip()
    if text[:1] in ('"', "'"):
        end = text.find(text[0], 1)
        if end > 0:
            return text[1:end], text[end + 1 :].lstrip()
    head, _, tail = text.partition(" ")
    return head, tail.lstrip()


def name_words(line: str) -> tuple[str, ...]:
    """The first words of a command line, lower-cased: as many as a command's name may have."""
    words: list[str] = []
    rest = line
    while rest and len(words) < MAX_DEPTH:
        word, rest = split_word(rest)
        if not word:
            break
        words.append(word.lower())
    return tuple(words)


def parse_args(params: list[Param], text: str, usage: str) -> dict[str, Any]:
    """Match ``text`` against ``params``; raise :class:`UsageError` when it does not fit."""
    values: dict[str, Any] = {}
    remaining = text.strip()
    for p in params:
        if p.rest:
            word, remaining = remaining, ""
        else:
            word, remaining = split_word(remaining) if remaining else ("", "")
        if not word:
            if p.required:
                raise UsageError(f"Missing <{p.name}>. Usage: {usage}")
            values[p.name] = p.default
            continue
        try:
            values[p.name] = p.convert(word)
        except ValueError as e:
            if p.description:
                why = f" must be {p.description}, not {word!r}"
            else:  # a parser without a docstring: its error says what is wrong
                why = f": {e}" if str(e) else f": {word!r} is not accepted"
            raise UsageError(f"<{p.name}>{why}. Usage: {usage}") from None
    if remaining:
        raise UsageError(f"Too many arguments. Usage: {usage}")
    return values
