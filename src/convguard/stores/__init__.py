"""Where conversations live: in memory, SQLite, or PostgreSQL.

Every store implements the :class:`Store` protocol; pick one with
``Guard(store=...)``. :class:`PostgresStore` imports its driver (the
``postgres`` extra) only when one is built. See ``docs/storage.md``.
"""

from ._base import ConversationInfo, ConversationPage, Feedback, Head, Store
from ._memory import MemoryStore
from ._postgres import PostgresStore
from ._sqlite import SQLiteStore

__all__ = [
    "ConversationInfo",
    "ConversationPage",
    "Feedback",
    "Head",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "Store",
]


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
