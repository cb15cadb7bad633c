"""Services: objects one plugin instance offers to the others.

The provider calls ``self.services.provide("ping-stats", obj)`` in ``start``;
a consumer calls ``self.services.get("ping-stats")`` when it needs it. What an
instance provided is withdrawn when it stops.
"""

from __future__ import annotations

from typing import Any

from .errors import ServiceUnavailable

__all__ = ["ServiceRegistry", "Services"]


class ServiceRegistry:
    """Every service offered in one bot, by name."""

    def __init__(self) -> None:
        self._by_name: dict[str, tuple[str, Any]] = {}

    def provide(self, instance: str, name: str, service: object) -> None:
        """Offer ``service`` under ``name`` on behalf of ``instance``."""
        holder = self._by_name.get(name)
        if holder and holder[0] != instance:
            raise ValueError(f"service {name!r} is already provided by {holder[0]!r}")
        self._by_name[name] = (instance, service)

    def get(self, name: str) -> Any:
        """The service called ``name``; :class:`ServiceUnavailable` when nobody offers it."""
        try:
            return self._by_name[name][1]
        except KeyError:
            raise ServiceUnavailable(f"no running plugin provides the service {name!r}") from None

    def withdraw(self, instance: str) -> None:
        """Remove every service ``instance`` provided."""
        for name in [n for n, (owner, _) in self._by_name.items() if owner == instance]:
            del self._by_name[name]


class Services:
    """One plugin instance's view of the registry."""

    def __init__(self, registry: ServiceRegistry, instance: str) -> None:
        self._registry = registry
        self._instance = instance

    def provide(self, name: str, service: object) -> None:
        """Offer ``service`` to the other plugins until this instance stops."""
        self._registry.provide(self._instance, name, service)

    def get(self, name: str) -> Any:
        """Another plugin's service; raises :class:`ServiceUnavailable` if none runs."""
        return self._registry.get(name)
