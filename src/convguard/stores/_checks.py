"""Which protocol a store plug-in implements, checked when a guard is built."""

from __future__ import annotations

import inspect

from .._errors import ConfigurationError
from ._store import Store
from ._store_async import AsyncStore

__all__ = ["check_store", "is_async_store"]


def is_async_store(store: object) -> bool:
    """Whether *store* implements :class:`AsyncStore`: the protocol's methods are coroutines."""
    return isinstance(store, AsyncStore) and inspect.iscoroutinefunction(store.append)


def check_store(store: object) -> Store:
    """Check a sync store plug-in.

    Raises:
        ConfigurationError: For an object that does not implement the Store
            protocol, or an :class:`AsyncStore`, which only ``AsyncGuard`` awaits.
    """
    if is_async_store(store):
        msg = f"store {store!r} is an AsyncStore (its calls are awaited): use it with AsyncGuard"
        raise ConfigurationError(msg)
    if not isinstance(store, Store):
        msg = f"store {store!r} does not implement the Store protocol"
        raise ConfigurationError(msg)
    return store
