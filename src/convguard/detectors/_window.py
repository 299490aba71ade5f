"""``WindowDetector``: catch a request split across several user turns."""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, final

import attrs

from .._errors import ConfigurationError, DetectorError
from .._findings import Evidence, Finding
from .._tree import Role
from ._protocols import DetectionContext

if TYPE_CHECKING:
    from ._protocols import AsyncDetector, Detector

__all__ = ["WindowDetector"]

_SEPARATOR: Final = "\n"


@final
@attrs.frozen
class _Memo:
    text: str
    findings: tuple[Finding, ...]
    #: Categories found without evidence: a follow-up turn does not report them again.
    unplaced: frozenset[str]


@final
class WindowDetector:
    """Run a detector over the last *turns* user messages joined.

    A request split across turns ("how do I make" … "a device that" …) is
    invisible to a detector that reads one message at a time. This one joins
    the branch's last ``turns - 1`` user messages (from ``context.history``)
    and the current one with newlines, and runs *inner* over that text.

    Only what the current message adds is reported, so no message is
    counted twice against the user:

    - a finding whose evidence lies in the current message is kept, its span
      clipped and moved onto the current message's offsets;
    - one whose evidence lies wholly in earlier messages is dropped (those
      were judged on their own turn);
    - one without evidence, or whose evidence is the whole window (a
      classifier's answer about all of it), is kept unless the window ending
      at the previous user turn found the same category.

    With ``across_only=True`` it reports only what needs the earlier turns:
    a finding whose evidence starts in an earlier message and reaches into
    the current one. The plain detector beside it reports the rest, so no
    finding is made twice, and a turn without an earlier user message is not
    read again at all. A finding without evidence is dropped, and one whose
    evidence is the whole window is taken at its word: this suits detectors
    that give precise evidence, such as the lexicon. The built-in set
    (:func:`default_detectors`) uses it this way for the protective
    categories.

    Findings are memoized per message id in a bounded LRU, so replaying or
    re-judging a node never runs *inner* again, and the previous turn's
    findings are read from the memo, never recomputed from its history. Use
    it beside the plain detector, not instead of it. Under
    :class:`~convguard.AsyncGuard` it is awaited: an async inner detector
    through its ``adetect``, a sync one inline in the event loop.

    Args:
        inner: Any detector (sync ``detect`` or async ``adetect``).
        turns: How many user messages the window holds, the current one
            included (at least 2).
        name: The detector's name; ``"window(<inner name>)"`` by default.
            The findings carry it.
        cache_size: How many messages' findings the memo keeps.
        across_only: Report only findings whose evidence spans earlier
            messages and the current one; skip turns with no earlier user
            message.
        gate: Called with the window's user messages (the earlier ones, then
            the current one) before *inner* runs; when it returns false the
            window is not read this turn. For a cheap test that spares most
            turns the cost of reading several messages again.

    Raises:
        ConfigurationError: For an inner object that is not a detector, or a
            bad option.
    """

    __slots__ = ("_lock", "_memo", "across_only", "cache_size", "gate", "inner", "name", "turns")

    def __init__(  # noqa: PLR0913 - options after the star, each with a default
        self,
        inner: Detector | AsyncDetector,
        *,
        turns: int = 3,
        name: str | None = None,
        cache_size: int = 4096,
        across_only: bool = False,
        gate: Callable[[Sequence[str]], bool] | None = None,
    ) -> None:
        """Wrap *inner*."""
        inner_name = getattr(inner, "name", None)
        if not isinstance(inner_name, str) or not inner_name:
            msg = f"inner detector {inner!r} needs a non-empty string attribute 'name'"
            raise ConfigurationError(msg)
        if not (
            callable(getattr(inner, "detect", None)) or callable(getattr(inner, "adetect", None))
        ):
            msg = f"inner detector {inner_name!r} has no detect() or adetect() method"
            raise ConfigurationError(msg)
        for label, value, low in (("turns", turns, 2), ("cache_size", cache_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                msg = f"{label} must be an integer >= {low}, got {value!r}"
                raise ConfigurationError(msg)
        if name is not None and (not isinstance(name, str) or not name):
            msg = f"name must be a non-empty str, not {name!r}"
            raise ConfigurationError(msg)
        self.inner = inner
        self.turns = turns
        self.name = name or f"window({inner_name})"
        self.cache_size = cache_size
        self.across_only = bool(across_only)
        if gate is not None and not callable(gate):
            msg = f"gate must be callable, not {gate!r}"
            raise ConfigurationError(msg)
        self.gate = gate
        self._memo: OrderedDict[tuple[str, str], _Memo] = OrderedDict()
        # Guards serving several threads share one detector, and so one memo.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Show the inner detector and the window."""
        across = ", across_only=True" if self.across_only else ""
        return f"WindowDetector({self.inner!r}, turns={self.turns}{across})"

    # -- the window ------------------------------------------------------------

    def _earlier(self, context: DetectionContext) -> list[str]:
        users = [m for m in context.history if m.role is Role.USER]
        return [m.content for m in users[-(self.turns - 1) :]]

    def _skip(self, text: str, context: DetectionContext) -> bool:
        """Return whether this turn's window need not be read at all."""
        if not (self.across_only or self.gate):
            return False
        earlier = self._earlier(context)
        if self.across_only and not earlier:
            return True
        return self.gate is not None and not self.gate([*earlier, text])

    def _previous_unplaced(self, context: DetectionContext) -> frozenset[str]:
        for message in reversed(context.history):
            if message.role is Role.USER:
                with self._lock:
                    memo = self._memo.get((context.conversation_id, message.id))
                return frozenset() if memo is None else memo.unplaced
        return frozenset()

    def _cached(self, text: str, context: DetectionContext) -> _Memo | None:
        key = (context.conversation_id, context.message_id)
        with self._lock:
            memo = self._memo.get(key)
            if memo is None or memo.text != text:
                return None
            self._memo.move_to_end(key)
            return memo

    def _remember(self, context: DetectionContext, memo: _Memo) -> None:
        key = (context.conversation_id, context.message_id)
        with self._lock:
            self._memo[key] = memo
            self._memo.move_to_end(key)
            while len(self._memo) > self.cache_size:
                self._memo.popitem(last=False)

    def _window(self, text: str, context: DetectionContext) -> tuple[str, int, DetectionContext]:
        earlier = self._earlier(context)
        joined = _SEPARATOR.join([*earlier, text])
        offset = len(joined) - len(text)
        window = DetectionContext(
            joined,
            conversation_id=context.conversation_id,
            message_id=context.message_id,
            history=context.history,
        )
        return joined, offset, window

    def _place(self, evidence: Evidence, text: str, offset: int) -> Evidence | None:
        """Return *evidence* moved onto the current message, or ``None`` to drop it."""
        if evidence.end <= offset and not (evidence.start == evidence.end == offset):
            return None  # wholly in earlier messages: judged on its own turn
        if self.across_only and evidence.start >= offset:
            return None  # wholly in the current message: the plain detector's
        start = max(evidence.start - offset, 0)
        end = min(max(evidence.end - offset, start), len(text))
        return Evidence(min(start, end), end, evidence.term)

    def _keep(self, result: object, text: str, offset: int, context: DetectionContext) -> _Memo:
        total = offset + len(text)
        if isinstance(result, Finding):
            result = (result,)
        if not isinstance(result, Sequence) or isinstance(result, str | bytes):
            msg = f"inner detector returned {type(result).__name__}, not a sequence of findings"
            raise DetectorError(self.name, msg)
        previous = self._previous_unplaced(context)
        kept: list[Finding] = []
        unplaced: set[str] = set()
        for finding in result:
            if not isinstance(finding, Finding):
                msg = f"inner detector returned a {type(finding).__name__} among its findings"
                raise DetectorError(self.name, msg)
            evidence = finding.evidence
            if evidence is None and self.across_only:
                continue  # no place: it cannot be shown to reach back
            whole = evidence is not None and evidence.start == 0 and evidence.end >= total
            if evidence is None or (whole and not self.across_only):
                # A classifier's verdict on the whole window: no place to pin it on.
                unplaced.add(finding.category)
                if finding.category in previous:
                    continue
                if evidence is not None:
                    evidence = Evidence(0, len(text), evidence.term)
            else:
                evidence = self._place(evidence, text, offset)
                if evidence is None:
                    continue
            kept.append(attrs.evolve(finding, detector=self.name, evidence=evidence))
        return _Memo(text, tuple(kept), frozenset(unplaced))

    # -- the detector protocols -------------------------------------------------

    def detect(self, text: str, context: DetectionContext) -> Sequence[Finding]:
        """Run the inner detector over the window ending at *text*.

        Raises:
            DetectorError: When the inner detector is async only (use
                :class:`~convguard.AsyncGuard`) or returns something that is
                not a sequence of findings.
        """
        if self.across_only and not context.history:
            return ()  # a first turn: nothing earlier to reach back into
        memo = self._cached(text, context)
        if memo is not None:
            return memo.findings
        if self._skip(text, context):
            return ()
        detect = getattr(self.inner, "detect", None)
        if not callable(detect):
            msg = "the inner detector is async only: use it with AsyncGuard"
            raise DetectorError(self.name, msg)
        joined, offset, window = self._window(text, context)
        result = detect(joined, window)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            msg = "the inner detector's detect() is async: use it with AsyncGuard"
            raise DetectorError(self.name, msg)
        memo = self._keep(result, text, offset, context)
        self._remember(context, memo)
        return memo.findings

    async def adetect(self, text: str, context: DetectionContext) -> Sequence[Finding]:
        """Run the inner detector (``adetect`` if it has one) over the window.

        Raises:
            DetectorError: When the inner detector returns something that is
                not a sequence of findings.
        """
        if self.across_only and not context.history:
            return ()  # a first turn: nothing earlier to reach back into
        memo = self._cached(text, context)
        if memo is not None:
            return memo.findings
        if self._skip(text, context):
            return ()
        joined, offset, window = self._window(text, context)
        adetect = getattr(self.inner, "adetect", None)
        result = (adetect if callable(adetect) else self.inner.detect)(joined, window)  # type: ignore[union-attr]
        if inspect.isawaitable(result):
            result = await result
        memo = self._keep(result, text, offset, context)
        self._remember(context, memo)
        return memo.findings
