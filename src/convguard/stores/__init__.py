"""Where conversations live: in memory, SQLite, or PostgreSQL.

Every store implements the :class:`Store` protocol; pick one with
``Guard(store=...)``. :class:`AsyncStore` is the same protocol awaited, for
stores with native asyncio I/O that ``AsyncGuard`` calls without threads.
:class:`PostgresStore` imports its driver (the ``postgres`` extra) only when
one is built. See ``docs/storage.md``.
"""

from ._base import ConversationInfo, ConversationPage, Feedback, Head
from ._memory import MemoryStore
from ._postgres import PostgresStore
from ._sqlite import SQLiteStore
from ._store import Store
from ._store_async import AsyncStore

__all__ = [
    "AsyncStore",
    "ConversationInfo",
    "ConversationPage",
    "Feedback",
    "Head",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "Store",
]

# Reprs and docs show the public path (convguard.stores.X, not a private
# module's), as convguard/__init__.py does for the top-level names.
for _name in __all__:
    _obj = globals().get(_name)
    if getattr(_obj, "__module__", "").startswith(f"{__name__}._"):
        _obj.__module__ = __name__
del _name, _obj


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
