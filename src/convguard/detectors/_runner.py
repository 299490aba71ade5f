"""Check detectors and run a turn's detectors in order, each failure isolated.

A detector is checked when a guard is built (:func:`check_detectors`), and
its result on every turn (:func:`check_findings`). :func:`run_detectors`
runs them one after another in the calling thread; with a timeout, each runs
in a daemon thread that is abandoned when it overruns. The asyncio runner is
in ``_async_runner.py``, so that a sync guard never imports asyncio.

Whatever a detector does, raising, hanging or returning garbage, becomes a
:class:`~convguard.DetectorFailure` on the verdict, never an exception.
Findings keep the order of the detectors, so a verdict never depends on which
detector answered first.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TypeAlias

from .._errors import ConfigurationError
from .._findings import DetectorFailure, Finding

if TYPE_CHECKING:
    from ._protocols import AsyncDetector, DetectionContext, Detector

__all__ = [
    "check_detectors",
    "check_findings",
    "check_timeout",
    "run_detector",
    "run_detectors",
    "storable",
]

Outcome: TypeAlias = tuple[Finding, ...] | DetectorFailure


def check_detectors(
    detectors: Iterable[object], *, allow_async: bool
) -> tuple[Detector | AsyncDetector, ...]:
    """Check plug-ins when they are registered, with errors that name them.

    Raises:
        ConfigurationError: For an object that is not a detector, or two
            detectors with one name.
    """
    if isinstance(detectors, str | bytes) or not isinstance(detectors, Iterable):
        msg = f"detectors must be an iterable of detectors, not {type(detectors).__name__}"
        raise ConfigurationError(msg)
    checked: list[Detector | AsyncDetector] = []
    names: set[str] = set()
    for detector in detectors:
        name = getattr(detector, "name", None)
        if not isinstance(name, str) or not name or storable(name) != name:
            msg = (
                f"detector {detector!r} needs a non-empty string attribute 'name' "
                "(without NUL or lone surrogates)"
            )
            raise ConfigurationError(msg)
        sync_ok = callable(getattr(detector, "detect", None))
        async_ok = allow_async and callable(getattr(detector, "adetect", None))
        if not (sync_ok or async_ok):
            wanted = "detect() or adetect()" if allow_async else "detect()"
            msg = f"detector {name!r} ({detector!r}) has no {wanted} method"
            raise ConfigurationError(msg)
        if name in names:
            msg = f"two detectors are named {name!r}; names must be unique"
            raise ConfigurationError(msg)
        names.add(name)
        checked.append(detector)  # type: ignore[arg-type]
    return tuple(checked)


def storable(text: str) -> str:
    """Return *text* with what no store can keep (NUL, lone surrogates) replaced."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8").replace("?", "\ufffd")
    return text


def _bad_finding(item: object) -> str | None:
    """Say why *item* is not a finding every store can keep, or ``None``."""
    if not isinstance(item, Finding):
        return f"returned a {type(item).__name__} among its findings"
    texts = [("category", item.category), ("detector", item.detector)]
    if item.evidence is not None:
        texts.append(("evidence term", item.evidence.term))
    for label, value in texts:
        if not isinstance(value, str) or not value:
            return f"returned a finding whose {label} is {value!r}, not a non-empty str"
        if storable(value) != value:
            return f"returned a finding whose {label} holds a NUL or a lone surrogate"
    return None


def check_findings(name: str, result: object) -> tuple[Finding, ...] | DetectorFailure:
    """Accept a detector's result, or describe why it is not a list of findings.

    A finding that could not be stored (a non-str or empty category or
    detector name, a NUL or lone surrogate) makes the result invalid, so a
    bad detector fails its own turn instead of breaking ``export`` later.
    """
    name = storable(name)
    if isinstance(result, Finding):
        result = (result,)
    if not isinstance(result, Sequence) or isinstance(result, str | bytes):
        return DetectorFailure(
            name,
            "invalid",
            f"returned {type(result).__name__}, not a sequence of findings",
        )
    try:
        items = tuple(result)
    except Exception as exc:  # noqa: BLE001 - a detector's failure is recorded, not raised
        return error(name, exc)
    for item in items:
        why = _bad_finding(item)
        if why is not None:
            return DetectorFailure(name, "invalid", why)
    return items


def run_detector(
    detector: Detector, text: str, context: DetectionContext
) -> tuple[Finding, ...] | DetectorFailure:
    """Run one sync detector, isolating whatever it raises."""
    try:
        result = detector.detect(text, context)
    except Exception as exc:  # noqa: BLE001 - a detector's failure is recorded, not raised
        return error(storable(detector.name), exc)
    return check_findings(detector.name, result)


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


def error(name: str, exc: BaseException) -> DetectorFailure:
    """Return the failure that stands for what detector *name* raised."""
    return DetectorFailure(name, "error", storable(f"{type(exc).__name__}: {exc}"))


def timed_out(name: str, timeout: float) -> DetectorFailure:
    """Return the failure of detector *name* that overran *timeout* seconds."""
    return DetectorFailure(name, "timeout", f"no answer within {timeout:g} s")


def split(outcomes: Sequence[Outcome]) -> tuple[list[Finding], list[DetectorFailure]]:
    """Return the findings of *outcomes*, in order, and their failures."""
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
) -> Outcome:
    box: list[Outcome] = []

    def work() -> None:
        box.append(run_detector(detector, text, context))

    # A daemon thread: one that never returns must not hold up the interpreter's exit.
    worker = threading.Thread(target=work, name=f"convguard:{detector.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if not box:
        return timed_out(detector.name, timeout)
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
        return split([run_detector(d, text, context) for d in detectors])
    return split([_run_in_thread(d, text, context, timeout) for d in detectors])
