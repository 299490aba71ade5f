"""Scenarios in ``*.convguard.toml`` files: loading them, and checking many at once."""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from .._errors import ConfigurationError, ConvguardError, FormatError
from .._policy import Policy, PolicyConfig
from ._scenario import Scenario

__all__ = ["check_paths", "load_scenarios"]

_SCENARIO_KEYS: Final = frozenset(
    {"name", "description", "policy", "detectors", "markers", "guard", "step", "steps"}
)


@contextmanager
def _importable(directory: Path) -> Iterator[None]:
    """Let a scenario file name modules that sit beside it."""
    entry = str(directory)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            sys.path.remove(entry)


def _load_object(spec: object, what: str, directory: Path) -> object:
    if not isinstance(spec, str) or spec.count(":") != 1:
        msg = f"{what} must be written 'module:attribute', not {spec!r}"
        raise ConfigurationError(msg)
    module_name, attribute = spec.split(":")
    with _importable(directory):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            msg = f"{what} {spec!r}: cannot import {module_name!r}: {exc}"
            raise ConfigurationError(msg) from exc
    try:
        return getattr(module, attribute)
    except AttributeError:
        msg = f"{what} {spec!r}: module {module_name!r} has no {attribute!r}"
        raise ConfigurationError(msg) from None


def _options(data: Mapping[str, Any], directory: Path) -> dict[str, Any]:
    options: dict[str, Any] = {}
    policy = data.get("policy")
    if isinstance(policy, Mapping):
        options["config"] = PolicyConfig.from_dict(policy)
    elif policy is not None:
        found = _load_object(policy, "policy", directory)
        # A class has the protocol's methods too: only an instance is a policy.
        is_policy = isinstance(found, Policy) and not isinstance(found, type)
        options["policy"] = found if is_policy else _callable(found, "policy")
    if "detectors" in data:
        found = _load_object(data["detectors"], "detectors", directory)
        options["detectors"] = found
    if "markers" in data:
        markers = data["markers"]
        if not isinstance(markers, Mapping):
            msg = "'markers' must be a table of marker = category"
            raise ConfigurationError(msg)
        options["markers"] = dict(markers)
    if "guard" in data:
        options["guard"] = _callable(_load_object(data["guard"], "guard", directory), "guard")
    return options


def _callable(found: object, what: str) -> Callable[[], Any]:
    if not callable(found):
        msg = f"{what} must name a callable or an instance, not {found!r}"
        raise ConfigurationError(msg)
    return found


def _scenario(
    data: Mapping[str, Any], shared: Mapping[str, Any], name: str, path: Path
) -> Scenario:
    unknown = sorted(set(data) - _SCENARIO_KEYS - {"scenario"})
    if unknown:
        msg = f"unknown keys {unknown}; a scenario takes {sorted(_SCENARIO_KEYS)}"
        raise ConfigurationError(msg)
    merged = {**shared, **data}
    rows = merged.get("step", merged.get("steps", []))
    if not isinstance(rows, list) or not rows:
        msg = "a scenario needs [[step]] tables"
        raise ConfigurationError(msg)
    title = merged.get("name", name)
    if not isinstance(title, str):
        msg = f"'name' must be a string, not {title!r}"
        raise ConfigurationError(msg)
    options = _options(merged, path.parent)
    return Scenario.from_steps(rows, title, source=str(path), **options)


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read the scenarios of a ``*.convguard.toml`` file.

    A file holds one scenario (top-level ``[[step]]`` tables) or several
    (``[[scenario]]`` tables, each with its own ``[[scenario.step]]``);
    top-level ``policy``, ``detectors``, ``markers`` and ``guard`` apply to
    all of them. ``policy`` is a table of :class:`~convguard.PolicyConfig`
    options, or ``"module:name"`` naming a policy or a function returning
    one; modules beside the file can be imported.

    Args:
        path: The file.

    Returns:
        Its scenarios, in order.

    Raises:
        FormatError: When the file cannot be read or a scenario is malformed;
            the message names the file and the scenario.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read scenario file: {exc}"
        raise FormatError(msg, path=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"not valid TOML: {exc}"
        raise FormatError(msg, path=str(path)) from exc
    stem = path.name.removesuffix(".convguard.toml").removesuffix(".toml")
    shared = {k: v for k, v in data.items() if k not in {"scenario", "step", "steps", "name"}}
    try:
        return _scenarios(data, shared, stem, path)
    except ConfigurationError as exc:
        raise FormatError(str(exc), path=str(path)) from exc


def _scenarios(
    data: Mapping[str, Any], shared: Mapping[str, Any], stem: str, path: Path
) -> list[Scenario]:
    tables = data.get("scenario")
    if tables is None:
        return [_scenario(data, {}, stem, path)]
    if not isinstance(tables, list):
        msg = "write scenarios as [[scenario]] tables"
        raise ConfigurationError(msg)
    out: list[Scenario] = []
    for number, table in enumerate(tables, 1):
        if not isinstance(table, Mapping):
            msg = f"scenario {number} must be a table"
            raise ConfigurationError(msg)
        out.append(_scenario(table, shared, f"{stem}[{number}]", path))
    return out


def check_paths(paths: Sequence[str | Path]) -> Iterator[tuple[Path, Scenario | None, object]]:
    """Find, load and play scenario files; yield ``(file, scenario, result)``.

    Directories are searched for ``*.convguard.toml``. The result is a
    :class:`ScenarioResult`, or the :class:`~convguard.ConvguardError` that
    kept the file (scenario ``None``) or the scenario from running.
    """
    for given in paths:
        path = Path(given)
        files = sorted(path.rglob("*.convguard.toml")) if path.is_dir() else [path]
        for file in files:
            try:
                scenarios = load_scenarios(file)
            except ConvguardError as exc:
                yield file, None, exc
                continue
            for scenario in scenarios:
                try:
                    yield file, scenario, scenario.play()
                except ConvguardError as exc:
                    yield file, scenario, exc
