"""The detector protocols and the context a detector sees."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, final, runtime_checkable

from .._findings import Finding
from ._normalize import NormalizedText, normalize

if TYPE_CHECKING:
    from .._tree import Message

__all__ = ["AsyncDetector", "DetectionContext", "Detector"]


@final
class DetectionContext:
    """What a detector knows about a turn besides its text.

    The normalized (de-obfuscated) view is computed at most once per turn,
    on first use, and shared by every detector; the branch history is read
    from the store on first use, bounded by the guard's ``history_window``.

    Args:
        text: The user's original text.
        conversation_id: The conversation.
        message_id: The id the user message will be stored under.
        history: The earlier messages of the branch, oldest first, or a
            function that returns them (called at most once).
        normalizer: The function that computes the normalized view.
    """

    __slots__ = (
        "_history",
        "_history_source",
        "_normalized",
        "_normalizer",
        "conversation_id",
        "message_id",
        "text",
    )

    def __init__(
        self,
        text: str,
        *,
        conversation_id: str = "",
        message_id: str = "",
        history: Sequence[Message] | Callable[[], Sequence[Message]] = (),
        normalizer: Callable[[str], NormalizedText] | None = None,
    ) -> None:
        """Describe one turn."""
        self.text = text
        self.conversation_id = conversation_id
        self.message_id = message_id
        self._normalizer = normalizer
        self._normalized: NormalizedText | None = None
        self._history: tuple[Message, ...] | None = None
        self._history_source = history

    def __repr__(self) -> str:
        """Show the ids and the text length."""
        return (
            f"<DetectionContext conversation={self.conversation_id!r} "
            f"message={self.message_id!r} chars={len(self.text)}>"
        )

    @property
    def normalized(self) -> NormalizedText:
        """The de-obfuscated view of the text, with a map back to offsets."""
        if self._normalized is None:
            normalizer = self._normalizer
            if normalizer is None:
                normalizer = normalize
            self._normalized = normalizer(self.text)
        return self._normalized

    @property
    def history(self) -> tuple[Message, ...]:
        """The earlier messages of the branch, oldest first (bounded window)."""
        if self._history is None:
            source = self._history_source
            self._history = tuple(source() if callable(source) else source)
        return self._history

    def _read_history(self) -> tuple[Message, ...] | None:
        """The history if it is known without a read (given, or read by a detector)."""
        if self._history is None and not callable(self._history_source):
            return tuple(self._history_source)
        return self._history


@runtime_checkable
class Detector(Protocol):
    """**Protocol:** finds harm in one user message.

    A detector is anything with a ``name`` and a ``detect`` method; a plain
    object qualifies. It reads the user's original *text* and, usually,
    ``context.normalized`` for the de-obfuscated view. It returns the
    findings it makes (an empty sequence when none). Raising is allowed: the
    guard records the failure on the verdict and never ends a branch for it.
    """

    @property
    def name(self) -> str:
        """A short name, shown in findings and reasons."""
        ...

    def detect(self, text: str, context: DetectionContext) -> Sequence[Finding]:
        """Return the findings for *text*."""
        ...


@runtime_checkable
class AsyncDetector(Protocol):
    """**Protocol:** a detector whose ``adetect`` is a coroutine.

    :class:`~convguard.AsyncGuard` runs these concurrently with a timeout.
    """

    @property
    def name(self) -> str:
        """A short name, shown in findings and reasons."""
        ...

    async def adetect(self, text: str, context: DetectionContext) -> Sequence[Finding]:
        """Return the findings for *text*."""
        ...
