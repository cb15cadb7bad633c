"""Command arguments as a user types them."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from mautrix.types import RoomID, UserID

from botkit import CommandContext, Rest, UsageError
from botkit.commands import format_usage, parse_args, read_params, split_word


async def roll(self: object, ctx: CommandContext, sides: int, times: int = 1) -> None:
    """A command with a required and an optional number."""


async def say(self: object, ctx: CommandContext, who: str, text: Rest = "") -> None:
    """A word, then the rest of the line."""


async def stats(self: object, ctx: CommandContext, days: int | None = None) -> None:
    """An optional number whose absence is told apart from any value."""


def test_an_optional_argument_may_default_to_none() -> None:
    assert usage_of(stats) == "!x [days]"
    assert parse_args(read_params(stats), "", "u") == {"days": None}
    assert parse_args(read_params(stats), "3", "u") == {"days": 3}


def usage_of(func: object) -> str:
    return format_usage("!x", read_params(func))  # type: ignore[arg-type]


def test_usage_marks_required_and_optional_arguments() -> None:
    assert usage_of(roll) == "!x <sides> [times]"
    assert usage_of(say) == "!x <who> [text...]"


def test_numbers_are_converted() -> None:
    assert parse_args(read_params(roll), "6 3", "u") == {"sides": 6, "times": 3}
    assert parse_args(read_params(roll), "20", "u") == {"sides": 20, "times": 1}


def test_rest_keeps_the_text_as_typed() -> None:
    text = ' <b>hi</b>  "quoted"   and more'
    assert parse_args(read_params(say), "@bob:x" + text, "u") == {
        "who": "@bob:x",
        "text": '<b>hi</b>  "quoted"   and more',
    }


def test_quoted_phrase_is_one_argument() -> None:
    assert parse_args(read_params(say), '"Bob Smith" hello', "u") == {
        "who": "Bob Smith",
        "text": "hello",
    }
    assert split_word('"unclosed quote') == ('"unclosed', "quote")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Missing <sides>. Usage: !x <sides> [times]"),
        ("six", "<sides> must be a whole number, not 'six'. Usage: !x <sides> [times]"),
        ("6 2 1", "Too many arguments. Usage: !x <sides> [times]"),
    ],
)
def test_bad_arguments_explain_the_usage(text: str, message: str) -> None:
    with pytest.raises(UsageError) as e:
        parse_args(read_params(roll), text, "!x <sides> [times]")
    assert str(e.value) == message


async def bad_rest(self: object, ctx: CommandContext, text: Rest, more: str) -> None:
    """Rest is not last."""


async def bad_type(self: object, ctx: CommandContext, when: list[str]) -> None:
    """An unsupported type."""


@pytest.mark.parametrize(
    ("func", "fragment"),
    [(bad_rest, "Rest must be the last parameter"), (bad_type, "unsupported type")],
)
def test_impossible_signatures_are_rejected_when_read(func: object, fragment: str) -> None:
    with pytest.raises(TypeError, match=fragment):
        read_params(func)  # type: ignore[arg-type]


async def invite(self: object, ctx: CommandContext, who: UserID, room: RoomID, loud: bool) -> None:
    """Matrix IDs and a yes/no, checked before the handler runs."""


def test_matrix_ids_and_yes_no_are_parsed() -> None:
    values = parse_args(read_params(invite), "@bob:example.org !abc:example.org yes", "u")
    assert values == {"who": "@bob:example.org", "room": "!abc:example.org", "loud": True}
    assert parse_args(read_params(invite), "@b:x !r:x OFF", "u")["loud"] is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bob !abc:x yes", "<who> must be a user ID like @alice:example.org, not 'bob'"),
        ("@bob:x #room:x yes", "<room> must be a room ID like !abc:example.org, not '#room:x'"),
        ("@bob:x !abc:x maybe", "<loud> must be yes or no, not 'maybe'"),
    ],
)
def test_a_bad_matrix_id_or_yes_no_explains_the_usage(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_args(read_params(invite), text, "u")


def even(word: str) -> int:
    number = int(word)
    if number % 2:
        raise ValueError(f"{number} is odd")
    return number


async def pair(self: object, ctx: CommandContext, n: Annotated[int, even]) -> None:
    """A parser without a docstring: its own error is the explanation."""


def test_a_parser_without_a_docstring_explains_with_its_error() -> None:
    assert parse_args(read_params(pair), "4", "u") == {"n": 4}
    with pytest.raises(UsageError) as e:
        parse_args(read_params(pair), "3", "!pair <n>")
    assert str(e.value) == "<n>: 3 is odd. Usage: !pair <n>"
