"""Three homeservers federating over loopback, as the harness sets them up."""

from __future__ import annotations

from botkit.testing.factories import ClientFactory
from botkit.testing.federation import Federation

pytest_plugins = ["botkit.testing.pytest_plugin"]

# Federation adds hops (invites, joins, key fetches) that a single server does not have.
SLOW = 60.0


async def test_a_message_from_the_third_server_reaches_the_first(
    federation: Federation, matrix_client_factory: ClientFactory
) -> None:
    one, two, three = federation
    assert [s.server_name.rsplit(":", 1)[0] for s in federation] == [
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.3",
    ]
    alice = matrix_client_factory(one.register("alice"))
    bob = matrix_client_factory(two.register("bob"))
    carol = matrix_client_factory(three.register("carol"))

    room = await alice.create_room(invite=[bob.user_id, carol.user_id])
    await bob.accept_invite(room, SLOW)
    await carol.accept_invite(room, SLOW)
    sent = await carol.send_text(room, "hello from the third server")

    received = await alice.wait_for_message(room, sender=carol.user_id, timeout=SLOW)
    assert received.event_id == sent
    assert received.content.body == "hello from the third server"
    assert carol.user_id.endswith(three.server_name)
    # The second server, which neither sent nor created anything, has it too.
    assert (await bob.wait_for(lambda e: e.event_id == sent, SLOW)).sender == carol.user_id
