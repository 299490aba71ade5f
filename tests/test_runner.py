"""The detector runner: order, isolation, concurrency and timeouts, sync and async."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import pytest

import convguard as cg
from convguard._aio import AsyncGuard
from convguard.detectors import AsyncDetector
from convguard.detectors._async_runner import arun_detector, arun_detectors
from convguard.detectors._runner import check_timeout, run_detectors
from convguard.testing import ScriptedDetector

CONTEXT = cg.DetectionContext("hello")
AnyDetector = cg.Detector | AsyncDetector


def finding(name: str, category: str = "abuse") -> cg.Finding:
    """A finding made by *name*."""
    return cg.Finding(category, 1.0, name)


class Fixed:
    """A sync detector that always returns one finding."""

    def __init__(self, name: str, category: str = "abuse") -> None:
        self.name = name
        self.category = category

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        return [finding(self.name, self.category)]


class AsyncFixed:
    """An async detector that always returns one finding."""

    def __init__(self, name: str, category: str = "abuse") -> None:
        self.name = name
        self.category = category

    async def adetect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        await asyncio.sleep(0)
        return [finding(self.name, self.category)]


class Raising:
    """A sync detector that raises."""

    name = "raising"

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        raise RuntimeError("boom")


class AsyncRaising:
    """An async detector that raises."""

    def __init__(self, exc: Exception, name: str = "araising") -> None:
        self.exc = exc
        self.name = name

    async def adetect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        raise self.exc


class Hanging:
    """An async detector that waits for an event that is never set."""

    name = "hanging"

    def __init__(self) -> None:
        self.started = 0

    async def adetect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        self.started += 1
        await asyncio.Event().wait()
        return []  # pragma: no cover - never reached


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event that blocking sync detectors wait on; set at teardown to free their threads."""
    event = threading.Event()
    yield event
    event.set()


class Blocking:
    """A sync detector that blocks its thread until the gate opens."""

    name = "blocking"

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        self.gate.wait()
        return []


def run(coro: Awaitable[Any]) -> Any:
    """Run a coroutine to completion on a fresh event loop."""

    async def main() -> Any:
        return await coro

    return asyncio.run(main())


class TestCheckTimeout:
    @pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), True, "2"])
    def test_bad_timeouts_are_refused(self, value: object) -> None:
        """A timeout must be a positive finite number of seconds."""
        with pytest.raises(cg.ConfigurationError, match="detector_timeout"):
            check_timeout(value)

    def test_none_and_numbers(self) -> None:
        """None means no limit; ints become floats."""
        assert check_timeout(None) is None
        assert check_timeout(2) == 2.0


class TestSyncRunner:
    def test_findings_keep_detector_order(self) -> None:
        """Findings come back in detector order; failures are collected apart."""
        findings, errors = run_detectors([Fixed("a"), Raising(), Fixed("b")], "x", CONTEXT)
        assert [f.detector for f in findings] == ["a", "b"]
        assert [(e.detector, e.kind) for e in errors] == [("raising", "error")]
        assert "boom" in errors[0].message

    def test_with_a_timeout_each_runs_in_a_thread(self) -> None:
        """With a timeout, results and failures are the same as inline."""
        findings, errors = run_detectors([Fixed("a"), Raising()], "x", CONTEXT, timeout=5.0)
        assert [f.detector for f in findings] == ["a"]
        assert errors[0].kind == "error"

    def test_a_blocking_detector_is_cut_off(self, gate: threading.Event) -> None:
        """A sync detector that overruns its timeout is recorded as a timeout."""
        findings, errors = run_detectors(
            [Blocking(gate), Fixed("after")], "x", CONTEXT, timeout=0.01
        )
        assert [f.detector for f in findings] == ["after"]
        assert errors[0].kind == "timeout"
        assert "0.01" in errors[0].describe()


class TestAsyncRunner:
    def test_sync_and_async_detectors_alike(self) -> None:
        """Sync and async detectors both count, in detector order."""
        detectors: list[AnyDetector] = [
            AsyncFixed("a1"),
            Fixed("s1"),
            AsyncFixed("a2"),
            Fixed("s2"),
        ]
        findings, errors = run(arun_detectors(detectors, "x", CONTEXT, detector_timeout=5))
        assert [f.detector for f in findings] == ["a1", "s1", "a2", "s2"]
        assert errors == []

    def test_async_detectors_run_concurrently(self) -> None:
        """Two detectors that each wait for the other finish: they run at the same time."""
        first, second = asyncio.Event, asyncio.Event

        class Waiter:
            def __init__(self, name: str, mine: asyncio.Event, theirs: asyncio.Event) -> None:
                self.name = name
                self.mine = mine
                self.theirs = theirs

            async def adetect(
                self, text: str, context: cg.DetectionContext
            ) -> Sequence[cg.Finding]:
                self.mine.set()
                await self.theirs.wait()
                return [finding(self.name)]

        async def main() -> tuple[list[cg.Finding], list[cg.DetectorFailure]]:
            a, b = first(), second()
            detectors = [Waiter("a", a, b), Waiter("b", b, a)]
            return await arun_detectors(detectors, "x", CONTEXT, detector_timeout=30)

        findings, errors = run(main())
        assert [f.detector for f in findings] == ["a", "b"]
        assert errors == []

    def test_a_hanging_detector_is_cut_off(self) -> None:
        """An async detector that never answers is a timeout; the others still count."""
        hanging = Hanging()
        detectors: list[AnyDetector] = [hanging, AsyncFixed("quick"), Fixed("sync")]
        findings, errors = run(arun_detectors(detectors, "x", CONTEXT, detector_timeout=0.01))
        assert hanging.started == 1
        assert [f.detector for f in findings] == ["quick", "sync"]
        assert [(e.detector, e.kind) for e in errors] == [("hanging", "timeout")]

    def test_a_lone_hanging_detector(self) -> None:
        """A single async detector is awaited directly, under the same timeout."""
        outcome = run(arun_detectors([Hanging()], "x", CONTEXT, detector_timeout=0.01))
        assert outcome[1][0].kind == "timeout"

    def test_a_detectors_own_timeout_error_is_an_error(self) -> None:
        """A TimeoutError raised by the detector itself is its error, not our timeout."""
        outcome = run(
            arun_detector(AsyncRaising(TimeoutError("upstream")), "x", CONTEXT, detector_timeout=5)
        )
        assert isinstance(outcome, cg.DetectorFailure)
        assert outcome.kind == "error"
        assert "upstream" in outcome.message

    def test_raising_and_garbage(self) -> None:
        """Raising and returning garbage are isolated and told apart."""

        class Garbage:
            name = "garbage"

            async def adetect(self, text: str, context: cg.DetectionContext) -> Any:
                return "abuse"

        detectors: list[AnyDetector] = [AsyncRaising(ValueError("bad")), Garbage(), Raising()]
        findings, errors = run(arun_detectors(detectors, "x", CONTEXT))
        assert findings == []
        assert [(e.detector, e.kind) for e in errors] == [
            ("araising", "error"),
            ("garbage", "invalid"),
            ("raising", "error"),
        ]

    def test_adetect_is_preferred(self) -> None:
        """A detector with both methods is awaited through adetect."""

        class Both:
            name = "both"

            def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
                return [finding("sync")]  # pragma: no cover - not called

            async def adetect(
                self, text: str, context: cg.DetectionContext
            ) -> Sequence[cg.Finding]:
                return [finding("async")]

        findings, _ = run(arun_detectors([Both()], "x", CONTEXT))
        assert findings[0].detector == "async"

    def test_a_function_returning_an_awaitable_counts_as_async(self) -> None:
        """A sync-looking adetect that returns an awaitable is awaited."""

        class Indirect:
            name = "indirect"

            def adetect(
                self, text: str, context: cg.DetectionContext
            ) -> Awaitable[Sequence[cg.Finding]]:
                return AsyncFixed("inner").adetect(text, context)

        indirect: Any = Indirect()
        findings, _ = run(arun_detectors([indirect], "x", CONTEXT, detector_timeout=5))
        assert findings[0].detector == "inner"

    def test_threaded_sync_detectors_obey_the_timeout(self, gate: threading.Event) -> None:
        """With sync_detectors='thread' a blocking sync detector is cut off too."""

        async def main() -> tuple[list[cg.Finding], list[cg.DetectorFailure]]:
            outcome = await arun_detectors(
                [Blocking(gate), Fixed("quick")],
                "x",
                CONTEXT,
                detector_timeout=0.01,
                sync_detectors="thread",
            )
            gate.set()  # free the worker thread, which asyncio.run waits for at exit
            return outcome

        findings, errors = asyncio.run(main())
        assert [f.detector for f in findings] == ["quick"]
        assert errors[0].kind == "timeout"

    def test_one_sync_detector_inline(self) -> None:
        """arun_detector runs a sync detector inline by default."""
        outcome = run(arun_detector(Fixed("s"), "x", CONTEXT))
        assert outcome == (finding("s"),)

    def test_no_timeout(self) -> None:
        """detector_timeout=None waits as long as it takes."""
        findings, _ = run(arun_detectors([AsyncFixed("a")], "x", CONTEXT, detector_timeout=None))
        assert len(findings) == 1


MARKERS = {"[abuse]": "abuse"}
GuardFactory = Callable[..., Any]


def sync_turns(detectors: list[Any], config: dict[str, Any], texts: list[str]) -> list[cg.Verdict]:
    """Send *texts* through a sync Guard."""
    conv = cg.Guard(detectors=detectors, policy=cg.LastResortPolicy(cg.PolicyConfig(**config)))
    started = conv.start()
    return [started.send(text) for text in texts]


def async_turns(detectors: list[Any], config: dict[str, Any], texts: list[str]) -> list[cg.Verdict]:
    """Send *texts* through an AsyncGuard with a tiny timeout."""

    async def main() -> list[cg.Verdict]:
        guard = AsyncGuard(
            detectors=detectors,
            policy=cg.LastResortPolicy(cg.PolicyConfig(**config)),
            detector_timeout=0.01,
        )
        conv = await guard.start()
        return [await conv.send(text) for text in texts]

    return asyncio.run(main())


class TestOnDetectorError:
    @pytest.mark.parametrize("turns", [sync_turns, async_turns])
    def test_ignore_allows_and_never_ends(self, turns: GuardFactory) -> None:
        """With 'ignore' (the default) a failing detector changes nothing."""
        verdicts = turns([Raising(), ScriptedDetector(MARKERS)], {}, ["hi"] * 6)
        assert {v.action for v in verdicts} == {cg.Action.ALLOW}
        assert all(v.errors[0].detector == "raising" for v in verdicts)
        assert any("failed" in reason for reason in verdicts[0].reasons)

    @pytest.mark.parametrize("turns", [sync_turns, async_turns])
    def test_redirect_redirects_and_never_ends(self, turns: GuardFactory) -> None:
        """With 'redirect' a failing detector redirects, uncounted: never a warning or an end."""
        verdicts = turns([Raising()], {"on_detector_error": "redirect"}, ["hi"] * 8)
        assert {v.action for v in verdicts} == {cg.Action.REDIRECT}
        assert not any(v.ended or v.would_end for v in verdicts)
        assert verdicts[-1].state.redirections == 0

    def test_a_timeout_redirects_in_the_async_guard(self) -> None:
        """A hanging detector under 'redirect' gives REDIRECT and the timeout on record."""
        verdicts = async_turns([Hanging()], {"on_detector_error": "redirect"}, ["hi", "again"])
        assert [v.action for v in verdicts] == [cg.Action.REDIRECT] * 2
        assert verdicts[0].errors[0].kind == "timeout"

    @pytest.mark.parametrize("turns", [sync_turns, async_turns])
    def test_findings_still_win(self, turns: GuardFactory) -> None:
        """A terminable finding from a healthy detector still counts beside a failure,
        but the failed turn is never the END (fail safe): it stays a redirection."""
        verdicts = turns(
            [Raising(), ScriptedDetector(MARKERS)],
            {"on_detector_error": "redirect"},
            ["[abuse] x"] * 4,
        )
        assert [v.action for v in verdicts] == [
            cg.Action.REDIRECT,
            cg.Action.REDIRECT,
            cg.Action.WARN,
            cg.Action.REDIRECT,
        ]
        assert "fail safe" in verdicts[-1].reasons[-1]


class TestGuardTimeout:
    def test_a_hanging_sync_detector_does_not_hold_the_turn(self, gate: threading.Event) -> None:
        """Guard(detector_timeout=...) records the overrun and still judges the turn."""
        guard = cg.Guard(
            detectors=[Blocking(gate), ScriptedDetector({"[abuse]": "abuse"})],
            detector_timeout=0.01,
        )
        verdict = guard.start().send("[abuse] x")
        assert verdict.action is cg.Action.REDIRECT
        assert [(e.detector, e.kind) for e in verdict.errors] == [("blocking", "timeout")]

    def test_bad_timeout_is_refused(self) -> None:
        """A zero or negative timeout is a configuration error."""
        with pytest.raises(cg.ConfigurationError, match="detector_timeout"):
            cg.Guard(detector_timeout=0)
