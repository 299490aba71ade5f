"""``Guard`` and ``Conversation``: the synchronous front end.

The shared methods are in ``_front_sync.py`` and ``Conversation`` in
``_conversation.py``, which ``scripts/unasync.py`` writes from the asyncio
sources ``_front_async.py`` and ``_conversation_async.py``: edit those.
What is particular to the sync front end is here: detectors run in the
calling thread (or, with a timeout, in daemon threads), and the
store is called directly.

One user turn flows one way: read the head from the store, refuse if the
branch is ended, run the detectors (each failure isolated), step the policy,
append with compare-and-set, return the verdict. When another writer got in
first, the turn is re-read and re-evaluated, a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, final

from ._conversation import Conversation
from ._engine import Engine
from ._front_sync import _GuardBase
from ._policy import LastResortPolicy, Policy
from .detectors._builtin import default_detectors
from .detectors._runner import check_detectors, check_timeout, run_detectors
from .stores._checks import check_store
from .stores._memory import MemoryStore
from .stores._store import Store

if TYPE_CHECKING:
    from ._findings import DetectorFailure, Finding
    from ._tree import Message
    from .detectors._protocols import DetectionContext, Detector

__all__ = ["Conversation", "Guard"]


@final
class Guard(_GuardBase):
    """Keep conversations and judge every user turn.

    Args:
        detectors: The detectors run on every user turn, in order;
            :func:`~convguard.default_detectors` when omitted.
        policy: Decides each turn; :class:`~convguard.LastResortPolicy` with
            default options when omitted.
        store: Where conversations live; a new
            :class:`~convguard.MemoryStore` when omitted.
        clock: Returns the current time (timezone-aware); injectable for tests.
        ids: Returns a new unique id; injectable for tests.
        max_message_chars: Longer texts are refused with
            :class:`~convguard.InvalidMessageError`.
        history_window: How many earlier messages of the branch a detector
            can see in ``context.history``.
        max_retries: How often a turn is re-evaluated when another writer
            changed the conversation first, before
            :class:`~convguard.StoreConflictError`.
        locale: Default locale of new conversations, for support resources.
        detector_timeout: Seconds each detector may take; one that overruns
            runs on in a daemon thread and is recorded as a timeout on the
            verdict. ``None`` (the default) runs detectors in the calling
            thread without a limit, the fastest path.

    Raises:
        ConfigurationError: For a detector, policy or store that does not fit
            its protocol, or a bad limit.
    """

    __slots__ = ("_detectors", "_engine", "_locale", "_store", "_timeout")

    def __init__(  # noqa: PLR0913 - keyword options of the one front door
        self,
        detectors: Iterable[Detector] | None = None,
        policy: Policy | None = None,
        store: Store | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        ids: Callable[[], str] | None = None,
        max_message_chars: int = 100_000,
        history_window: int = 20,
        max_retries: int = 16,
        locale: str | None = None,
        detector_timeout: float | None = None,
    ) -> None:
        """Assemble a guard; see the class docstring for the options."""
        if detectors is None:
            detectors = default_detectors()
        self._detectors: tuple[Detector, ...] = check_detectors(  # type: ignore[assignment]
            detectors, allow_async=False
        )
        self._engine = Engine(
            LastResortPolicy() if policy is None else policy,
            clock=clock,
            ids=ids,
            max_message_chars=max_message_chars,
            history_window=history_window,
            max_retries=max_retries,
        )
        self._store = check_store(MemoryStore() if store is None else store)
        self._locale = locale
        self._timeout = check_timeout(detector_timeout)

    def __repr__(self) -> str:
        """Show the plug-ins."""
        names = ", ".join(d.name for d in self._detectors)
        return f"<Guard detectors=[{names}] policy={self.policy!r} store={self._store!r}>"

    @property
    def store(self) -> Store:
        """Where conversations live."""
        return self._store

    @property
    def detectors(self) -> tuple[Detector, ...]:
        """The detectors run on every user turn."""
        return self._detectors

    @property
    def detector_timeout(self) -> float | None:
        """Seconds each detector may take per turn; ``None`` for no limit."""
        return self._timeout

    # -- the I/O of a turn: what the shared methods of the base call ------------

    def _detect(
        self, text: str, context: DetectionContext
    ) -> tuple[list[Finding], list[DetectorFailure]]:
        return run_detectors(self._detectors, text, context, timeout=self._timeout)

    def _history(self, conversation_id: str, parent: Message | None) -> Callable[[], list[Message]]:
        window = self._engine.history_window
        store = self._store

        def read() -> list[Message]:
            if parent is None or window == 0:
                return []
            out = store.ancestors(conversation_id, parent.id, window)
            out.reverse()
            return out

        return read
