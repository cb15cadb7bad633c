"""Services between plugin instances, found by typed keys."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pytest

from botkit import ServiceKey, ServiceUnavailable
from botkit.services import ServiceRegistry, Services


@runtime_checkable
class Ranking(Protocol):
    """What a consumer of ``ping-stats`` needs, declared on its side."""

    async def ranking_markdown(self, room_id: str, *, top: int = 10) -> str:
        """The table of ``room_id``."""


class Table:
    """A provider's object that fits :class:`Ranking` without knowing it."""

    async def ranking_markdown(self, room_id: str, *, top: int = 10) -> str:
        return f"{room_id} {top}"


PING_STATS = ServiceKey("ping-stats", Ranking)


async def test_a_service_is_found_by_its_key_until_its_provider_stops() -> None:
    registry = ServiceRegistry()
    echo, twim = Services(registry, "echo"), Services(registry, "twim")
    table = Table()
    echo.provide(PING_STATS, table)

    found = twim.get(PING_STATS)

    assert found is table
    assert await found.ranking_markdown("!r:x", top=3) == "!r:x 3"
    registry.withdraw("echo")
    with pytest.raises(ServiceUnavailable, match="ping-stats"):
        twim.get(PING_STATS)
    assert twim.get_optional(PING_STATS) is None


def test_an_object_without_the_keys_methods_is_refused_when_it_registers() -> None:
    registry = ServiceRegistry()

    wrong: Any = "not a table"  # as from a plugin whose author ignored the type checker

    with pytest.raises(TypeError, match="'echo' offers service 'ping-stats' as a str"):
        Services(registry, "echo").provide(PING_STATS, wrong)
    assert Services(registry, "twim").get_optional(PING_STATS) is None


def test_a_consumer_whose_type_the_service_lacks_gets_a_clear_error() -> None:
    registry = ServiceRegistry()
    Services(registry, "echo").provide(ServiceKey("ping-stats", object), object())

    with pytest.raises(ServiceUnavailable, match="is a object, not a Ranking"):
        Services(registry, "twim").get(PING_STATS)


def test_a_protocol_must_be_runtime_checkable_to_key_a_service() -> None:
    class Unchecked(Protocol):
        def f(self) -> None: ...

    with pytest.raises(TypeError, match="Unchecked must be runtime_checkable"):
        ServiceKey("x", Unchecked)


def test_two_instances_may_offer_the_same_service() -> None:
    registry = ServiceRegistry()
    first, second = Table(), Table()
    Services(registry, "echo").provide(PING_STATS, first)
    Services(registry, "echo2").provide(PING_STATS, second)
    assert registry.get(PING_STATS) is first
    assert registry.get(PING_STATS, provider="echo2") is second
    registry.withdraw("echo")
    assert registry.get(PING_STATS) is second
    assert registry.get_optional(PING_STATS, provider="echo") is None
    with pytest.raises(LookupError):  # ServiceUnavailable is a LookupError too
        registry.get(PING_STATS, provider="echo")
