"""Scenarios: scripts with expected actions, in Python, as tables and in TOML files."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import convguard as cg
from convguard.testing import (
    MARKERS,
    FakeClock,
    Scenario,
    ScenarioFailure,
    ScriptedDetector,
    Step,
    load_scenarios,
)
from convguard.testing._scenario_files import check_paths
from tests.test_guard import OneStrike

PERSISTENT = """
name = "persistent abuse ends after a warning"

[[step]]
send = "[abuse] one"
expect = "redirect"
label = "first"

[[step]]
send = "[abuse] two"
expect = "redirect"

[[step]]
send = "[abuse] three"
expect = "warn"

[[step]]
send = "[abuse] four"
expect = "end"

[[step]]
send = "hello?"
error = "ConversationEndedError"

[[step]]
edit = "first"
text = "hello"
expect = "allow"
"""


def _persistent() -> Scenario:
    return (
        Scenario("persistent")
        .send("[abuse] one", expect="redirect", label="first")
        .send("[abuse] two", expect=cg.Action.REDIRECT)
        .send("[abuse] three", expect="warn")
        .send("[abuse] four", expect="END")
        .send("hello?", raises=cg.ConversationEndedError)
        .edit("first", "hello", expect="allow")
    )


class TestFluent:
    """Scenarios written in Python."""

    def test_passing_scenario_returns_its_outcomes(self) -> None:
        """A scenario that goes as written returns each step's action."""
        result = _persistent().run()
        assert result.passed
        assert result.actions == (
            cg.Action.REDIRECT,
            cg.Action.REDIRECT,
            cg.Action.WARN,
            cg.Action.END,
            None,
            cg.Action.ALLOW,
        )

    def test_failure_prints_transcript_expected_actual_and_reasons(self) -> None:
        """A mismatch raises an AssertionError showing the transcript and reasons."""
        scenario = Scenario("crisis").send("[crisis] help", expect="end")
        with pytest.raises(ScenarioFailure) as caught:
            scenario.run()
        text = str(caught.value)
        assert isinstance(caught.value, AssertionError)
        assert "scenario 'crisis': 1 of 1 steps did not go as expected (step 1)" in text
        assert "FAIL 1" in text
        assert "expected end, got support" in text
        assert "rule 1: protective finding (self_harm_risk)" in text

    def test_unexpected_error_and_missing_error_fail(self) -> None:
        """An error not expected, or an expected error that never comes, is a failure."""
        result = (
            Scenario()
            .send("hi", raises="ConversationEndedError")
            .send("   ")
            .send("[abuse] x", raises=cg.InvalidMessageError)
            .play()
        )
        problems = [o.problem for o in result.outcomes]
        assert problems[0] == "expected ConversationEndedError, got allow"
        assert problems[1] is not None
        assert problems[1].startswith("unexpected InvalidMessageError")
        assert problems[2] == "expected InvalidMessageError, got redirect"
        assert result.outcomes[1].actual() == "InvalidMessageError"

    def test_report_shows_expected_errors(self) -> None:
        """The transcript lists expected errors and the error met by a passing step."""
        report = Scenario().send("   ", raises="InvalidMessageError").reply("ok").play().report()
        assert "InvalidMessageError  InvalidMessageError" in report
        assert "error: message text is empty" in report
        assert "reply 'ok'  -" in report

    def test_wrong_error_class_fails(self) -> None:
        """Expecting one error and getting another names both."""
        result = Scenario().edit("nowhere", "hi", raises="InvalidMessageError").play()
        problem = result.outcomes[0].problem or ""
        assert problem.startswith("expected InvalidMessageError, got UnknownMessageError")

    def test_replies_switches_end_requests_and_new_chats(self) -> None:
        """Every operation plays, with labels for switches and edits by number."""
        result = (
            Scenario(config={"max_redirections": 1, "warn_before_end": False})
            .send("hi", label="greeting")
            .reply("hello!", redirect=True)
            .send("still hi", label="answer")
            .request_end(by="assistant", expect="end")
            .send("more", raises="ConversationEndedError")
            .switch("answer")
            .switch("greeting")
            .edit(1, "hi again", expect="allow")
            .request_end(by="user", reason="done", expect="end", label="bye")
            .new_chat()
            .send("fresh start", expect="allow")
            .switch(8, raises="UnknownMessageError")
            .run()
        )
        assert [o.actual() for o in result.outcomes] == [
            "allow",
            "stored",
            "allow",
            "end",
            "ConversationEndedError",
            "stored",
            "stored",
            "allow",
            "end",
            "done",
            "allow",
            "UnknownMessageError",
        ]
        bye = result.outcomes[8].message_id
        assert result.conversations[0].get(bye or "").content.endswith("done")

    def test_switch_to_a_missing_number_is_an_unknown_message(self) -> None:
        """Naming the 7th user message of a short chat gives UnknownMessageError."""
        result = Scenario().send("hi").switch(7, raises="UnknownMessageError").run()
        assert result.outcomes[1].actual() == "UnknownMessageError"

    def test_results_keep_the_guard_and_conversations(self) -> None:
        """The played guard and chats can be inspected afterwards."""
        result = Scenario().send("hi").new_chat().send("[abuse] x").run()
        assert len(result.conversations) == 2
        assert result.conversations[1].state().redirections == 1
        listed = result.guard.conversations().ids
        assert sorted(listed) == sorted(c.id for c in result.conversations)

    def test_custom_policy_detectors_and_guard(self) -> None:
        """A scenario runs any policy and detectors, or a guard of its own."""
        policy = cg.LastResortPolicy(cg.PolicyConfig(max_redirections=0))
        Scenario(policy=policy).send("[abuse] x", expect="end").run()
        Scenario(policy=lambda: policy, detectors=lambda: [ScriptedDetector({"!": "abuse"})]).send(
            "!", expect="end"
        ).run()
        Scenario(detectors=[ScriptedDetector({"?": "abuse"})]).send("?", expect="redirect").run()
        Scenario(markers={"@": "mass_violence"}).send("@", expect="redirect").run()
        Scenario(guard=lambda: cg.Guard([], policy)).send("[abuse] x", expect="allow").run()

    def test_a_policy_class_is_a_factory(self) -> None:
        """A policy class (it has the protocol's methods too) is called for each run."""
        Scenario(policy=OneStrike).send("[abuse] x", expect="end").run()

    def test_bad_options_are_refused(self) -> None:
        """Conflicting options, bad factories and bad expectations are named."""
        with pytest.raises(cg.ConfigurationError, match="either a policy or a config"):
            Scenario(policy=cg.LastResortPolicy(), config={})
        with pytest.raises(cg.ConfigurationError, match="own guard"):
            Scenario(guard=cg.Guard, markers={})
        with pytest.raises(cg.ConfigurationError, match="unknown action 'maybe'"):
            Scenario().send("x", expect="maybe")
        with pytest.raises(cg.ConfigurationError, match="unknown error class 'OopsError'"):
            Scenario().send("x", raises="OopsError")
        with pytest.raises(cg.ConfigurationError, match="ConvguardError subclass"):
            Scenario().send("x", raises=KeyError)  # type: ignore[arg-type]
        with pytest.raises(cg.ConfigurationError, match="by 'user' or 'assistant'"):
            Scenario().request_end(by="robot")  # type: ignore[arg-type]
        with pytest.raises(cg.ConfigurationError, match="must be a Step"):
            Scenario().add("send")  # type: ignore[arg-type]
        with pytest.raises(cg.ConfigurationError, match="not a Guard"):
            Scenario(guard=lambda: "guard").build_guard()  # type: ignore[arg-type,return-value]
        with pytest.raises(cg.ConfigurationError, match="not a Policy"):
            Scenario(policy=lambda: "policy").build_guard()  # type: ignore[arg-type,return-value]

    def test_repr_and_steps(self) -> None:
        """A scenario shows its name and step count, and lists its steps."""
        scenario = Scenario("demo").send("hi").new_chat()
        assert repr(scenario) == "<Scenario 'demo': 2 steps>"
        assert scenario.steps == (Step("send", "hi"), Step("new_chat"))

    def test_step_descriptions(self) -> None:
        """Each step reads as one line in a transcript."""
        long = "x" * 60
        assert Step("send", long).describe() == f"send '{'x' * 39}…'"
        assert Step("reply", "ok", redirect=True).describe() == "reply 'ok' (redirect)"
        assert Step("edit", "hi", 2, label="e").describe() == "edit 2 -> 'hi' [e]"
        assert Step("switch", None, "a").describe() == "switch to 'a'"
        assert Step("end", "bye", by="assistant").describe() == "end requested by assistant (bye)"
        assert Step("new_chat").describe() == "new chat"


class TestTable:
    """Scenarios written as a table of steps."""

    def test_rows_build_the_same_scenario(self) -> None:
        """A table of rows plays exactly like the fluent calls."""
        rows: list[dict[str, Any]] = [
            {"send": "[abuse] one", "expect": "redirect", "label": "first"},
            {"reply": "Let's talk about travel.", "redirect": True},
            {"edit": "first", "text": "hello", "expect": "allow"},
            {"switch": 1},
            {"end": "user", "reason": "bye", "expect": "end"},
            {"new_chat": True},
        ]
        result = Scenario.from_steps(rows, "table").run()
        assert result.passed
        assert result.scenario == "table"

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ("send", "must be a table"),
            ({"send": "x", "colour": "red"}, "unknown keys"),
            ({"send": "x", "reply": "y"}, "exactly one of"),
            ({"send": 3}, "'send' must be a string"),
            ({"reply": "x", "redirect": "yes"}, "true or false"),
            ({"edit": 1.5, "text": "x"}, "names a message"),
            ({"end": "robot"}, "'end' is 'user' or 'assistant'"),
            ({"new_chat": "yes"}, "new_chat = true"),
        ],
    )
    def test_malformed_rows_are_named(self, row: object, message: str) -> None:
        """A bad row is refused with its number and what is wrong."""
        with pytest.raises(cg.ConfigurationError, match=message) as caught:
            Scenario.from_steps([{"send": "fine"}, row])  # type: ignore[list-item]
        assert str(caught.value).startswith("step 2: ")


class TestFiles:
    """Scenario files (*.convguard.toml)."""

    def test_one_scenario_per_file(self, tmp_path: Path) -> None:
        """A file with top-level steps is one scenario, named by its name key."""
        path = tmp_path / "abuse.convguard.toml"
        path.write_text(PERSISTENT, encoding="utf-8")
        [scenario] = load_scenarios(path)
        assert scenario.name == "persistent abuse ends after a warning"
        assert scenario.source == str(path)
        assert scenario.run().passed

    def test_several_scenarios_share_top_level_options(self, tmp_path: Path) -> None:
        """[[scenario]] tables share the top-level policy and markers."""
        path = tmp_path / "many.convguard.toml"
        path.write_text(
            "[policy]\nmax_redirections = 1\nwarn_before_end = false\n\n"
            '[markers]\n"!!" = "abuse"\n\n'
            '[[scenario]]\nname = "ends at the second"\n'
            '[[scenario.step]]\nsend = "!!"\nexpect = "redirect"\n'
            '[[scenario.step]]\nsend = "!!"\nexpect = "end"\n\n'
            "[[scenario]]\n"
            '[[scenario.step]]\nsend = "[abuse] no marker here"\nexpect = "allow"\n',
            encoding="utf-8",
        )
        first, second = load_scenarios(path)
        assert first.name == "ends at the second"
        assert second.name == "many[2]"
        assert first.run().passed
        assert second.run().passed

    def test_policy_and_detectors_from_modules_beside_the_file(self, tmp_path: Path) -> None:
        """'module:name' loads a policy, detectors or a guard from beside the file."""
        (tmp_path / "scen_helpers.py").write_text(
            "import convguard as cg\n"
            "from convguard.testing import ScriptedDetector\n"
            "STRICT = cg.LastResortPolicy(cg.PolicyConfig(max_redirections=0))\n"
            "def detectors():\n    return [ScriptedDetector({'%%': 'abuse'})]\n"
            "def guard():\n    return cg.Guard([], STRICT)\n",
            encoding="utf-8",
        )
        path = tmp_path / "mod.convguard.toml"
        path.write_text(
            'policy = "scen_helpers:STRICT"\ndetectors = "scen_helpers:detectors"\n'
            '[[step]]\nsend = "%%"\nexpect = "end"\n',
            encoding="utf-8",
        )
        assert load_scenarios(path)[0].run().passed
        sys.path.insert(0, str(tmp_path))  # already importable: left as it was
        try:
            assert load_scenarios(path)[0].run().passed
        finally:
            sys.path.remove(str(tmp_path))
        path.write_text(
            'guard = "scen_helpers:guard"\n[[step]]\nsend = "%%"\nexpect = "allow"\n',
            encoding="utf-8",
        )
        assert load_scenarios(path)[0].run().passed

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("step = [", "not valid TOML"),
            ('name = "x"\n', "needs \\[\\[step\\]\\] tables"),
            ("name = 3\n[[step]]\nsend = 'x'\n", "'name' must be a string"),
            ("colour = 1\n[[step]]\nsend = 'x'\n", "unknown keys \\['colour'\\]"),
            ("scenario = 3\n", "\\[\\[scenario\\]\\] tables"),
            ("scenario = [3]\n", "scenario 1 must be a table"),
            ("markers = 3\n[[step]]\nsend = 'x'\n", "table of marker"),
            ("policy = 'nomodule'\n[[step]]\nsend = 'x'\n", "module:attribute"),
            ("policy = 'no_such_mod_xyz:p'\n[[step]]\nsend = 'x'\n", "cannot import"),
            ("policy = 'json:nothing_here'\n[[step]]\nsend = 'x'\n", "has no 'nothing_here'"),
            ("guard = 'json:__doc__'\n[[step]]\nsend = 'x'\n", "a callable"),
            ("[policy]\nmax_redirections = -1\n[[step]]\nsend = 'x'\n", "max_redirections"),
            ("[[step]]\nsend = 'x'\nexpect = 'nope'\n", "step 1: unknown action"),
        ],
    )
    def test_malformed_files_name_the_file(self, tmp_path: Path, text: str, message: str) -> None:
        """A malformed file raises FormatError naming the file and the problem."""
        path = tmp_path / "bad.convguard.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(cg.FormatError, match=message) as caught:
            load_scenarios(path)
        assert caught.value.path == str(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is a FormatError, not an OSError."""
        with pytest.raises(cg.FormatError, match="cannot read"):
            load_scenarios(tmp_path / "nope.convguard.toml")

    def test_check_paths_walks_directories(self, tmp_path: Path) -> None:
        """Directories are searched; broken files and failing scenarios are reported."""
        (tmp_path / "good.convguard.toml").write_text(PERSISTENT, encoding="utf-8")
        (tmp_path / "sub").mkdir()
        (tmp_path / "sub" / "broken.convguard.toml").write_text("x = [", encoding="utf-8")
        results = list(check_paths([tmp_path]))
        assert [r[0].name for r in results] == ["good.convguard.toml", "broken.convguard.toml"]
        assert isinstance(results[1][2], cg.FormatError)

    def test_check_paths_reports_a_scenario_that_cannot_run(self, tmp_path: Path) -> None:
        """A factory failing at run time is reported, not raised."""
        (tmp_path / "scen_bad_guard.py").write_text("def guard():\n    return 1\n")
        path = tmp_path / "g.convguard.toml"
        path.write_text('guard = "scen_bad_guard:guard"\n[[step]]\nsend = "x"\n')
        [(_, scenario, result)] = list(check_paths([path]))
        assert scenario is not None
        assert isinstance(result, cg.ConfigurationError)


class TestFakeClock:
    """FakeClock: time that moves only when told."""

    def test_stands_still_until_advanced(self) -> None:
        """Readings repeat until advance() moves the clock."""
        clock = FakeClock()
        assert clock() == clock() == datetime(2026, 1, 1, tzinfo=UTC)
        assert clock.advance(minutes=5) == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
        assert clock.advance(timedelta(hours=1), seconds=1).hour == 1
        assert clock.readings == 2
        assert repr(clock) == "FakeClock(2026-01-01T01:05:01+00:00)"

    def test_tick_and_guard_times(self) -> None:
        """With a tick every stored message gets the next time."""
        clock = FakeClock(datetime(2030, 5, 1, tzinfo=UTC), tick=timedelta(seconds=2))
        conv = cg.Guard([ScriptedDetector(MARKERS)], clock=clock).start()
        first = conv.send("hi").message_id
        second = conv.reply("hello").id
        assert conv.get(second).created_at - conv.get(first or "").created_at == timedelta(
            seconds=2
        )

    def test_bad_settings(self) -> None:
        """A naive start, a negative tick or going back is refused."""
        with pytest.raises(cg.ConfigurationError, match="timezone-aware"):
            FakeClock(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value is the point
        with pytest.raises(cg.ConfigurationError, match="tick"):
            FakeClock(tick=timedelta(seconds=-1))
        with pytest.raises(cg.ConfigurationError, match="never goes back"):
            FakeClock().advance(seconds=-1)
        with pytest.raises(cg.ConfigurationError, match="takes a timedelta"):
            FakeClock().advance(5)  # type: ignore[arg-type]


class TestDocs:
    """docs/testing.md shows what a failing scenario really prints."""

    def test_failure_shown_in_the_docs(self) -> None:
        """The transcript printed in the docs is the one a failure gives today."""
        import re

        page = (Path(__file__).resolve().parent.parent / "docs" / "testing.md").read_text(
            encoding="utf-8"
        )
        shown = re.search(r"\nprints\n\n```text\n(.*?)```", page, re.DOTALL)
        assert shown is not None
        with pytest.raises(ScenarioFailure) as caught:
            Scenario("a user at risk").send("[crisis] help me", expect="end").run()
        assert str(caught.value) + "\n" == shown.group(1)


class TestScriptedDetector:
    """ScriptedDetector, the known-outcome detector scenarios use."""

    def test_bad_markers_and_scores(self) -> None:
        """Empty markers or a score outside 0..1 are refused."""
        with pytest.raises(cg.ConfigurationError, match="non-empty strings"):
            ScriptedDetector({"": "abuse"})
        with pytest.raises(cg.ConfigurationError, match=r"within 0\.\.1"):
            ScriptedDetector(MARKERS, score=1.5)

    def test_repr_and_findings(self) -> None:
        """It shows its markers and reports every marker present, with evidence."""
        detector = ScriptedDetector({"!": "abuse"}, score=0.7)
        assert repr(detector) == "ScriptedDetector({'!': 'abuse'}, score=0.7)"
        [finding] = cg.Guard([detector]).start().send("hey !").findings
        assert (finding.category, finding.score) == ("abuse", 0.7)
        assert finding.evidence is not None
        assert finding.evidence.start == 4
