"""The real-Synapse test harness: homeservers, accounts and the test client."""

from __future__ import annotations

import pytest
from mautrix.errors import MLimitExceeded
from mautrix.types import (
    MessageEvent,
    MessageType,
    ReactionEvent,
    RedactionEvent,
    RoomID,
    TextMessageEventContent,
)

from botkit.testing.factories import AccountFactory, ClientFactory, SynapseFactory
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import Synapse, SynapseError

pytest_plugins = ["botkit.testing.pytest_plugin"]

# A 1x1 transparent PNG.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def shared_room(alice: TestClient, bob: TestClient) -> RoomID:
    """A room that alice made and bob joined after his invite reached him."""
    room = await alice.create_room(invite=[bob.user_id])
    await bob.accept_invite(room)
    return room


async def test_a_message_goes_from_one_user_to_another(
    register_user: AccountFactory, matrix_client_factory: ClientFactory
) -> None:
    alice = matrix_client_factory(register_user("alice"))
    bob = matrix_client_factory(register_user("bob"))
    room = await shared_room(alice, bob)

    sent = await alice.send_text(room, "hello bob", html="hello <b>bob</b>")

    received = await bob.wait_for_message(room, sender=alice.user_id)
    assert received.event_id == sent
    assert received.content.body == "hello bob"
    assert isinstance(received.content, TextMessageEventContent)
    assert received.content.formatted_body == "hello <b>bob</b>"


async def test_notices_reactions_redactions_and_images_arrive(
    register_user: AccountFactory, matrix_client_factory: ClientFactory
) -> None:
    alice = matrix_client_factory(register_user("alice"))
    bob = matrix_client_factory(register_user("bob"))
    room = await shared_room(alice, bob)

    notice = await alice.send_notice(room, "beep")
    got_notice = await bob.wait_for_message(room, contains="beep")
    assert got_notice.content.msgtype == MessageType.NOTICE

    reaction = await bob.react(room, notice, "👍")
    got_reaction = await alice.wait_for(lambda e: e.event_id == reaction)
    assert isinstance(got_reaction, ReactionEvent)
    assert got_reaction.content.relates_to.key == "👍"

    await bob.redact(room, reaction, reason="changed my mind")
    got_redaction = await alice.wait_for(
        lambda e: isinstance(e, RedactionEvent) and e.redacts == reaction
    )
    assert got_redaction.sender == bob.user_id

    image = await alice.send_image(room, PIXEL, width=1, height=1)
    got_image = await bob.wait_for(lambda e: e.event_id == image)
    assert isinstance(got_image, MessageEvent)
    assert got_image.content.msgtype == MessageType.IMAGE
    assert got_image.content.url.startswith("mxc://")
    assert got_image.content.info.size == len(PIXEL)


async def test_waiting_for_what_never_comes_times_out_listing_what_came(
    register_user: AccountFactory, matrix_client_factory: ClientFactory
) -> None:
    alice = matrix_client_factory(register_user("alice"))
    room = await alice.create_room()
    await alice.send_text(room, "only this")

    with pytest.raises(TimeoutError, match="only this"):
        await alice.wait_for(lambda e: False, timeout=1)


async def test_a_restarted_homeserver_keeps_users_rooms_and_port(
    synapse_factory: SynapseFactory,
) -> None:
    server = synapse_factory()
    url = server.url
    alice_account = server.register("alice")
    async with (
        TestClient(alice_account) as alice,
        TestClient(server.register("bob")) as bob,
    ):
        room = await shared_room(alice, bob)

        await server.async_stop()
        assert not server.running
        await server.async_start()

        assert server.url == url
        # The same tokens still work, and bob's sync loop got over the outage.
        await alice.send_text(room, "still here")
        got = await bob.wait_for_message(room, contains="still here")
        assert got.sender == alice.user_id
        assert (await bob.client.whoami()).user_id == bob.user_id
        assert server.login("alice", alice_account.password).user_id == alice.user_id


async def test_rate_limits_are_lifted_unless_asked_for(
    synapse: Synapse, synapse_factory: SynapseFactory
) -> None:
    limited = synapse_factory(default_ratelimits=True)
    for server, expect_limit in ((synapse, False), (limited, True)):
        async with TestClient(server.register(f"chatty-{expect_limit}")) as client:
            room = await client.create_room()
            try:
                # Synapse's default allows a burst of 10 messages.
                for n in range(20):
                    await client.send_text(room, f"message {n}")
            except MLimitExceeded:
                hit_limit = True
            else:
                hit_limit = False
            assert hit_limit == expect_limit, server.url


def test_a_homeserver_that_cannot_start_says_why(
    synapse: Synapse, synapse_factory: SynapseFactory
) -> None:
    clash = synapse_factory(port=synapse.port, start=False)

    with pytest.raises(SynapseError, match="Address already in use"):
        clash.start()
    assert not clash.running
    assert synapse.running
