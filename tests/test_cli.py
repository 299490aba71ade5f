"""The command line's frame: help, version, errors as exit codes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

import convguard as cg
from convguard._cli import build_parser, main


def with_handler(monkeypatch: pytest.MonkeyPatch, handler: Callable[[object], int]) -> None:
    """Make the parser run *handler* when no command is given."""
    parser = build_parser()
    parser.set_defaults(handler=handler)
    monkeypatch.setattr("convguard._cli.build_parser", lambda: parser)


class TestMain:
    def test_no_command_prints_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without a command, the help is shown and the exit status is 2."""
        assert main([]) == 2
        assert "usage: convguard" in capsys.readouterr().out

    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--version prints the package version."""
        with pytest.raises(SystemExit) as caught:
            main(["--version"])
        assert caught.value.code == 0
        assert cg.__version__ in capsys.readouterr().out

    def test_convguard_errors_become_exit_2(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A ConvguardError is reported on stderr, without a traceback."""

        def failing(_: object) -> int:
            raise cg.FormatError("broken file", path="x.json")

        with_handler(monkeypatch, failing)
        assert main([]) == 2
        err = capsys.readouterr().err
        assert "convguard: error: file 'x.json': broken file" in err
        assert "Traceback" not in err

    def test_interrupt_is_130(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Ctrl-C exits with 130, quietly."""

        def interrupted(_: object) -> int:
            raise KeyboardInterrupt

        with_handler(monkeypatch, interrupted)
        assert main([]) == 130

    def test_python_dash_m(self) -> None:
        """python -m convguard runs the same command line."""
        done = subprocess.run(
            [sys.executable, "-m", "convguard", "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0
        assert "usage: convguard" in done.stdout
