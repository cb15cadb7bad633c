"""Services: objects one plugin instance offers to the others.

The provider calls ``self.services.provide("ping-stats", obj)`` in ``start``;
a consumer calls ``self.services.get("ping-stats")`` when it needs it. Several
instances may offer the same service (two echo instances, say): ``get`` then
returns the one that started first, or the one named by ``provider``. What an
instance provided is withdrawn when it stops.
"""

from __future__ import annotations

from typing import Any

from .errors import ServiceUnavailable

__all__ = ["ServiceRegistry", "Services"]


class ServiceRegistry:
    """Every service offered in one bot: name -> providing instance -> object."""

    def __init__(self) -> None:
        self._by_name: dict[str, dict[str, Any]] = {}

    def provide(self, instance: str, name: str, service: object) -> None:
        """Offer ``service`` under ``name`` on behalf of ``instance``."""
        self._by_name.setdefault(name, {})[instance] = service

    def get(self, name: str, provider: str | None = None) -> Any:
        """The service ``name`` (from ``provider`` if given); raises ServiceUnavailable."""
        providers = self._by_name.get(name, {})
        if provider is not None:
            if provider in providers:
                return providers[provider]
        elif providers:
            return next(iter(providers.values()))
        wanted = f"{name!r} from {provider!r}" if provider else repr(name)
        raise ServiceUnavailable(f"no running plugin provides the service {wanted}")

    def withdraw(self, instance: str) -> None:
        """Remove every service ``instance`` provided."""
        for providers in self._by_name.values():
            providers.pop(instance, None)


class Services:
    """One plugin instance's view of the registry."""

    def __init__(self, registry: ServiceRegistry, instance: str) -> None:
        self._registry = registry
        self._instance = instance

    def provide(self, name: str, service: object) -> None:
        """Offer ``service`` to the other plugins until this instance stops."""
        self._registry.provide(self._instance, name, service)

    def get(self, name: str, provider: str | None = None) -> Any:
        """Another plugin's service; raises :class:`ServiceUnavailable` if none runs."""
        return self._registry.get(name, provider)
