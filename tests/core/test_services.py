"""Services between plugin instances."""

from __future__ import annotations

import pytest

from botkit import ServiceUnavailable
from botkit.services import ServiceRegistry, Services


def test_a_service_is_found_by_name_until_its_provider_stops() -> None:
    registry = ServiceRegistry()
    echo, twim = Services(registry, "echo"), Services(registry, "twim")
    table = object()
    echo.provide("ping-stats", table)
    assert twim.get("ping-stats") is table
    registry.withdraw("echo")
    with pytest.raises(ServiceUnavailable, match="ping-stats"):
        twim.get("ping-stats")


def test_two_instances_may_offer_the_same_service() -> None:
    registry = ServiceRegistry()
    first, second = object(), object()
    Services(registry, "echo").provide("ping-stats", first)
    Services(registry, "echo2").provide("ping-stats", second)
    assert registry.get("ping-stats") is first
    assert registry.get("ping-stats", provider="echo2") is second
    registry.withdraw("echo")
    assert registry.get("ping-stats") is second
    with pytest.raises(LookupError):  # ServiceUnavailable is a LookupError too
        registry.get("ping-stats", provider="echo")
