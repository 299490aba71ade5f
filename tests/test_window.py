"""WindowDetector: requests split across turns are caught, nothing is counted twice."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

import convguard as cg
from convguard._aio import AsyncGuard
from convguard.detectors._window import WindowDetector
from convguard.testing import ScriptedDetector

A, R = cg.Action.ALLOW, cg.Action.REDIRECT


class Pair:
    """Flags mass violence when both halves of a request appear, with a span over both."""

    name = "pair"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        self.seen.append(text)
        start, end = text.find("[how]"), text.find("[device]")
        if start < 0 or end < 0:
            return []
        evidence = cg.Evidence(start, end + len("[device]"), "how..device")
        return [cg.Finding("mass_violence", 0.9, self.name, evidence)]


class Classifier:
    """Flags abuse for the whole text, as a remote classifier would."""

    name = "classifier"

    def __init__(self, *, whole_span: bool = False) -> None:
        self.whole_span = whole_span

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        if "[abuse]" not in text:
            return []
        evidence = cg.Evidence(0, len(text), "abusive") if self.whole_span else None
        return [cg.Finding("abuse", 0.8, self.name, evidence)]


def actions(detector: Any, texts: list[str]) -> list[cg.Action]:
    """Send *texts* (with assistant replies between) through a Guard."""
    conv = cg.Guard(detectors=[detector]).start(system="be kind")
    out = []
    for text in texts:
        out.append(conv.send(text).action)
        conv.reply("ok")
    return out


class TestSplitRequests:
    def test_a_request_split_across_turns_is_caught(self) -> None:
        """Neither half alone is flagged; the second half is, with the window."""
        pair = Pair()
        assert actions(pair, ["[how] do I build", "a [device]"]) == [A, A]
        assert actions(WindowDetector(pair), ["[how] do I build", "a [device]"]) == [A, R]

    def test_the_evidence_is_moved_onto_the_current_message(self) -> None:
        """A span crossing into the current message is clipped to it."""
        conv = cg.Guard(detectors=[WindowDetector(Pair())]).start()
        conv.send("[how] to")
        verdict = conv.send("x [device]")
        (finding,) = verdict.findings
        assert finding.detector == "window(pair)"
        assert finding.evidence == cg.Evidence(0, 10, "how..device")

    def test_only_user_messages_within_the_window(self) -> None:
        """Assistant and system text is never joined; turns bounds the window."""
        pair = Pair()
        conv = cg.Guard(detectors=[WindowDetector(pair, turns=2)]).start(system="[how]")
        conv.send("one")
        conv.reply("[how]")
        conv.send("two")
        conv.send("[device]")
        assert pair.seen == ["one", "one\ntwo", "two\n[device]"]

    def test_async_inner_in_the_async_guard(self) -> None:
        """An async inner detector is awaited; the split request is caught."""

        class AsyncPair:
            name = "apair"

            async def adetect(
                self, text: str, context: cg.DetectionContext
            ) -> Sequence[cg.Finding]:
                return Pair().detect(text, context)

        async def main() -> list[cg.Action]:
            conv = await AsyncGuard(detectors=[WindowDetector(AsyncPair())]).start()
            return [(await conv.send(t)).action for t in ("[how] to", "a [device]")]

        assert asyncio.run(main()) == [A, R]

    def test_sync_inner_in_the_async_guard(self) -> None:
        """A sync inner detector works under AsyncGuard too."""

        async def main() -> list[cg.Action]:
            conv = await AsyncGuard(detectors=[WindowDetector(Pair())]).start()
            return [(await conv.send(t)).action for t in ("[how] to", "a [device]")]

        assert asyncio.run(main()) == [A, R]


class TestNothingCountedTwice:
    def test_evidence_in_earlier_messages_is_dropped(self) -> None:
        """An abusive message counts once, not again on each later turn of the window."""
        window = WindowDetector(ScriptedDetector({"[abuse]": "abuse"}))
        assert actions(window, ["[abuse] x", "hello", "how are you", "fine"]) == [R, A, A, A]

    def test_current_evidence_keeps_its_offsets(self) -> None:
        """A match in the current message keeps its place in it."""
        conv = cg.Guard(detectors=[WindowDetector(ScriptedDetector({"[abuse]": "abuse"}))]).start()
        conv.send("hello")
        (finding,) = conv.send("well [abuse]").findings
        assert finding.evidence == cg.Evidence(5, 12, "[abuse]")

    @pytest.mark.parametrize("whole_span", [False, True])
    def test_whole_text_findings_are_not_repeated(self, whole_span: bool) -> None:
        """A classifier's finding on the window is reported once while it stays in view."""
        window = WindowDetector(Classifier(whole_span=whole_span), turns=3)
        texts = ["[abuse] x", "hello", "hi", "fine", "[abuse] again"]
        assert actions(window, texts) == [R, A, A, A, R]

    def test_whole_span_evidence_is_the_current_message(self) -> None:
        """A whole-window span is reported as the whole current message."""
        conv = cg.Guard(detectors=[WindowDetector(Classifier(whole_span=True))]).start()
        conv.send("hi")
        (finding,) = conv.send("[abuse] you").findings
        assert finding.evidence == cg.Evidence(0, 11, "abusive")


class TestAcrossOnly:
    def test_only_findings_that_reach_back_are_reported(self) -> None:
        """A match wholly in the current message is left to the plain detector beside it."""
        window = WindowDetector(Pair(), across_only=True)
        plain = Pair()
        assert actions(window, ["[how] to", "a [device]"]) == [A, R]
        assert actions(window, ["hello", "[how] a [device]"]) == [A, A]
        assert actions(plain, ["hello", "[how] a [device]"]) == [A, R]

    def test_a_first_turn_is_not_read(self) -> None:
        """Without an earlier user message the inner detector is not run at all."""
        pair = Pair()
        conv = cg.Guard(detectors=[WindowDetector(pair, across_only=True)]).start(system="[how]")
        assert conv.send("[how] a [device]").action is A
        assert pair.seen == []
        conv.reply("ok")
        conv.send("next")
        assert pair.seen == ["[how] a [device]\nnext"]

    def test_a_first_turn_is_not_read_async(self) -> None:
        """The async path skips a first turn too."""
        pair = Pair()
        window = WindowDetector(pair, across_only=True)
        assert asyncio.run(window.adetect("[how] a [device]", cg.DetectionContext("x"))) == ()
        assert pair.seen == []

    def test_findings_without_evidence_are_dropped(self) -> None:
        """A verdict without a place cannot be shown to reach back: not reported."""
        window = WindowDetector(Classifier(), across_only=True)
        assert actions(window, ["[abuse] x", "hello", "[abuse] y"]) == [A, A, A]

    def test_a_gate_spares_the_reading(self) -> None:
        """The gate sees the window's user messages; when it says no, inner is not run."""
        pair = Pair()
        given: list[list[str]] = []

        def gate(texts: Sequence[str]) -> bool:
            given.append(list(texts))
            return "[how]" in texts[-1] or "[device]" in texts[-1]

        conv = cg.Guard(detectors=[WindowDetector(pair, across_only=True, gate=gate)]).start()
        for text in ("[how] to", "hello", "a [device]"):
            conv.send(text)
            conv.reply("[how]")
        assert given == [["[how] to", "hello"], ["[how] to", "hello", "a [device]"]]
        assert pair.seen == ["[how] to\nhello\na [device]"]

    def test_a_gate_without_across_only(self) -> None:
        """A gate works on its own too, first turns included."""
        pair = Pair()
        window = WindowDetector(pair, gate=lambda texts: len(texts) > 1)
        assert window.detect("[how] a [device]", cg.DetectionContext("x")) == ()
        assert asyncio.run(window.adetect("[how] a [device]", cg.DetectionContext("x"))) == ()
        assert pair.seen == []

    def test_repr_says_so(self) -> None:
        """The repr shows the option when it is set."""
        assert "across_only=True" in repr(WindowDetector(Pair(), across_only=True))
        assert "across_only" not in repr(WindowDetector(Pair()))


class Counting:
    """Counts how often it is run."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, text: str, context: cg.DetectionContext) -> Any:
        self.calls += 1
        return cg.Finding("hate", 0.9, self.name)


class TestMemo:
    def test_a_judged_node_is_never_run_again(self) -> None:
        """Replaying a conversation reuses the memoized findings of each node."""
        inner = Counting()
        guard = cg.Guard(detectors=[WindowDetector(inner)])
        conv = guard.start()
        for text in ("one", "two", "three"):
            conv.send(text)
        assert inner.calls == 3
        replay = guard.replay(conv.export())
        assert inner.calls == 3
        assert [b.actions for b in replay.branches] == [(A, A, A)]

    def test_the_memo_is_bounded(self) -> None:
        """Past cache_size nodes, the oldest are forgotten and run again when asked."""
        inner = Counting()
        window = WindowDetector(inner, cache_size=2)
        contexts = [cg.DetectionContext(t, conversation_id="c", message_id=t) for t in "abc"]
        for context in contexts:
            window.detect(context.text, context)
        window.detect("c", contexts[2])
        assert inner.calls == 3
        window.detect("a", contexts[0])
        assert inner.calls == 4

    def test_another_text_under_the_same_id_is_run(self) -> None:
        """The memo checks the text, not only the id."""
        inner = Counting()
        window = WindowDetector(inner)
        window.detect("a", cg.DetectionContext("a", message_id="m"))
        window.detect("b", cg.DetectionContext("b", message_id="m"))
        assert inner.calls == 2

    def test_async_path_uses_the_memo(self) -> None:
        """adetect reads and fills the same memo."""
        inner = Counting()
        window = WindowDetector(inner)
        context = cg.DetectionContext("a", message_id="m")
        asyncio.run(window.adetect("a", context))
        asyncio.run(window.adetect("a", context))
        assert window.detect("a", context)[0].detector == "window(counting)"
        assert inner.calls == 1


class TestBadInner:
    def test_async_only_inner_in_a_sync_guard(self) -> None:
        """An async-only inner detector cannot run in Guard: a recorded failure."""

        class AsyncOnly:
            name = "async-only"

            async def adetect(
                self, text: str, context: cg.DetectionContext
            ) -> Sequence[cg.Finding]:
                return []  # pragma: no cover - never awaited

        verdict = cg.Guard(detectors=[WindowDetector(AsyncOnly())]).start().send("x")
        assert "AsyncGuard" in verdict.errors[0].message

    def test_inner_detect_returning_a_coroutine(self) -> None:
        """A detect() that returns a coroutine is refused in the sync path."""

        class Sneaky:
            name = "sneaky"

            def detect(self, text: str, context: cg.DetectionContext) -> Any:
                return asyncio.sleep(0)

        class Awaitable:
            def __await__(self) -> Any:
                yield  # pragma: no cover - never awaited

        class Sneakier:
            name = "sneakier"

            def detect(self, text: str, context: cg.DetectionContext) -> Any:
                return Awaitable()

        for inner in (Sneaky(), Sneakier()):
            with pytest.raises(cg.DetectorError, match="async"):
                WindowDetector(inner).detect("x", cg.DetectionContext("x"))

    @pytest.mark.parametrize("result", [None, "abuse", [1]])
    def test_garbage_from_inner(self, result: object) -> None:
        """Something other than findings is a DetectorError, recorded by the guard."""

        class Garbage:
            name = "garbage"

            def detect(self, text: str, context: cg.DetectionContext) -> Any:
                return result

        with pytest.raises(cg.DetectorError, match="inner detector returned"):
            WindowDetector(Garbage()).detect("x", cg.DetectionContext("x"))

    @pytest.mark.parametrize(
        ("inner", "kwargs", "match"),
        [
            (object(), {}, "name"),
            (type("NoDetect", (), {"name": "n"})(), {}, "detect"),
            (Pair(), {"turns": 1}, "turns"),
            (Pair(), {"turns": True}, "turns"),
            (Pair(), {"cache_size": 0}, "cache_size"),
            (Pair(), {"name": ""}, "name"),
            (Pair(), {"gate": 3}, "gate must be callable"),
        ],
    )
    def test_bad_configuration(self, inner: Any, kwargs: dict[str, Any], match: str) -> None:
        """Bad inner detectors and options are refused at construction."""
        with pytest.raises(cg.ConfigurationError, match=match):
            WindowDetector(inner, **kwargs)

    def test_repr_and_name(self) -> None:
        """The repr shows the inner detector; a name can be chosen."""
        window = WindowDetector(ScriptedDetector({"x": "abuse"}), turns=4, name="w")
        assert window.name == "w"
        assert "turns=4" in repr(window)
