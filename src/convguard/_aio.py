"""``AsyncGuard`` and ``AsyncConversation``: the asyncio front end.

The same turn as :class:`~convguard.Guard`: the shared methods are in
``_front_async.py`` and ``AsyncConversation`` in ``_conversation_async.py``,
the sources ``scripts/unasync.py`` writes the sync front end from. What is
particular to asyncio is here: detectors run concurrently, each under a
timeout, and the store is awaited: natively when it is an
:class:`~convguard.AsyncStore`, else through worker threads
(``_store_threads.py``).

Everything that reads or writes the store is a coroutine, the active tip,
the state and the ``ended`` and ``closed`` flags included: they are methods
(``await conv.ended()``), so that forgetting ``await`` is a type error rather
than an always-true value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, final

from ._conversation_async import AsyncConversation
from ._engine import Engine
from ._errors import ConfigurationError
from ._front_async import _AsyncGuardBase
from ._policy import LastResortPolicy, Policy
from ._store_threads import StoreInThreads, awaitable_store
from .detectors._async_runner import SyncMode, arun_detectors
from .detectors._builtin import default_detectors
from .detectors._runner import check_detectors, check_timeout
from .stores._memory import MemoryStore

if TYPE_CHECKING:
    from ._findings import DetectorFailure, Finding
    from ._tree import Message
    from .detectors._protocols import AsyncDetector, DetectionContext, Detector
    from .stores._store import Store
    from .stores._store_async import AsyncStore

__all__ = ["AsyncConversation", "AsyncGuard"]


@final
class AsyncGuard(_AsyncGuardBase):
    """Keep conversations and judge every user turn, with awaitables.

    The asyncio twin of :class:`~convguard.Guard`: the same options, the
    same verdicts, the same stores. Detectors may be sync (``detect``) or
    async (``adetect``, preferred when a detector has both); async ones run
    concurrently, each cut off after *detector_timeout* seconds. A detector
    that raises or times out is recorded on ``verdict.errors`` and never
    causes an END.

    Args:
        detectors: The detectors run on every user turn;
            :func:`~convguard.default_detectors` when omitted.
        policy: Decides each turn; :class:`~convguard.LastResortPolicy` with
            default options when omitted.
        store: Where conversations live; a new
            :class:`~convguard.MemoryStore` when omitted. An
            :class:`~convguard.AsyncStore` (``AsyncPostgresStore``) is
            awaited directly; a sync :class:`~convguard.Store` is called in
            worker threads (see *blocking_store*).
        detector_timeout: Seconds each async (or threaded) detector may take
            per turn; ``None`` for no limit.
        sync_detectors: ``"inline"`` (default) runs sync detectors in the
            event loop: the built-ins take microseconds, less than a thread
            hop, but no timeout can interrupt them. ``"thread"`` runs each
            in a worker thread under *detector_timeout*, for slow or blocking
            sync detectors.
        blocking_store: Call a sync store through :func:`asyncio.to_thread`.
            ``None`` (default) decides by type: a :class:`~convguard.MemoryStore`
            is called directly (it never blocks), any other store in a
            thread. Pass ``False`` for a custom store that never blocks.
            Ignored for an :class:`~convguard.AsyncStore`.

    The other options (``clock``, ``ids``, ``max_message_chars``,
    ``history_window``, ``max_retries``, ``locale``) are those of
    :class:`~convguard.Guard`.

    Raises:
        ConfigurationError: For a detector, policy or store that does not fit
            its protocol, or a bad option.
    """

    __slots__ = (
        "_detectors",
        "_engine",
        "_given",
        "_locale",
        "_store",
        "_sync_detectors",
        "_timeout",
    )

    def __init__(  # noqa: PLR0913 - keyword options of the one front door
        self,
        detectors: Iterable[Detector | AsyncDetector] | None = None,
        policy: Policy | None = None,
        store: Store | AsyncStore | None = None,
        *,
        detector_timeout: float | None = 2.0,
        sync_detectors: SyncMode = "inline",
        blocking_store: bool | None = None,
        clock: Callable[[], datetime] | None = None,
        ids: Callable[[], str] | None = None,
        max_message_chars: int = 100_000,
        history_window: int = 20,
        max_retries: int = 16,
        locale: str | None = None,
    ) -> None:
        """Assemble a guard; see the class docstring for the options."""
        if detectors is None:
            detectors = default_detectors()
        self._detectors = check_detectors(detectors, allow_async=True)
        self._engine = Engine(
            LastResortPolicy() if policy is None else policy,
            clock=clock,
            ids=ids,
            max_message_chars=max_message_chars,
            history_window=history_window,
            max_retries=max_retries,
        )
        self._timeout = check_timeout(detector_timeout)
        if sync_detectors not in ("inline", "thread"):
            msg = f"sync_detectors must be 'inline' or 'thread', not {sync_detectors!r}"
            raise ConfigurationError(msg)
        self._sync_detectors: SyncMode = sync_detectors
        self._given = MemoryStore() if store is None else store
        self._store = awaitable_store(self._given, blocking=blocking_store)
        self._locale = locale

    def __repr__(self) -> str:
        """Show the plug-ins."""
        names = ", ".join(d.name for d in self._detectors)
        return (
            f"<AsyncGuard detectors=[{names}] policy={self.policy!r} store={self._given!r} "
            f"detector_timeout={self._timeout!r}>"
        )

    @property
    def store(self) -> Store | AsyncStore:
        """Where conversations live: the store given (or the ``MemoryStore`` made)."""
        return self._given

    @property
    def detectors(self) -> tuple[Detector | AsyncDetector, ...]:
        """The detectors run on every user turn."""
        return self._detectors

    @property
    def detector_timeout(self) -> float | None:
        """Seconds each async or threaded detector may take per turn."""
        return self._timeout

    # -- the I/O of a turn: what the shared methods of the base call ------------

    async def _detect(
        self, text: str, context: DetectionContext
    ) -> tuple[list[Finding], list[DetectorFailure]]:
        return await arun_detectors(
            self._detectors,
            text,
            context,
            detector_timeout=self._timeout,
            sync_detectors=self._sync_detectors,
        )

    async def _history(
        self, conversation_id: str, parent: Message | None
    ) -> Sequence[Message] | Callable[[], Sequence[Message]]:
        window = self._engine.history_window
        if parent is None or window == 0:
            return ()
        store = self._store
        # A store that never blocks is read lazily, only if a detector asks;
        # any other is read up front, so that no detector blocks the event
        # loop by touching context.history.
        if isinstance(store, StoreInThreads) and not store.blocking:
            sync = store.store

            def read() -> list[Message]:
                out = sync.ancestors(conversation_id, parent.id, window)
                out.reverse()
                return out

            return read
        out = await store.ancestors(conversation_id, parent.id, window)
        out.reverse()
        return out
