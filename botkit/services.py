"""Services: objects one plugin instance offers to the others, found by a typed key.

A :class:`ServiceKey` pairs a service's name with the type its object must have: a
class, or a ``runtime_checkable`` :class:`~typing.Protocol` when the consumer must not
import the provider's code (plugins are imported afresh on reload, so their classes
change identity; a Protocol does not)::

    @runtime_checkable
    class PingRanking(Protocol):
        async def ranking_markdown(self, room_id: str, *, top: int = 10) -> str: ...

    PING_STATS = ServiceKey("ping-stats", PingRanking)

The provider calls ``self.services.provide(PING_STATS, obj)`` in ``start``, which
refuses an object that is not a ``PingRanking``; a consumer calls
``self.services.get(PING_STATS)`` (a ``PingRanking``, or :class:`ServiceUnavailable`)
or ``get_optional`` (None when no running instance offers it). Provider and consumer
may each declare their own key: the name joins them, and each side's type is checked
on its side. Several instances may offer the same service (two echo instances, say):
``get`` then returns the one that started first, or the one named by ``provider``.
What an instance provided is withdrawn when it stops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from .errors import ServiceUnavailable

__all__ = ["ServiceKey", "ServiceRegistry", "Services"]

T = TypeVar("T")


class ServiceKey(Generic[T]):
    """A service's name and the type (class or runtime-checkable Protocol) of its object."""

    # Callable rather than type[T]: mypy accepts a Protocol class only so.
    def __init__(self, name: str, kind: Callable[..., T]) -> None:
        if not isinstance(kind, type):
            raise TypeError(f"service {name!r}: {kind!r} is not a class")
        try:
            isinstance(None, kind)
        except TypeError as e:  # a Protocol without @runtime_checkable
            raise TypeError(f"service {name!r}: {kind.__name__} must be runtime_checkable") from e
        self.name = name
        self.kind: type[Any] = kind

    def fits(self, service: object) -> bool:
        """Whether ``service`` has the key's type (a Protocol: has its methods)."""
        return isinstance(service, self.kind)

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r}, {self.kind.__name__})"


class ServiceRegistry:
    """Every service offered in one bot: name -> providing instance -> object."""

    def __init__(self) -> None:
        self._by_name: dict[str, dict[str, object]] = {}

    def provide(self, instance: str, key: ServiceKey[T], service: T) -> None:
        """Offer ``service`` under ``key`` on behalf of ``instance``; a ``service`` that is
        not of the key's type is refused with :class:`TypeError` naming both."""
        if not key.fits(service):
            raise TypeError(
                f"instance {instance!r} offers service {key.name!r} as a "
                f"{type(service).__name__}, which is not a {key.kind.__name__}"
            )
        self._by_name.setdefault(key.name, {})[instance] = service

    def get(self, key: ServiceKey[T], provider: str | None = None) -> T:
        """The service ``key`` (from ``provider`` if given); raises
        :class:`ServiceUnavailable` when no running instance offers it as the key's type."""
        providers = self._by_name.get(key.name, {})
        wanted = f"{key.name!r} from {provider!r}" if provider else repr(key.name)
        if provider is None and providers:
            provider = next(iter(providers))
        if provider not in providers:
            raise ServiceUnavailable(f"no running plugin provides the service {wanted}")
        service = providers[provider]
        if not key.fits(service):
            raise ServiceUnavailable(
                f"the service {wanted} is a {type(service).__name__}, not a {key.kind.__name__}"
            )
        return cast(T, service)  # key.fits checked it just above

    def get_optional(self, key: ServiceKey[T], provider: str | None = None) -> T | None:
        """The service ``key`` as :meth:`get` finds it, or None when no instance offers it."""
        if key.name not in self._by_name or not self._by_name[key.name]:
            return None
        if provider is not None and provider not in self._by_name[key.name]:
            return None
        return self.get(key, provider)

    def withdraw(self, instance: str) -> None:
        """Remove every service ``instance`` provided."""
        for providers in self._by_name.values():
            providers.pop(instance, None)


class Services:
    """One plugin instance's view of the registry."""

    def __init__(self, registry: ServiceRegistry, instance: str) -> None:
        self._registry = registry
        self._instance = instance

    def provide(self, key: ServiceKey[T], service: T) -> None:
        """Offer ``service`` to the other plugins until this instance stops; raises
        :class:`TypeError` if it is not of the key's type."""
        self._registry.provide(self._instance, key, service)

    def get(self, key: ServiceKey[T], provider: str | None = None) -> T:
        """Another plugin's service; raises :class:`ServiceUnavailable` if none runs."""
        return self._registry.get(key, provider)

    def get_optional(self, key: ServiceKey[T], provider: str | None = None) -> T | None:
        """Another plugin's service, or None if no running instance offers it."""
        return self._registry.get_optional(key, provider)
