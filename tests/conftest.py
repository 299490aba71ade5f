"""Shared fixtures: deterministic guards whose verdicts are known from the text."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest

import convguard as cg
from convguard.testing import ScriptedDetector

#: Markers the scripted detector turns into findings, used across the tests.
MARKERS = {
    "[abuse]": "abuse",
    "[csc]": "child_sexual_content",
    "[mv]": "mass_violence",
    "[crisis]": "self_harm_risk",
    "[threat]": "harm_to_others_risk",
    "[hate]": "hate",
}


class MakeGuard(Protocol):
    """Build a guard with deterministic clock and ids; keywords go to ``Guard``."""

    def __call__(self, **kwargs: Any) -> cg.Guard: ...


class StepClock:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def counter_ids() -> Callable[[], str]:
    """Return an id factory giving ``id-1``, ``id-2``, …"""
    numbers = itertools.count(1)
    return lambda: f"id-{next(numbers)}"


def scripted() -> ScriptedDetector:
    """Return the scripted detector for :data:`MARKERS`."""
    return ScriptedDetector(MARKERS)


def build_guard(**kwargs: Any) -> cg.Guard:
    """Build a deterministic guard; keywords override the defaults."""
    kwargs.setdefault("detectors", [scripted()])
    kwargs.setdefault("clock", StepClock())
    kwargs.setdefault("ids", counter_ids())
    config = kwargs.pop("config", None)
    if config is not None:
        kwargs["policy"] = cg.LastResortPolicy(cg.PolicyConfig(**config))
    return cg.Guard(**kwargs)


@pytest.fixture
def make_guard() -> MakeGuard:
    """Build guards with a scripted detector; ``config={...}`` sets policy options."""
    return build_guard


@pytest.fixture
def guard(make_guard: MakeGuard) -> cg.Guard:
    """A guard with the scripted detector and the default policy."""
    return make_guard()


@pytest.fixture
def conv(guard: cg.Guard) -> cg.Conversation:
    """A new conversation on the default scripted guard."""
    return guard.start()


def flagged(text: str) -> set[str]:
    """Return the categories the built-in detectors find in *text* at the default threshold."""
    found = [d.detect(text, cg.DetectionContext(text)) for d in _builtin_detectors()]
    return {f.category for findings in found for f in findings if f.score >= 0.5}


@functools.cache
def _builtin_detectors() -> tuple[cg.Detector, ...]:
    return tuple(cg.default_detectors())
