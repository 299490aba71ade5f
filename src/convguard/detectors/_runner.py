"""Run a turn's detectors, each failure isolated: in order (sync) or concurrently (async).

The sync path runs detectors one after another in the calling thread; with a
timeout, each runs in a daemon thread that is abandoned when it overruns.
The async path runs async detectors (``adetect``) concurrently, each under
its own timeout; sync detectors run inline in the event loop (fast, no
timeout) or, when asked, in worker threads under the timeout.

Whatever a detector does, raising, hanging or returning garbage, becomes a
:class:`~convguard.DetectorFailure` on the verdict, never an exception.
Findings keep the order of the detectors, so a verdict never depends on which
detector answered first.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, TypeAlias

from .._engine import check_findings, run_detector, storable
from .._errors import ConfigurationError
from .._findings import DetectorFailure, Finding

if TYPE_CHECKING:
    from ._protocols import AsyncDetector, DetectionContext, Detector

__all__ = [
    "SyncMode",
    "arun_detector",
    "arun_detectors",
    "check_timeout",
    "run_detectors",
]

#: How an async guard runs a detector that only has ``detect``.
SyncMode: TypeAlias = Literal["inline", "thread"]

_Outcome: TypeAlias = tuple[Finding, ...] | DetectorFailure


def check_timeout(timeout: object, *, label: str = "detector_timeout") -> float | None:
    """Accept a per-detector timeout in seconds, or ``None`` for none.

    Raises:
        ConfigurationError: For anything but a positive finite number or None.
    """
    if timeout is None:
        return None
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        msg = f"{label} must be a positive number of seconds or None, got {timeout!r}"
        raise ConfigurationError(msg)
    return float(timeout)


def _error(name: str, exc: BaseException) -> DetectorFailure:
    return DetectorFailure(name, "error", storable(f"{type(exc).__name__}: {exc}"))


def _timeout(name: str, timeout: float) -> DetectorFailure:
    return DetectorFailure(name, "timeout", f"no answer within {timeout:g} s")


def _split(outcomes: Sequence[_Outcome]) -> tuple[list[Finding], list[DetectorFailure]]:
    findings: list[Finding] = []
    errors: list[DetectorFailure] = []
    for outcome in outcomes:
        if isinstance(outcome, DetectorFailure):
            errors.append(outcome)
        else:
            findings.extend(outcome)
    return findings, errors


# -- sync ---------------------------------------------------------------------


def _run_in_thread(
    detector: Detector, text: str, context: DetectionContext, timeout: float
) -> _Outcome:
    box: list[_Outcome] = []

    def work() -> None:
        box.append(run_detector(detector, text, context))

    # A daemon thread: one that never returns must not hold up the interpreter's exit.
    worker = threading.Thread(target=work, name=f"convguard:{detector.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if not box:
        return _timeout(detector.name, timeout)
    return box[0]


def run_detectors(
    detectors: Sequence[Detector],
    text: str,
    context: DetectionContext,
    *,
    timeout: float | None = None,
) -> tuple[list[Finding], list[DetectorFailure]]:
    """Run sync detectors in order, isolating each one's failure.

    Args:
        detectors: The detectors, each with ``detect``.
        text: The user's original text.
        context: The turn's detection context.
        timeout: Seconds each detector may take. ``None`` (the fastest) runs
            them in the calling thread; otherwise each runs in a daemon
            thread, and one that overruns is recorded as a timeout and left
            to finish on its own (a thread cannot be stopped).

    Returns:
        The findings, in detector order, and the failures.
    """
    if timeout is None:
        return _split([run_detector(d, text, context) for d in detectors])
    return _split([_run_in_thread(d, text, context, timeout) for d in detectors])


# -- async --------------------------------------------------------------------


async def _aresult(
    detector: AsyncDetector | Detector, text: str, context: DetectionContext, mode: SyncMode
) -> object:
    adetect = getattr(detector, "adetect", None)
    if callable(adetect):
        result = adetect(text, context)
    elif mode == "thread":
        result = await asyncio.to_thread(detector.detect, text, context)  # type: ignore[union-attr]
    else:
        result = detector.detect(text, context)  # type: ignore[union-attr]
    # A plain function returning an awaitable counts as async too.
    if inspect.isawaitable(result):
        result = await result
    return result


async def arun_detector(
    detector: AsyncDetector | Detector,
    text: str,
    context: DetectionContext,
    *,
    detector_timeout: float | None = None,
    sync_detectors: SyncMode = "inline",
) -> tuple[Finding, ...] | DetectorFailure:
    """Run one detector in the event loop, isolating whatever it does.

    ``adetect`` is preferred when a detector has both methods.

    Args:
        detector: A sync or async detector.
        text: The user's original text.
        context: The turn's detection context.
        detector_timeout: Seconds it may take; ``None`` for no limit.
        sync_detectors: ``"inline"`` runs ``detect`` in the event loop (no
            timeout can interrupt it); ``"thread"`` runs it in a worker thread
            under *detector_timeout*.

    Returns:
        Its findings, or the failure that stands for them.
    """
    name = detector.name
    try:
        async with asyncio.timeout(detector_timeout) as scope:
            result = await _aresult(detector, text, context, sync_detectors)
    except TimeoutError as exc:
        # Only our own deadline is a timeout; a detector's own TimeoutError is its error.
        if scope.expired() and detector_timeout is not None:
            return _timeout(name, detector_timeout)
        return _error(name, exc)
    except Exception as exc:  # noqa: BLE001 - a detector's failure is recorded, not raised
        return _error(name, exc)
    return check_findings(name, result)


def _is_inline(detector: object, mode: SyncMode) -> bool:
    return mode == "inline" and not callable(getattr(detector, "adetect", None))


async def arun_detectors(
    detectors: Sequence[AsyncDetector | Detector],
    text: str,
    context: DetectionContext,
    *,
    detector_timeout: float | None = None,
    sync_detectors: SyncMode = "inline",
) -> tuple[list[Finding], list[DetectorFailure]]:
    """Run a turn's detectors concurrently, each under its own timeout.

    Sync detectors run inline first when *sync_detectors* is ``"inline"``
    (they take microseconds; a task would cost more than they do); the rest
    run concurrently with :func:`asyncio.gather`.

    Args:
        detectors: Sync and async detectors alike.
        text: The user's original text.
        context: The turn's detection context.
        detector_timeout: Seconds each detector may take; ``None`` for no limit.
        sync_detectors: See :func:`arun_detector`.

    Returns:
        The findings, in detector order, and the failures.
    """
    outcomes: list[_Outcome | None] = [None] * len(detectors)
    pending: list[int] = []
    for index, detector in enumerate(detectors):
        if _is_inline(detector, sync_detectors):
            outcomes[index] = run_detector(detector, text, context)  # type: ignore[arg-type]
        else:
            pending.append(index)
    if len(pending) == 1:
        (index,) = pending
        outcomes[index] = await arun_detector(
            detectors[index],
            text,
            context,
            detector_timeout=detector_timeout,
            sync_detectors=sync_detectors,
        )
    elif pending:
        results = await asyncio.gather(
            *(
                arun_detector(
                    detectors[i],
                    text,
                    context,
                    detector_timeout=detector_timeout,
                    sync_detectors=sync_detectors,
                )
                for i in pending
            )
        )
        for index, outcome in zip(pending, results, strict=True):
            outcomes[index] = outcome
    return _split([o for o in outcomes if o is not None])
