"""Where conversations live: in memory, SQLite, or PostgreSQL.

Every store implements the :class:`Store` protocol; pick one with
``Guard(store=...)``. See ``docs/storage.md``.
"""

from ._base import ConversationInfo, Feedback, Head, Store
from ._memory import MemoryStore

__all__ = ["ConversationInfo", "Feedback", "Head", "MemoryStore", "Store"]
