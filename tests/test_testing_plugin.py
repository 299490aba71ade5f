"""The pytest plugin: fixtures and scenario files collected as tests."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

GOOD = """
name = "abuse is redirected"

[[step]]
send = "[abuse] one"
expect = "redirect"
"""

BAD = """
name = "a crisis is not ended"

[[step]]
send = "[crisis] help"
expect = "end"
"""


class TestScenarioFiles:
    """*.convguard.toml files become test items."""

    def test_passing_and_failing_scenarios(self, pytester: pytest.Pytester) -> None:
        """Each scenario is an item; a failure shows the transcript, not a traceback."""
        pytester.makefile(".convguard.toml", good=GOOD, bad=BAD)
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            [
                "*scenario 'a crisis is not ended'*1 of 1 steps did not go as expected*",
                "*FAIL 1*send '?crisis? help'*end*support*",
                "*problem: expected end, got support*",
                "*reason: rule 1: protective finding (self_harm_risk)*",
            ]
        )
        assert "_scenario.py" not in result.stdout.str()

    def test_several_scenarios_are_named_items(self, pytester: pytest.Pytester) -> None:
        """A file of [[scenario]] tables gives one item per scenario, by name."""
        pytester.makefile(
            ".convguard.toml",
            many=(
                '[[scenario]]\nname = "first"\n[[scenario.step]]\nsend = "hi"\n\n'
                '[[scenario]]\nname = "second"\n[[scenario.step]]\nsend = "hi"\n'
            ),
        )
        result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")
        result.stdout.fnmatch_lines(["many.convguard.toml::first", "many.convguard.toml::second"])

    def test_malformed_file_is_a_collection_error(self, pytester: pytest.Pytester) -> None:
        """A broken file is reported as a collection error naming the problem."""
        pytester.makefile(".convguard.toml", broken="[[step]]\nsend = 'x'\nexpect = 'maybe'\n")
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*unknown action 'maybe'*"])

    def test_scenario_that_cannot_run(self, pytester: pytest.Pytester) -> None:
        """A factory that fails at run time is reported in one readable line."""
        pytester.makepyfile(scen_factory="def guard():\n    return 'not a guard'\n")
        pytester.makefile(
            ".convguard.toml", factory='guard = "scen_factory:guard"\n[[step]]\nsend = "x"\n'
        )
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*scenario 'factory' could not run*not a Guard*"])

    def test_other_errors_keep_their_traceback(self, pytester: pytest.Pytester) -> None:
        """An error that is not convguard's is reported the usual pytest way."""
        pytester.makepyfile(scen_boom="def guard():\n    raise RuntimeError('boom')\n")
        pytester.makefile(
            ".convguard.toml", boom='guard = "scen_boom:guard"\n[[step]]\nsend = "x"\n'
        )
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*RuntimeError: boom*"])

    def test_other_toml_files_are_ignored(self, pytester: pytest.Pytester) -> None:
        """Only the *.convguard.toml suffix is collected."""
        pytester.makefile(".toml", plain=GOOD)
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes()

    def test_items_report_their_location(self, pytester: pytest.Pytester) -> None:
        """Verbose runs name the scenario file and the scenario."""
        pytester.makefile(".convguard.toml", good=GOOD)
        result = pytester.runpytest("-p", "no:cacheprovider", "-v")
        result.stdout.fnmatch_lines(["*good.convguard.toml::abuse is redirected PASSED*"])


class TestFixtures:
    """The fixtures a user's tests get."""

    def test_guard_fixture_uses_the_scripted_detector_and_clock(
        self, pytester: pytest.Pytester
    ) -> None:
        """convguard_guard judges markers and stamps messages with the fake clock."""
        pytester.makepyfile(
            """
            from datetime import timedelta

            import convguard as cg


            def test_guard(convguard_guard, convguard_clock, scripted_detector):
                conv = convguard_guard.start()
                convguard_clock.advance(minutes=1)
                verdict = conv.send("[abuse] stop it")
                assert verdict.action is cg.Action.REDIRECT
                assert verdict.message_id == "m2"
                assert conv.get("m2").created_at.minute == 1
                assert scripted_detector in convguard_guard.detectors
            """
        )
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

    def test_policy_fixture_can_be_overridden(self, pytester: pytest.Pytester) -> None:
        """Overriding convguard_policy puts the user's policy in the guard."""
        pytester.makeconftest(
            """
            import pytest

            import convguard as cg


            @pytest.fixture
            def convguard_policy():
                return cg.LastResortPolicy(cg.PolicyConfig(max_redirections=0))
            """
        )
        pytester.makepyfile(
            """
            import convguard as cg


            def test_strict(convguard_guard):
                assert convguard_guard.start().send("[abuse] x").action is cg.Action.END
            """
        )
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

    def test_detectors_fixture_can_be_overridden(self, pytester: pytest.Pytester) -> None:
        """Overriding convguard_detectors puts the user's detectors in the guard."""
        pytester.makeconftest(
            """
            import pytest

            import convguard as cg
            from convguard.testing import ScriptedDetector


            @pytest.fixture
            def convguard_detectors():
                return [ScriptedDetector({"grr": "abuse"}, name="mine")]
            """
        )
        pytester.makepyfile(
            """
            import convguard as cg


            def test_mine(convguard_guard, convguard_detectors, scripted_detector):
                assert list(convguard_guard.detectors) == convguard_detectors
                assert scripted_detector not in convguard_guard.detectors
                conv = convguard_guard.start()
                assert conv.send("grr").action is cg.Action.REDIRECT
                assert conv.send("[abuse] no marker here").action is cg.Action.ALLOW
            """
        )
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

    def test_detectors_fixture_defaults_to_the_scripted_detector(
        self, convguard_detectors: list[object], scripted_detector: object
    ) -> None:
        """By default the guard's detectors are the scripted detector alone."""
        assert convguard_detectors == [scripted_detector]

    def test_fixtures_work_in_process(
        self,
        convguard_guard: object,
        convguard_policy: object,
    ) -> None:
        """The fixtures are available to this very suite through the entry point."""
        import convguard as cg

        assert isinstance(convguard_guard, cg.Guard)
        assert isinstance(convguard_policy, cg.LastResortPolicy)


FAILING_PYTHON_SCENARIO = """
from convguard.testing import Scenario


def test_crisis_is_not_ended():
    scenario = Scenario("a crisis is not ended")
    scenario.send("[crisis] help", expect="end").run()
"""


class TestPythonScenarios:
    """A Scenario run in a Python test fails as a scenario file does."""

    def test_a_failure_shows_the_transcript_not_a_traceback(
        self, pytester: pytest.Pytester
    ) -> None:
        """The report is the transcript and the test line that ran it, not convguard's frames."""
        pytester.makepyfile(test_scen=FAILING_PYTHON_SCENARIO)
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "test_scen.py:6: scenario 'a crisis is not ended'*1 of 1 steps did not go*",
                "*FAIL 1*send '?crisis? help'*end*support*",
                "*problem: expected end, got support*",
            ]
        )
        out = result.stdout.str()
        assert "_scenario.py" not in out
        assert "def run(" not in out
        assert "Traceback" not in out

    def test_long_tracebacks_stay_on_request(self, pytester: pytest.Pytester) -> None:
        """--tb=long keeps pytest's traceback, the caller's line included."""
        pytester.makepyfile(test_scen=FAILING_PYTHON_SCENARIO)
        result = pytester.runpytest("-p", "no:cacheprovider", "--tb=long")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*scenario.send(*).run()*", "*did not go as expected*"])

    def test_other_failures_are_left_alone(self, pytester: pytest.Pytester) -> None:
        """A plain assertion in the same suite is reported the usual way."""
        pytester.makepyfile(test_plain="def test_plain():\n    assert 1 + 1 == 3\n")
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*assert (1 + 1) == 3*"])


class TestDocsSnippet:
    """The conftest and test in docs/testing.md run as written."""

    def test_the_fixtures_snippet_runs(self, pytester: pytest.Pytester) -> None:
        """Split into its files, with a stand-in my_app, the snippet's test passes."""
        from pathlib import Path

        docs = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
        section = docs.read_text(encoding="utf-8").split("### Fixtures", 1)[1]
        block = section.split("```text\n", 1)[1].split("```", 1)[0]
        files: dict[str, list[str]] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("# ") and line.endswith(".py"):
                current = line[2:]
                files[current] = []
            elif current is not None:
                files[current].append(line)
        assert set(files) == {"conftest.py", "test_my_policy.py"}
        pytester.mkpydir("my_app")
        pytester.path.joinpath("my_app", "policy.py").write_text(
            "import convguard as cg\n\n\n"
            "def MyPolicy():\n"
            "    config = cg.PolicyConfig(max_redirections=1, warn_before_end=False)\n"
            "    return cg.LastResortPolicy(config)\n",
            encoding="utf-8",
        )
        for name, lines in files.items():
            pytester.path.joinpath(name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        pytester.syspathinsert()
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


class TestCustomPolicyExample:
    """examples/custom_policy: a user's policy and its tests, run as a user would."""

    def test_its_test_suite_passes(self) -> None:
        """`pytest examples/custom_policy` passes: scenarios, scenario file and contract."""
        import subprocess
        import sys
        from pathlib import Path

        folder = Path(__file__).resolve().parent.parent / "examples" / "custom_policy"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p", "no:cov"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "7 passed" in done.stdout
