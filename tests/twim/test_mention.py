"""How a report addresses the bot, and the bot's mention at its start leaves it."""

from __future__ import annotations

import pytest
from mautrix.types import UserID

from plugins.twim.collect import bot_names
from plugins.twim.mention import addresses, strip_mention

BOT = "@this-week-in:matrix.org"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[TWIM](https://matrix.to/#/@this-week-in:matrix.org): Synapse 1.99", "Synapse 1.99"),
        ("[TWIM](https://matrix.to/#/%40this-week-in%3Amatrix.org) Synapse", "Synapse"),
        ("[This Week](https://matrix.to/#/@this-week-in:matrix.org),\n\nNews", "News"),
        ("TWIM: Synapse 1.99 is out", "Synapse 1.99 is out"),
        ("twim, Synapse 1.99 is out", "Synapse 1.99 is out"),
        ("this-week-in: hello", "hello"),
        # Not a mention of the bot, or not at the start: the text stays as it is.
        ("[Alice](https://matrix.to/#/@alice:example.org): thanks!", None),
        ("TWIM is great", None),
        ("Synapse, thanks to [TWIM](https://matrix.to/#/@this-week-in:matrix.org)", None),
        ("TWIMBot: hi", None),
    ],
)
def test_a_leading_mention_of_the_bot_is_stripped(text: str, expected: str | None) -> None:
    names = ("TWIM", "this-week-in")

    assert strip_mention(text, BOT, names) == (text if expected is None else expected)


def test_m_mentions_naming_the_bot_address_it_without_a_pill_or_a_name() -> None:
    assert addresses("Synapse 1.99 is out", None, BOT, ("TWIM",), mentions=[BOT])
    assert not addresses("Synapse 1.99 is out", None, BOT, ("TWIM",), mentions=["@a:b.c"])


def test_the_bots_display_name_at_the_start_addresses_it_and_is_stripped() -> None:
    names = bot_names(UserID(BOT), ["This Week Bot", ""])

    assert addresses("this week bot: Synapse 1.99", None, BOT, names)
    assert strip_mention("This Week Bot: Synapse 1.99", BOT, names) == "Synapse 1.99"
    assert not addresses("This Week Bot is great", None, BOT, names)
