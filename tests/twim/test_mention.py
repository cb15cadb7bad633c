"""The bot's mention at the start of a report leaves it."""

from __future__ import annotations

import pytest

from plugins.twim.mention import strip_mention

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
