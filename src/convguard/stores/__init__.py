"""Where conversations live: in memory, SQLite, or PostgreSQL.

Every store implements the :class:`Store` protocol; pick one with
``Guard(store=...)``. :class:`AsyncStore` is the same protocol awaited, for
stores with native asyncio I/O that ``AsyncGuard`` calls without threads:
:class:`AsyncPostgresStore` is one. The PostgreSQL stores import their driver
(the ``postgres`` extra) only when one is built, and ``AsyncPostgresStore``
(with asyncio) is imported on first use. See ``docs/storage.md``.
"""

from typing import TYPE_CHECKING

from ._base import ConversationInfo, ConversationPage, Feedback, Head
from ._memory import MemoryStore
from ._postgres import PostgresStore
from ._sqlite import SQLiteStore
from ._store import Store
from ._store_async import AsyncStore

if TYPE_CHECKING:
    from ._postgres_aio import AsyncPostgresStore

__all__ = [
    "AsyncPostgresStore",
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


def _show_public(obj: object) -> None:
    """Make reprs and docs show the public path (convguard.stores.X), not a private module's."""
    if getattr(obj, "__module__", "").startswith(f"{__name__}._"):
        obj.__module__ = __name__


# As convguard/__init__.py does for the top-level names.
for _name in __all__:
    _show_public(globals().get(_name))
del _name


def __getattr__(name: str) -> object:
    """Import ``AsyncPostgresStore`` (and asyncio with it) on its first use."""
    if name == "AsyncPostgresStore":
        from ._postgres_aio import AsyncPostgresStore  # noqa: PLC0415 - on first use

        # A top-level name too: shown as convguard.AsyncPostgresStore, as
        # PostgresStore is, whichever package imports it first.
        AsyncPostgresStore.__module__ = "convguard"
        globals()[name] = AsyncPostgresStore  # later lookups find it without this function
        return AsyncPostgresStore
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
