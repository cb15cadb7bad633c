"""The fake homeserver, driven by a real mautrix-python client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mautrix.api import Method, Path
from mautrix.client import Client
from mautrix.errors import (
    MatrixConnectionError,
    MatrixRequestError,
    MForbidden,
    MLimitExceeded,
    MNotFound,
    MUnknownToken,
)
from mautrix.types import (
    EventID,
    EventType,
    Filter,
    LoginType,
    Membership,
    MemberStateEventContent,
    MessageEvent,
    MessageType,
    PaginationDirection,
    RoomAlias,
    RoomEventFilter,
    RoomFilter,
    RoomID,
    RoomNameStateEventContent,
    RoomTopicStateEventContent,
    StateEvent,
    SyncToken,
    TextMessageEventContent,
    UserID,
)

from botkit.testing.fakehs import FakeHomeserver, HomeserverRefusal

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

TEXT = EventType.ROOM_MESSAGE
SYNC = "GET /_matrix/client/{version}/sync"


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


def message(body: str) -> TextMessageEventContent:
    return TextMessageEventContent(msgtype=MessageType.TEXT, body=body)


@pytest.fixture
async def bot(fakehs: FakeHomeserver) -> AsyncIterator[Client]:
    """A mautrix client logged in as @bot, not syncing."""
    token = fakehs.create_token("bot", device_id="BOTDEVICE")
    client = Client(UserID(f"@bot:{fakehs.server_name}"), base_url=fakehs.url, token=token)
    yield client
    client.stop()
    await client.api.session.close()


@pytest.fixture
def room(fakehs: FakeHomeserver) -> RoomID:
    """A room made by @alice with @bot joined."""
    return fakehs.create_room("alice", members=["bot"], name="Test room")


async def next_batch(client: Client, **kwargs: Any) -> tuple[SyncToken, dict[str, Any]]:
    """Sync once; the next batch token and the whole answer."""
    data: dict[str, Any] = await client.sync(**kwargs)
    return SyncToken(data["next_batch"]), data


async def history(
    client: Client, room: RoomID, direction: PaginationDirection, **kwargs: Any
) -> tuple[SyncToken | None, list[EventID]]:
    """One ``/messages`` page: its ``end`` token and its event IDs."""
    # mautrix's PaginatedMessages is a NamedTuple mypy cannot see into.
    page: Any = await client.get_messages(room, direction, **kwargs)
    return page.end, [event.event_id for event in page.events]


def long_poll(client: Client, since: SyncToken) -> asyncio.Task[tuple[SyncToken, dict[str, Any]]]:
    """A sync from ``since`` waiting up to 30 s, running in the background."""
    return asyncio.create_task(next_batch(client, since=since, timeout=30_000))


# login and auth


async def test_password_login_then_whoami(fakehs: FakeHomeserver) -> None:
    fakehs.create_user("alice", password="secret")
    client = Client(base_url=fakehs.url)
    try:
        identifier = UserID("@alice:fakehs.test")
        resp = await client.login(identifier, LoginType.PASSWORD, password="secret")
        assert resp.user_id == "@alice:fakehs.test"
        whoami = await client.whoami()
        assert (whoami.user_id, whoami.device_id) == (resp.user_id, resp.device_id)
        with pytest.raises(MForbidden):
            await client.login(identifier, LoginType.PASSWORD, password="wrong")
    finally:
        await client.api.session.close()


async def test_token_login_works_once(fakehs: FakeHomeserver) -> None:
    login_token = fakehs.create_login_token("carol")
    client = Client(base_url=fakehs.url)
    try:
        resp = await client.login(token=login_token, login_type=LoginType.TOKEN)
        assert resp.user_id == "@carol:fakehs.test"
        with pytest.raises(MForbidden):
            await client.login(token=login_token, login_type=LoginType.TOKEN)
    finally:
        await client.api.session.close()


async def test_unknown_token_is_401_m_unknown_token(fakehs: FakeHomeserver) -> None:
    client = Client(base_url=fakehs.url, token="not-a-token")
    try:
        with pytest.raises(MUnknownToken) as caught:
            await client.whoami()
        assert caught.value.http_status == 401
    finally:
        await client.api.session.close()


# sync


async def test_syncing_client_receives_injected_event(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    received: asyncio.Future[MessageEvent] = asyncio.get_running_loop().create_future()

    async def on_message(event: MessageEvent) -> None:
        if not received.done():
            received.set_result(event)

    bot.add_event_handler(TEXT, on_message)
    bot.start(None)
    await fakehs.wait_for_sync("bot")  # the bot now long-polls with nothing new
    event_id = fakehs.inject(room, "alice", text("hello"))
    async with asyncio.timeout(5):  # far less than the 30 s long-poll
        event = await received
    assert (event.event_id, event.room_id, event.sender) == (event_id, room, "@alice:fakehs.test")
    assert event.content.body == "hello"


async def test_limited_timeline_and_backfill_return_every_missed_event(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    limit_3 = Filter(room=RoomFilter(timeline=RoomEventFilter(limit=3)))
    filter_id = await bot.create_filter(limit_3)
    since, _ = await next_batch(bot, filter_id=filter_id)
    injected = [fakehs.inject(room, "alice", text(f"m{i}")) for i in range(8)]

    _, data = await next_batch(bot, since=since, filter_id=filter_id)
    timeline = data["rooms"]["join"][room]["timeline"]
    assert timeline["limited"] is True
    assert [e["event_id"] for e in timeline["events"]] == injected[-3:]

    end, back = await history(
        bot,
        room,
        PaginationDirection.BACKWARD,
        from_token=SyncToken(timeline["prev_batch"]),
        to_token=since,
        limit=100,
    )
    assert back[::-1] == injected[:-3]
    assert end is None  # nothing further back than `since`


async def test_backfill_pages_through_history_in_both_directions(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    injected = [fakehs.inject(room, "alice", text(f"m{i}")) for i in range(5)]
    seen: list[EventID] = []
    token: SyncToken | None = None
    while True:
        token, page = await history(
            bot, room, PaginationDirection.BACKWARD, from_token=token, limit=2
        )
        seen += page
        if token is None:
            break
    assert seen[:5] == injected[::-1]  # then the room's creation, newest first

    _, forward = await history(bot, room, PaginationDirection.FORWARD, limit=100)
    assert forward[-5:] == injected


async def test_invite_appears_in_sync_and_join_works(fakehs: FakeHomeserver, bot: Client) -> None:
    room = fakehs.create_room("alice", name="Invite only")
    invited: asyncio.Future[StateEvent] = asyncio.get_running_loop().create_future()

    async def on_member(event: StateEvent) -> None:
        content = event.content
        is_invite = (
            isinstance(content, MemberStateEventContent) and content.membership == Membership.INVITE
        )
        if is_invite and not invited.done():
            invited.set_result(event)

    bot.add_event_handler(EventType.ROOM_MEMBER, on_member)
    with pytest.raises(MForbidden):
        await bot.join_room(room, max_retries=0)
    bot.start(None)
    fakehs.invite(room, "alice", "bot")
    async with asyncio.timeout(5):
        invite = await invited
    assert (invite.room_id, invite.sender) == (room, "@alice:fakehs.test")

    assert await bot.join_room(room) == room
    assert fakehs.membership(room, "bot") == "join"
    joined = await fakehs.wait_for_sent(lambda e: e.type == "m.room.member")
    assert (joined.sender, joined.content["membership"]) == ("@bot:fakehs.test", "join")
    assert "@bot:fakehs.test" in await bot.get_joined_members(room)


async def test_join_by_alias_of_public_room(fakehs: FakeHomeserver, bot: Client) -> None:
    room = fakehs.create_room("alice", alias="#lobby:fakehs.test", public=True)
    assert await bot.join_room(RoomAlias("#lobby:fakehs.test")) == room
    with pytest.raises(MNotFound):
        await bot.join_room(RoomAlias("#nowhere:fakehs.test"), max_retries=0)


async def test_malformed_injected_event_reaches_the_client_untouched(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    since, _ = await next_batch(bot)
    malformed: list[Any] = [
        {"type": "m.room.message", "content": {"body": 5, "msgtype": ["m.text"]}},
        {"type": "m.room.message", "sender": "@alice:fakehs.test", "event_id": "$lone",
         "content": {"msgtype": "m.text", "body": "\ud800 lone surrogate"}},
        {"event_id": "$huge", "content": {"body": "x" * 1_000_000}},
        "not an object",
    ]  # fmt: skip
    for event in malformed:
        fakehs.inject_raw(room, event)

    url = f"{fakehs.url}/_matrix/client/v3/sync"
    headers = {"Authorization": f"Bearer {bot.api.token}"}
    async with bot.api.session.get(url, params={"since": str(since)}, headers=headers) as resp:
        raw = await resp.text()
    assert "\\ud800 lone surrogate" in raw  # the JSON escape, not replaced or dropped
    assert json.loads(raw)["rooms"]["join"][room]["timeline"]["events"] == malformed
    # mautrix copes with it too
    _, data = await next_batch(bot, since=since)
    assert len(data["rooms"]["join"][room]["timeline"]["events"]) == len(malformed)
    assert fakehs.timeline(room)[-len(malformed) :] == malformed


# sending


async def test_send_is_idempotent_per_transaction_id(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    first = await bot.send_message_event(room, TEXT, message("once"), txn_id="txn1")
    again = await bot.send_message_event(room, TEXT, message("once"), txn_id="txn1")
    assert first == again
    assert [e.event_id for e in fakehs.sent if e.type == TEXT.t] == [first]
    assert fakehs.send_attempts["txn1"] == 2
    other = await bot.send_message_event(room, TEXT, message("twice"), txn_id="txn2")
    assert other != first

    _, data = await next_batch(bot)
    own = [e for e in data["rooms"]["join"][room]["timeline"]["events"] if e["event_id"] == first]
    assert own[0]["unsigned"]["transaction_id"] == "txn1"


async def test_a_lost_answer_retried_creates_no_duplicate(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    fakehs.fail_next(1, 502, after_commit=True)
    with pytest.raises(MatrixRequestError) as caught:
        await bot.send_message_event(room, TEXT, message("hi"), txn_id="lost")
    assert caught.value.http_status == 502
    event_id = await bot.send_message_event(room, TEXT, message("hi"), txn_id="lost")
    assert [e.event_id for e in fakehs.sent] == [event_id]


async def test_rate_limited_send_carries_retry_after_ms(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    fakehs.rate_limit_next(2, retry_after_ms=1500)
    with pytest.raises(MLimitExceeded) as caught:
        await bot.send_message_event(room, TEXT, message("hi"), txn_id="t1")
    assert caught.value.http_status == 429

    url = f"{fakehs.url}/_matrix/client/v3/rooms/{room}/send/m.room.message/t2"
    headers = {"Authorization": f"Bearer {bot.api.token}"}
    async with bot.api.session.put(url, json=text("hi"), headers=headers) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "2"
        body = await resp.json()
    assert body == {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests",
                    "retry_after_ms": 1500}  # fmt: skip

    assert await bot.send_message_event(room, TEXT, message("hi"), txn_id="t1")
    assert len(fakehs.sent) == 1


async def test_failed_sends_create_nothing(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    fakehs.fail_next(1, 500)
    with pytest.raises(MatrixRequestError) as caught:
        await bot.send_text(room, "hi")
    assert (caught.value.http_status, caught.value.errcode) == (500, "M_UNKNOWN")
    assert fakehs.sent == []


async def test_sending_needs_membership_and_power(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    elsewhere = fakehs.create_room("alice")
    with pytest.raises(MForbidden):
        await bot.send_text(elsewhere, "hi")
    with pytest.raises(MForbidden):  # state needs power level 50, @bot has 0
        await bot.send_state_event(room, EventType.ROOM_TOPIC, RoomTopicStateEventContent("x"))
    with pytest.raises(MNotFound):
        await bot.send_text(RoomID("!missing:fakehs.test"), "hi")


async def test_wait_for_sent_times_out(fakehs: FakeHomeserver) -> None:
    with pytest.raises(TimeoutError):
        await fakehs.wait_for_sent(timeout=0.05)


# outages


async def test_outage_answers_502_then_recovers(fakehs: FakeHomeserver, bot: Client) -> None:
    since, _ = await next_batch(bot)
    pending = long_poll(bot, since)
    await fakehs.wait_for_request(SYNC, 2)  # the second sync is long-polling
    fakehs.set_down(True)
    with pytest.raises(MatrixRequestError) as caught:
        await pending
    assert caught.value.http_status == 502
    with pytest.raises(MatrixRequestError) as caught:
        await bot.whoami()
    assert caught.value.http_status == 502

    fakehs.set_down(False)
    assert (await bot.whoami()).user_id == "@bot:fakehs.test"


async def test_outage_can_drop_connections(fakehs: FakeHomeserver, bot: Client) -> None:
    fakehs.set_down(True, close_connections=True)
    with pytest.raises(MatrixConnectionError):
        await bot.whoami()
    fakehs.set_down(False)
    assert (await bot.whoami()).user_id == "@bot:fakehs.test"


async def test_close_answers_pending_syncs() -> None:
    hs = FakeHomeserver()
    client = Client(base_url=await hs.start(), token=hs.create_token("bot"))
    try:
        since, _ = await next_batch(client)
        pending = long_poll(client, since)
        await hs.wait_for_request(SYNC, 2)
        async with asyncio.timeout(5):
            await hs.close()
            assert (await pending)[0] == since
    finally:
        await client.api.session.close()


# rooms, state and media


async def test_state_members_events_and_redaction(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    state = await bot.get_state(room)
    assert {(e.type.t, e.state_key) for e in state} >= {
        ("m.room.create", ""),
        ("m.room.name", ""),
        ("m.room.member", "@bot:fakehs.test"),
    }
    name = await bot.get_state_event(room, EventType.ROOM_NAME)
    assert isinstance(name, RoomNameStateEventContent)
    assert name.name == "Test room"
    members = await bot.get_joined_members(room)
    assert set(members) == {"@alice:fakehs.test", "@bot:fakehs.test"}

    event_id = await bot.send_text(room, "oops")
    assert (await bot.get_event(room, event_id)).content["body"] == "oops"
    await bot.redact(room, event_id, reason="typo")
    redacted = await bot.api.request(Method.GET, Path.v3.rooms[room].event[event_id])
    assert redacted["content"] == {}
    assert redacted["unsigned"]["redacted_because"]["content"]["reason"] == "typo"
    with pytest.raises(MNotFound):
        await bot.get_event(room, EventID("$nope"))


async def test_displayname_round_trip_updates_member_event(
    fakehs: FakeHomeserver, bot: Client, room: RoomID
) -> None:
    since, _ = await next_batch(bot)
    await bot.set_displayname("Botty")
    assert await bot.get_displayname(UserID("@bot:fakehs.test")) == "Botty"
    _, data = await next_batch(bot, since=since)
    update = data["rooms"]["join"][room]  # just the new member event, not the room anew
    assert [e["content"] for e in update["timeline"]["events"]] == [
        {"membership": "join", "displayname": "Botty"}
    ]
    assert update["state"]["events"] == []
    members = await bot.get_joined_members(room)
    assert members[UserID("@bot:fakehs.test")].displayname == "Botty"
    assert await bot.get_displayname(UserID("@nobody:fakehs.test")) is None  # a 404


async def test_media_round_trip(fakehs: FakeHomeserver, bot: Client) -> None:
    data = bytes(range(256)) * 100
    uri = await bot.upload_media(data, mime_type="image/png", filename="a.png")
    assert await bot.download_media(uri) == data
    assert fakehs.media(uri) == data
    assert fakehs.requests["GET /_matrix/client/v1/media/download/{server_name}/{media_id}"] == 1

    server_name, media_id = uri.removeprefix("mxc://").split("/")
    url = f"{fakehs.url}/_matrix/client/v1/media/download/{server_name}/{media_id}"
    async with bot.api.session.get(url) as resp:  # authenticated media needs a token
        assert (resp.status, (await resp.json())["errcode"]) == (401, "M_MISSING_TOKEN")


async def test_test_api_refuses_what_a_server_would(fakehs: FakeHomeserver, room: RoomID) -> None:
    with pytest.raises(HomeserverRefusal) as caught:
        fakehs.inject(room, "mallory", text("not a member"))
    assert caught.value.errcode == "M_FORBIDDEN"
    with pytest.raises(HomeserverRefusal) as caught:
        fakehs.inject(RoomID("!missing:fakehs.test"), "alice", text("hi"))
    assert caught.value.errcode == "M_NOT_FOUND"


async def test_unknown_endpoint_is_m_unrecognized(fakehs: FakeHomeserver, bot: Client) -> None:
    with pytest.raises(MatrixRequestError) as caught:
        await bot.api.request(Method.GET, Path.v3.thirdparty.protocols)
    assert (caught.value.http_status, caught.value.errcode) == (404, "M_UNRECOGNIZED")
    assert fakehs.requests["GET /_matrix/client/v3/thirdparty/protocols"] == 1
