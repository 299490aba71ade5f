"""Tools for unit-testing policies and detectors.

- :class:`ScriptedDetector` makes the outcome of every turn known from its
  text, and :class:`FakeClock` the time of every message.
- :class:`Scenario` scripts a conversation with the expected action of each
  turn, in Python or in a ``*.convguard.toml`` file (:func:`load_scenarios`);
  the pytest plugin collects those files as tests.
- :class:`PolicyContract` (needs Hypothesis, the ``testing`` extra) checks a
  policy against the invariants of convguard; :mod:`convguard.testing.strategies`
  holds the Hypothesis strategies it is built from.

See ``docs/testing.md``.
"""

from typing import TYPE_CHECKING, Any

from ._clock import FakeClock
from ._outcome import Outcome, ScenarioFailure, ScenarioResult
from ._scenario import MARKERS, Scenario
from ._scenario_files import load_scenarios
from ._scripted import ScriptedDetector
from ._step import Step

if TYPE_CHECKING:
    from ._contract import ContractViolation, PolicyContract

__all__ = [
    "MARKERS",
    "ContractViolation",
    "FakeClock",
    "Outcome",
    "PolicyContract",
    "Scenario",
    "ScenarioFailure",
    "ScenarioResult",
    "ScriptedDetector",
    "Step",
    "load_scenarios",
]

# Reprs and docs show the public path (convguard.testing.X, not a private
# module's), as convguard/__init__.py does for the top-level names.
for _name in __all__:
    _obj = globals().get(_name)
    if getattr(_obj, "__module__", "").startswith(f"{__name__}._"):
        _obj.__module__ = __name__
del _name, _obj


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a lazily imported class
    """Import the contract only when asked for: it needs Hypothesis."""
    if name in {"PolicyContract", "ContractViolation"}:
        # Imported on first use: the contract needs Hypothesis, an optional extra.
        import importlib  # noqa: PLC0415 - kept out of the package namespace

        found = getattr(importlib.import_module(f"{__name__}._contract"), name)
        found.__module__ = __name__
        return found
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    """List the public names only, as ``__all__`` does."""
    return list(__all__)


# The helpers used above are not part of the API.
del TYPE_CHECKING, Any
