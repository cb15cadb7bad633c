"""The pong's wire format: duration text, content to the character, and reading pongs back."""

from __future__ import annotations

from typing import Any

import pytest
from mautrix.types import JSON, EventID, MessageEvent, RoomID

from plugins.echo.pong import PONG_BODY, Pong, Refusal, build_pong, parse_pong

ROOM = "!ping:example.org"


def message(content: dict[str, Any], *, sender: str, event_id: str, ts: int) -> MessageEvent:
    """A room message as it arrives from /sync."""
    event: dict[str, Any] = {
        "type": "m.room.message",
        "room_id": ROOM,
        "event_id": event_id,
        "sender": sender,
        "origin_server_ts": ts,
        "content": content,
    }
    return MessageEvent.deserialize(JSON(event))


def ping(
    text: str = "", *, sender: str = "@alice:example.org:8448", ts: int = 1_000
) -> MessageEvent:
    body = f"!ping {text}" if text else "!ping"
    return message({"msgtype": "m.text", "body": body}, sender=sender, event_id="$ping1", ts=ts)


def test_pong_without_text() -> None:
    content = build_pong(ping(), now_ms=1_437, text=None)

    assert content == {
        "msgtype": "m.notice",
        "format": "org.matrix.custom.html",
        "body": "@alice:example.org:8448: Pong! (ping took 437 ms to arrive)",
        "formatted_body": (
            "<a href='https://matrix.to/#/@alice:example.org:8448'>@alice:example.org:8448</a>:"
            " Pong! (<a href='https://matrix.to/#/!ping:example.org/$ping1'>ping</a>"
            " took 437 ms to arrive)"
        ),
        "pong": {"ms": 437, "from": "example.org:8448", "ping": "$ping1"},
        "m.relates_to": {
            "rel_type": "xyz.maubot.pong",
            "event_id": "$ping1",
            "from": "example.org:8448",
            "ms": 437,
        },
    }
    assert PONG_BODY.fullmatch(content["body"])


def test_pong_quotes_twenty_characters_escaped_in_html() -> None:
    text = '<b>"x" & y</b> and more than twenty'
    content = build_pong(ping(text), now_ms=13_345, text=text)

    assert content["body"] == (
        '@alice:example.org:8448: Pong! (ping "<b>"x" & y</b> and m" took 12.3 seconds to arrive)'
    )
    assert content["formatted_body"] == (
        "<a href='https://matrix.to/#/@alice:example.org:8448'>@alice:example.org:8448</a>:"
        " Pong! (<a href='https://matrix.to/#/!ping:example.org/$ping1'>ping</a>"
        ' "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt; and m" took 12.3 seconds to arrive)'
    )
    assert PONG_BODY.fullmatch(content["body"])


def test_pong_cuts_text_before_escaping() -> None:
    text = "a" * 19 + "&bc"
    content = build_pong(ping(text), now_ms=1_000, text=text)

    assert f'"{"a" * 19}&" took' in content["body"]
    assert f'"{"a" * 19}&amp;" took' in content["formatted_body"]


def test_pong_escapes_a_historical_user_id_in_html() -> None:
    content = build_pong(ping(sender="@o'neil<3:example.org"), now_ms=1_000, text=None)

    assert content["body"].startswith("@o'neil<3:example.org: Pong!")
    assert content["formatted_body"].startswith(
        "<a href='https://matrix.to/#/@o&#x27;neil&lt;3:example.org'>@o&#x27;neil&lt;3:example.org</a>"
    )


def test_pong_quotes_several_lines_as_one() -> None:
    text = "one\ntwo\r\nthree"
    content = build_pong(ping(text), now_ms=1_000, text=text)

    expected = '@alice:example.org:8448: Pong! (ping "one two three" took 0 ms to arrive)'
    assert content["body"] == expected
    assert PONG_BODY.fullmatch(content["body"])


def test_pong_of_a_ping_from_the_future_shows_negative_latency() -> None:
    content = build_pong(ping(ts=2_000), now_ms=1_995, text="")

    assert content["body"] == "@alice:example.org:8448: Pong! (ping took -5 ms to arrive)"
    assert content["pong"]["ms"] == -5
    assert content["m.relates_to"]["ms"] == -5


def test_pong_says_the_duration_as_maubot_does() -> None:
    content = build_pong(ping(ts=1_000), now_ms=1_000 + 16_096, text="")

    assert content["body"] == "@alice:example.org:8448: Pong! (ping took 16.1 seconds to arrive)"
    assert content["formatted_body"].endswith("took 16.1 seconds to arrive)")
    assert content["pong"]["ms"] == 16_096


def pong_event(content: dict[str, Any], *, sender: str = "@echo:bots.example") -> MessageEvent:
    return message(content, sender=sender, event_id="$pong1", ts=5_000)


def test_our_own_pong_reads_back() -> None:
    content = build_pong(ping("hi"), now_ms=1_437, text="hi")

    pong = parse_pong(pong_event(content, sender="@pingbot:bots.example:8448"))

    assert pong == Pong(
        room_id=RoomID(ROOM),
        ping_event_id=EventID("$ping1"),
        pinger_server="example.org:8448",
        responder_server="bots.example:8448",
        latency_ms=437,
        timestamp_ms=5_000,
    )


def test_another_bots_pong_without_relation_reads_back() -> None:
    content = {
        "msgtype": "m.notice",
        "body": '@bob:matrix.org: Pong! (ping "hello" took 1 minute and 2 seconds to arrive)',
        "pong": {"ms": 62_000, "from": "matrix.org", "ping": "$abc"},
    }

    pong = parse_pong(pong_event(content, sender="@echo:t2bot.io"))

    assert isinstance(pong, Pong)
    assert (pong.pinger_server, pong.responder_server, pong.latency_ms) == (
        "matrix.org",
        "t2bot.io",
        62_000,
    )
    assert pong.ping_event_id == "$abc"


GOOD_BODY = "@bob:matrix.org: Pong! (ping took 437 ms to arrive)"
GOOD_PONG = {"ms": 437, "from": "matrix.org", "ping": "$abc"}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"msgtype": "m.text", "body": GOOD_BODY, "pong": GOOD_PONG}, id="m.text"),
        pytest.param({"msgtype": "m.notice", "body": "Pong!", "pong": GOOD_PONG}, id="other text"),
        pytest.param(
            {"msgtype": "m.notice", "body": GOOD_BODY + "\n", "pong": GOOD_PONG}, id="newline"
        ),
        pytest.param({"msgtype": "m.notice", "body": 5, "pong": GOOD_PONG}, id="body int"),
        pytest.param({"msgtype": 5, "body": GOOD_BODY, "pong": GOOD_PONG}, id="msgtype int"),
    ],
)
def test_not_a_pong(content: dict[str, Any]) -> None:
    assert parse_pong(pong_event(content)) is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ({"msgtype": "m.notice", "body": GOOD_BODY}, Refusal.NO_DATA),
        ({"msgtype": "m.notice", "body": GOOD_BODY, "pong": "x"}, Refusal.NO_DATA),
        ({"msgtype": "m.notice", "body": GOOD_BODY, "pong": [1]}, Refusal.NO_DATA),
    ],
    ids=["no pong field", "pong str", "pong list"],
)
def test_a_pong_notice_without_its_data_is_refused(
    content: dict[str, Any], reason: Refusal
) -> None:
    assert parse_pong(pong_event(content)) is reason


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        # Deliberately stricter than pingstat, which stores whatever it is given.
        ({"ms": "437"}, Refusal.BAD_MS),
        ({"ms": 437.5}, Refusal.BAD_MS),
        ({"ms": True}, Refusal.BAD_MS),
        ({"ms": 2**60}, Refusal.BAD_MS),
        ({"ms": None}, Refusal.BAD_MS),
        ({"from": 5}, Refusal.BAD_FROM),
        ({"from": ""}, Refusal.BAD_FROM),
        ({"from": "evil|server.org"}, Refusal.BAD_FROM),
        ({"from": "<b>x</b>"}, Refusal.BAD_FROM),
        ({"from": "a" * 300}, Refusal.BAD_FROM),
        ({"ping": 5}, Refusal.BAD_PING),
        ({"ping": "no-dollar"}, Refusal.BAD_PING),
        ({"ping": "$" + "x" * 300}, Refusal.BAD_PING),
        ({"ping": ["$abc"]}, Refusal.BAD_PING),
    ],
    ids=repr,
)
def test_hostile_pong_fields_are_refused(field: dict[str, Any], reason: Refusal) -> None:
    content = {"msgtype": "m.notice", "body": GOOD_BODY, "pong": GOOD_PONG | field}

    assert parse_pong(pong_event(content)) is reason


@pytest.mark.parametrize(
    ("missing", "reason"),
    [("ms", Refusal.BAD_MS), ("from", Refusal.BAD_FROM), ("ping", Refusal.BAD_PING)],
)
def test_pong_missing_a_field_is_refused(missing: str, reason: Refusal) -> None:
    data = {key: value for key, value in GOOD_PONG.items() if key != missing}
    content = {"msgtype": "m.notice", "body": GOOD_BODY, "pong": data}

    assert parse_pong(pong_event(content)) is reason


def test_a_pong_from_a_sender_without_a_server_name_is_refused() -> None:
    content = {"msgtype": "m.notice", "body": GOOD_BODY, "pong": GOOD_PONG}

    assert parse_pong(pong_event(content, sender="@echo:<b>evil</b>")) is Refusal.BAD_SENDER


def test_ipv6_server_with_port_is_a_server_name() -> None:
    content = {"msgtype": "m.notice", "body": GOOD_BODY, "pong": GOOD_PONG | {"from": "[::1]:8448"}}

    pong = parse_pong(pong_event(content, sender="@echo:[2001:db8::2]"))

    assert isinstance(pong, Pong)
    assert (pong.pinger_server, pong.responder_server) == ("[::1]:8448", "[2001:db8::2]")
