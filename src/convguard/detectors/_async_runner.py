"""Run a turn's detectors concurrently, each under its own timeout (the asyncio guard).

Async detectors (``adetect``) run concurrently; sync detectors run inline in
the event loop (fast, no timeout) or, when asked, in worker threads under
the timeout. Only :class:`~convguard.AsyncGuard` imports this module, so a
sync guard never loads asyncio. Failures are isolated as in ``_runner.py``,
and findings keep the order of the detectors.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, TypeAlias

from ._runner import Outcome, check_findings, error, run_detector, split, timed_out

if TYPE_CHECKING:
    from .._findings import DetectorFailure, Finding
    from ._protocols import AsyncDetector, DetectionContext, Detector

__all__ = ["SyncMode", "arun_detector", "arun_detectors"]

#: How an async guard runs a detector that only has ``detect``.
SyncMode: TypeAlias = Literal["inline", "thread"]


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
            return timed_out(name, detector_timeout)
        return error(name, exc)
    except Exception as exc:  # noqa: BLE001 - a detector's failure is recorded, not raised
        return error(name, exc)
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
    outcomes: list[Outcome | None] = [None] * len(detectors)
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
    return split([o for o in outcomes if o is not None])
