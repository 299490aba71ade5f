"""The pytest plugin: fixtures, and scenario files collected as tests.

Registered through the ``pytest11`` entry point, so installing convguard
with the ``testing`` extra is enough: every ``*.convguard.toml`` file under
the test paths becomes one test item per scenario, and these fixtures are
available everywhere:

``convguard_policy``
    The policy the guard fixture uses; override it in your ``conftest.py``
    to test your own (``LastResortPolicy()`` by default).
``scripted_detector``
    A :class:`~convguard.testing.ScriptedDetector` for the :data:`MARKERS`.
``convguard_detectors``
    The detectors the guard fixture uses; override it to test with your own
    (``[scripted_detector]`` by default).
``convguard_clock``
    A :class:`~convguard.testing.FakeClock` the guard reads.
``convguard_guard``
    A :class:`~convguard.Guard` with the policy, the detectors and the clock
    above, counted ids and an in-memory store.

A :class:`~convguard.testing.ScenarioFailure` raised in a Python test (by
:meth:`Scenario.run() <convguard.testing.Scenario.run>`) is reported as its
transcript, where the test raised it, as a failing scenario file is (with
``--tb=long`` or ``--tb=native`` the traceback is kept).
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Sequence

    from _pytest._code.code import TerminalRepr

    from .._guard import Guard
    from .._policy import Policy
    from ._clock import FakeClock
    from ._scenario import Scenario
    from ._scripted import ScriptedDetector

__all__ = [
    "ScenarioFile",
    "ScenarioItem",
    "convguard_clock",
    "convguard_detectors",
    "convguard_guard",
    "convguard_policy",
    "pytest_collect_file",
    "pytest_runtest_makereport",
    "scripted_detector",
]

SUFFIX = ".convguard.toml"


@pytest.fixture
def convguard_policy() -> Policy:
    """Return the policy under test; override this fixture to test your own."""
    from .._policy import LastResortPolicy  # noqa: PLC0415 - keep plugin load light

    return LastResortPolicy()


@pytest.fixture
def scripted_detector() -> ScriptedDetector:
    """Return a scripted detector for the markers of ``convguard.testing.MARKERS``."""
    from ._scenario import MARKERS  # noqa: PLC0415 - keep plugin load light
    from ._scripted import ScriptedDetector  # noqa: PLC0415 - keep plugin load light

    return ScriptedDetector(MARKERS)


@pytest.fixture
def convguard_detectors(scripted_detector: ScriptedDetector) -> Sequence[object]:
    """Return the detectors under test; override this fixture to test with your own."""
    return [scripted_detector]


@pytest.fixture
def convguard_clock() -> FakeClock:
    """Return a fake clock standing at 2026-01-01 UTC."""
    from ._clock import FakeClock  # noqa: PLC0415 - keep plugin load light

    return FakeClock()


@pytest.fixture
def convguard_guard(
    convguard_policy: Policy, convguard_detectors: Sequence[object], convguard_clock: FakeClock
) -> Guard:
    """Return a guard with the detectors and the policy under test and the fake clock."""
    from .._guard import Guard  # noqa: PLC0415 - keep plugin load light

    numbers = itertools.count(1)
    return Guard(
        convguard_detectors,  # type: ignore[arg-type] # Guard checks them and names a bad one
        convguard_policy,
        clock=convguard_clock,
        ids=lambda: f"m{next(numbers)}",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Report a ScenarioFailure in a Python test as its transcript, not a traceback."""
    report = yield
    excinfo = call.excinfo
    if excinfo is None or not report.failed or isinstance(item, ScenarioItem):
        return report
    if item.config.getoption("tbstyle", "auto") in ("long", "native"):
        return report
    from ._outcome import ScenarioFailure  # noqa: PLC0415 - only when a test failed

    if isinstance(excinfo.value, ScenarioFailure):
        own = Path(__file__).resolve().parent.parent
        root = item.config.rootpath.resolve()
        where = [
            f"{_shown(Path(entry.path).resolve(), root)}:{entry.lineno + 1}"
            for entry in excinfo.traceback
            if not Path(entry.path).resolve().is_relative_to(own)
        ]
        place = f"{where[-1]}: " if where else ""
        report.longrepr = f"{place}{excinfo.value}"
    return report


def _shown(path: Path, root: Path) -> Path:
    return path.relative_to(root) if path.is_relative_to(root) else path


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> ScenarioFile | None:
    """Collect ``*.convguard.toml`` files as scenario files."""
    if file_path.name.endswith(SUFFIX):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """A scenario file: one test item per scenario in it."""

    def collect(self) -> Iterator[ScenarioItem]:
        """Yield one item per scenario; a malformed file is a collection error."""
        from .._errors import ConvguardError  # noqa: PLC0415 - keep plugin load light
        from ._scenario_files import load_scenarios  # noqa: PLC0415 - keep plugin load light

        try:
            scenarios = load_scenarios(self.path)
        except ConvguardError as exc:
            raise self.CollectError(str(exc)) from exc
        for scenario in scenarios:
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioItem(pytest.Item):
    """One scenario, run as a test."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:  # noqa: ANN401 - pytest's node arguments
        """Keep the scenario."""
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        """Play the scenario; a mismatch raises ``ScenarioFailure``."""
        self.scenario.run()

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,  # noqa: ANN401 - pytest's own signature
    ) -> str | TerminalRepr:
        """Show the transcript instead of a traceback into convguard."""
        from .._errors import ConvguardError  # noqa: PLC0415 - keep plugin load light
        from ._outcome import ScenarioFailure  # noqa: PLC0415 - keep plugin load light

        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        if isinstance(excinfo.value, ConvguardError):
            return f"scenario {self.name!r} could not run: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Name the file and the scenario in reports."""
        return self.path, 0, f"scenario: {self.name}"
