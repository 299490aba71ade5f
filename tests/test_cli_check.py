"""`convguard check PATH…`: scenario files outside pytest."""

from __future__ import annotations

from pathlib import Path

import pytest

from convguard._cli import main

GOOD = '[[step]]\nsend = "[abuse] one"\nexpect = "redirect"\n'
BAD = 'name = "crisis"\n[[step]]\nsend = "[crisis] help"\nexpect = "end"\n'


class TestCheck:
    """Exit status and output of `convguard check`."""

    def test_all_pass(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Passing scenarios exit 0 and are listed as PASS."""
        (tmp_path / "good.convguard.toml").write_text(GOOD, encoding="utf-8")
        assert main(["check", "--plain", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert "PASS" in out
        assert "1 passed, 0 failed, 0 errors" in out

    def test_verbose_prints_transcripts(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """-v prints the transcript of passing scenarios too."""
        path = tmp_path / "good.convguard.toml"
        path.write_text(GOOD, encoding="utf-8")
        assert main(["check", "--plain", "-v", str(path)]) == 0
        assert "rule 2: redirection 1 of 3; redirect" in capsys.readouterr().out

    def test_a_failure_exits_1_with_the_transcript(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A failing scenario exits 1 and shows expected against actual."""
        (tmp_path / "good.convguard.toml").write_text(GOOD, encoding="utf-8")
        (tmp_path / "bad.convguard.toml").write_text(BAD, encoding="utf-8")
        assert main(["check", "--plain", str(tmp_path)]) == 1
        out = capsys.readouterr().out
        assert "::crisis (step 1)" in out
        assert "expected end, got support" in out
        assert "1 passed, 1 failed, 0 errors" in out

    def test_broken_file_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A file that cannot be read is an error, exit 2."""
        path = tmp_path / "broken.convguard.toml"
        path.write_text("x = [", encoding="utf-8")
        assert main(["check", "--plain", str(path)]) == 2
        assert "ERROR" in capsys.readouterr().out

    def test_scenario_that_cannot_run_exits_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A scenario whose guard factory fails is an error naming it."""
        (tmp_path / "scen_cli_factory.py").write_text("def guard():\n    return 0\n")
        path = tmp_path / "f.convguard.toml"
        path.write_text('guard = "scen_cli_factory:guard"\n[[step]]\nsend = "x"\n')
        assert main(["check", "--plain", str(path)]) == 2
        assert "::f: the guard factory" in capsys.readouterr().out

    def test_nothing_found_exits_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An empty directory is bad usage, exit 2."""
        assert main(["check", "--plain", str(tmp_path)]) == 2
        assert "no scenarios found" in capsys.readouterr().out


class TestExample:
    """The scenario file of examples/custom_policy."""

    def test_example_scenarios_pass(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`convguard check examples/custom_policy` finds its scenarios and passes them."""
        folder = Path(__file__).resolve().parent.parent / "examples" / "custom_policy"
        assert main(["check", "--plain", str(folder)]) == 0
        assert "2 passed, 0 failed, 0 errors" in capsys.readouterr().out
