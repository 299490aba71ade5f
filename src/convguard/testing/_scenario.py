"""Scenarios: a conversation script with the expected action of every turn.

Write one in Python with the fluent :class:`Scenario` API, or as a table of
steps (a list of mappings), or in a ``*.convguard.toml`` file: the same steps
either way. Running it plays the script against a fresh guard and compares
each turn's action (or error) with the expected one; a mismatch raises
:class:`ScenarioFailure`, an ``AssertionError`` whose message shows the
transcript, expected against actual, and the verdict reasons.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, final

from attrs import frozen

from .. import _errors
from .._errors import ConfigurationError, ConvguardError, FormatError
from .._guard import Conversation, Guard
from .._policy import Action, EndRequester, LastResortPolicy, Policy, PolicyConfig, Verdict
from ._clock import FakeClock
from ._scripted import ScriptedDetector

__all__ = [
    "MARKERS",
    "Outcome",
    "Scenario",
    "ScenarioFailure",
    "ScenarioResult",
    "Step",
    "load_scenarios",
]

MARKERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "[abuse]": "abuse",
        "[csc]": "child_sexual_content",
        "[mv]": "mass_violence",
        "[crisis]": "self_harm_risk",
        "[threat]": "harm_to_others_risk",
        "[hate]": "hate",
    }
)
"""The markers scenarios use unless told otherwise: marker -> category."""

Op = Literal["send", "reply", "edit", "switch", "end", "new_chat"]
_OPS: Final = ("send", "reply", "edit", "switch", "end", "new_chat")
_STEP_KEYS: Final = frozenset({*_OPS, "text", "expect", "error", "label", "redirect", "reason"})
_SCENARIO_KEYS: Final = frozenset(
    {"name", "description", "policy", "detectors", "markers", "guard", "step", "steps"}
)
_EXCERPT: Final = 40

Target = str | int
"""A message to edit or switch to: a step's label, the Nth user message (1-based), or an id."""


def _action(value: Action | str | None) -> Action | None:
    if value is None or isinstance(value, Action):
        return value
    try:
        return Action(str(value).lower())
    except ValueError:
        names = ", ".join(a.value for a in Action)
        msg = f"unknown action {value!r}; expected one of {names}"
        raise ConfigurationError(msg) from None


def _error_class(value: type[ConvguardError] | str | None) -> type[ConvguardError] | None:
    if value is None:
        return None
    if isinstance(value, str):
        found = getattr(_errors, value, None) if value in _errors.__all__ else None
        if not (isinstance(found, type) and issubclass(found, ConvguardError)):
            names = ", ".join(
                n
                for n in _errors.__all__
                if isinstance(getattr(_errors, n), type)
                and issubclass(getattr(_errors, n), ConvguardError)
            )
            msg = f"unknown error class {value!r}; expected one of {names}"
            raise ConfigurationError(msg)
        return found
    if isinstance(value, type) and issubclass(value, ConvguardError):
        return value
    msg = f"an expected error must be a ConvguardError subclass, not {value!r}"
    raise ConfigurationError(msg)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…")


@final
@frozen
class Step:
    """One operation of a scenario and what it should lead to.

    Attributes:
        op: ``send``, ``reply``, ``edit``, ``switch``, ``end`` (an end
            request) or ``new_chat``.
        text: The message text (send, reply, edit) or the end reason.
        target: The message to edit or switch to: a label, the Nth user
            message of the current chat (1-based), or a message id.
        expect: The expected action (user turns and end requests); ``None``
            accepts any action.
        raises: The expected error class; the step must raise it.
        label: A name for the message this step stores, for later edits
            and switches.
        redirect: For replies: the assistant redirected on its own.
        by: For end requests: ``"user"`` or ``"assistant"``.
    """

    op: Op
    text: str | None = None
    target: Target | None = None
    expect: Action | None = None
    raises: type[ConvguardError] | None = None
    label: str | None = None
    redirect: bool = False
    by: EndRequester = "user"

    def describe(self) -> str:
        """Return the step in one line, e.g. ``send '[abuse] hi'``."""
        if self.op == "send":
            text = f"send {_excerpt(self.text or '')}"
        elif self.op == "reply":
            text = f"reply {_excerpt(self.text or '')}" + (" (redirect)" if self.redirect else "")
        elif self.op == "edit":
            text = f"edit {self.target!r} -> {_excerpt(self.text or '')}"
        elif self.op == "switch":
            text = f"switch to {self.target!r}"
        elif self.op == "end":
            text = f"end requested by {self.by}" + (f" ({self.text})" if self.text else "")
        else:
            text = "new chat"
        return text + (f" [{self.label}]" if self.label else "")

    def expected(self) -> str:
        """Return what the step expects, in words."""
        if self.raises is not None:
            return self.raises.__name__
        if self.expect is not None:
            return self.expect.value
        return "-"


@final
@frozen
class Outcome:
    """What one step of a played scenario did.

    Attributes:
        index: The step's number, from 1.
        step: The step.
        action: The verdict's action (user turns and end requests).
        error: The error the step raised, if any.
        reasons: The verdict's reasons.
        message_id: The message the step stored, if any.
        problem: Why the step does not match its expectation; ``None`` when
            it does.
    """

    index: int
    step: Step
    action: Action | None = None
    error: ConvguardError | None = None
    reasons: tuple[str, ...] = ()
    message_id: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the step did what was expected."""
        return self.problem is None

    def actual(self) -> str:
        """Return what the step did, in words."""
        if self.error is not None:
            return type(self.error).__name__
        if self.action is not None:
            return self.action.value
        return "stored" if self.message_id is not None else "done"


@final
@frozen
class ScenarioResult:
    """A played scenario: every step's outcome.

    Attributes:
        scenario: The scenario's name.
        outcomes: One per step, in order.
        guard: The guard it ran on, to look at the conversations afterwards.
        conversations: The chats it used, in order (``new_chat`` adds one).
    """

    scenario: str
    outcomes: tuple[Outcome, ...]
    guard: Guard
    conversations: tuple[Conversation, ...]

    @property
    def passed(self) -> bool:
        """Whether every step did what was expected."""
        return all(o.ok for o in self.outcomes)

    @property
    def failures(self) -> tuple[Outcome, ...]:
        """The steps that did not do what was expected."""
        return tuple(o for o in self.outcomes if not o.ok)

    @property
    def actions(self) -> tuple[Action | None, ...]:
        """The action of every step (``None`` for steps without a verdict)."""
        return tuple(o.action for o in self.outcomes)

    def report(self) -> str:
        """Return the transcript: each step, expected against actual, and the reasons."""
        rows = [
            (f"{o.index}", o.step.describe(), o.step.expected(), o.actual()) for o in self.outcomes
        ]
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(_HEADERS)]
        header = "  ".join(h.ljust(w) for h, w in zip(_HEADERS, widths, strict=True))
        lines = [f"     {header}".rstrip()]
        for outcome, row in zip(self.outcomes, rows, strict=True):
            mark = "ok  " if outcome.ok else "FAIL"
            cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
            lines.append(f"{mark} {cells}".rstrip())
            if outcome.problem is not None:
                lines.append(f"       problem: {outcome.problem}")
            if outcome.error is not None and outcome.ok:
                lines.append(f"       error: {outcome.error}")
            lines.extend(f"       reason: {reason}" for reason in outcome.reasons)
        return "\n".join(lines)


_HEADERS: Final = ("#", "step", "expected", "actual")


class ScenarioFailure(AssertionError):  # noqa: N818 - an AssertionError, named as pytest names failures
    """A scenario did not go as written.

    Its message shows the transcript: every step, expected against actual
    action, and the verdict reasons.

    Attributes:
        result: The played scenario.
    """

    def __init__(self, result: ScenarioResult, source: str | None = None) -> None:
        """Describe the failed scenario."""
        self.result = result
        failed = result.failures
        where = f" ({source})" if source else ""
        numbers = ", ".join(str(o.index) for o in failed)
        head = (
            f"scenario {result.scenario!r}{where}: {len(failed)} of "
            f"{len(result.outcomes)} steps did not go as expected (step {numbers})"
        )
        super().__init__(f"{head}\n{result.report()}")


class _Chat:
    """The bookkeeping of one chat while a scenario plays."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.user_ids: list[str] = []


def _counter_ids() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"m{next(numbers)}"


@final
class Scenario:
    """A conversation script with the expected action of every turn.

    Build it step by step (each method returns the scenario, so calls chain),
    then :meth:`run` it::

        Scenario("persistent abuse ends").send("[abuse] a", expect="redirect").send(
            "[abuse] b", expect="redirect"
        ).send("[abuse] c", expect="warn").send("[abuse] d", expect="end").run()

    Messages containing a marker of :data:`MARKERS` (``[abuse]``, ``[crisis]``,
    …) get that category from a :class:`ScriptedDetector`, unless other
    *detectors* or *markers* are given.

    Args:
        name: Shown in failures.
        policy: The policy to test, or a function returning it;
            ``LastResortPolicy(config)`` when omitted.
        config: Options for the default policy (a ``PolicyConfig`` or a mapping).
        detectors: The detectors, or a function returning them.
        markers: Markers for the default scripted detector.
        guard: A function returning the guard to play on, instead of the
            pieces above.
        source: Where the scenario was written (a file), for failures.

    Raises:
        ConfigurationError: For options that do not fit together.
    """

    __slots__ = (
        "_config",
        "_detectors",
        "_guard",
        "_markers",
        "_policy",
        "_steps",
        "name",
        "source",
    )

    def __init__(  # noqa: PLR0913 - the pieces of a guard, each optional
        self,
        name: str = "scenario",
        *,
        policy: Policy | Callable[[], Policy] | None = None,
        config: PolicyConfig | Mapping[str, Any] | None = None,
        detectors: Iterable[object] | Callable[[], Iterable[object]] | None = None,
        markers: Mapping[str, str] | None = None,
        guard: Callable[[], Guard] | None = None,
        source: str | None = None,
    ) -> None:
        """Keep the pieces; nothing runs until :meth:`run`."""
        if policy is not None and config is not None:
            msg = "give a scenario either a policy or a config for the default policy, not both"
            raise ConfigurationError(msg)
        if guard is not None and (policy, config, detectors, markers) != (None,) * 4:
            msg = "a scenario with its own guard takes no policy, config, detectors or markers"
            raise ConfigurationError(msg)
        if isinstance(config, Mapping):
            config = PolicyConfig.from_dict(config)
        self.name = name
        self.source = source
        self._policy = policy
        self._config = config
        self._detectors = detectors
        self._markers = MARKERS if markers is None else markers
        self._guard = guard
        self._steps: list[Step] = []

    def __repr__(self) -> str:
        """Show the name and the number of steps."""
        return f"<Scenario {self.name!r}: {len(self._steps)} steps>"

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps, in order."""
        return tuple(self._steps)

    # -- building ---------------------------------------------------------------

    def add(self, step: Step) -> Scenario:
        """Append a step.

        Returns:
            The scenario, to chain calls.

        Raises:
            ConfigurationError: For a step that is not a :class:`Step`.
        """
        if not isinstance(step, Step):
            msg = f"a scenario step must be a Step, not {type(step).__name__}"
            raise ConfigurationError(msg)
        self._steps.append(step)
        return self

    def send(
        self,
        text: str,
        *,
        expect: Action | str | None = None,
        raises: type[ConvguardError] | str | None = None,
        label: str | None = None,
    ) -> Scenario:
        """Send a user message under the active tip.

        Args:
            text: The message.
            expect: The expected action.
            raises: The expected error class (or its name).
            label: A name for the stored message.

        Returns:
            The scenario, to chain calls.
        """
        return self.add(Step("send", text, None, _action(expect), _error_class(raises), label))

    def reply(
        self,
        text: str,
        *,
        redirect: bool = False,
        raises: type[ConvguardError] | str | None = None,
        label: str | None = None,
    ) -> Scenario:
        """Store an assistant reply under the active tip.

        Args:
            text: The reply.
            redirect: The assistant redirected on its own.
            raises: The expected error class (or its name).
            label: A name for the stored message.

        Returns:
            The scenario, to chain calls.
        """
        return self.add(
            Step("reply", text, None, None, _error_class(raises), label, redirect=redirect)
        )

    def edit(
        self,
        target: Target,
        text: str,
        *,
        expect: Action | str | None = None,
        raises: type[ConvguardError] | str | None = None,
        label: str | None = None,
    ) -> Scenario:
        """Edit and retry a user message.

        Args:
            target: A label, the Nth user message of the chat (1-based), or an id.
            text: The new text.
            expect: The expected action of the edited turn.
            raises: The expected error class (or its name).
            label: A name for the new message.

        Returns:
            The scenario, to chain calls.
        """
        return self.add(Step("edit", text, target, _action(expect), _error_class(raises), label))

    def switch(
        self, target: Target, *, raises: type[ConvguardError] | str | None = None
    ) -> Scenario:
        """Make a message the active tip.

        Args:
            target: A label, the Nth user message of the chat (1-based), or an id.
            raises: The expected error class (or its name).

        Returns:
            The scenario, to chain calls.
        """
        return self.add(Step("switch", None, target, None, _error_class(raises)))

    def request_end(
        self,
        *,
        by: EndRequester = "user",
        reason: str | None = None,
        expect: Action | str | None = None,
        raises: type[ConvguardError] | str | None = None,
        label: str | None = None,
    ) -> Scenario:
        """Ask to end the branch, as the user or the assistant.

        A user's request is a confirmed one (``confirmed=True``): the user has
        said they understand the end is permanent for this conversation.

        Args:
            by: ``"user"`` or ``"assistant"``.
            reason: Why, for the record.
            expect: The expected action: END when granted.
            raises: The expected error class (or its name).
            label: A name for the end event, when one is stored.

        Returns:
            The scenario, to chain calls.
        """
        if by not in ("user", "assistant"):
            msg = f"an end request is by 'user' or 'assistant', not {by!r}"
            raise ConfigurationError(msg)
        return self.add(
            Step("end", reason, None, _action(expect), _error_class(raises), label, by=by)
        )

    def new_chat(self) -> Scenario:
        """Start a new chat; the following steps go to it.

        Returns:
            The scenario, to chain calls.
        """
        return self.add(Step("new_chat"))

    @classmethod
    def from_steps(
        cls,
        steps: Iterable[Mapping[str, Any]],
        name: str = "scenario",
        **options: Any,  # noqa: ANN401 - forwarded to Scenario()
    ) -> Scenario:
        """Build a scenario from a table of steps, as written in a scenario file.

        Each row names its operation by one key (``send``, ``reply``,
        ``edit``, ``switch``, ``end`` or ``new_chat``) and may add
        ``text``, ``expect``, ``error``, ``label``, ``redirect`` and ``reason``::

            Scenario.from_steps(
                [
                    {"send": "[abuse] hi", "expect": "redirect", "label": "first"},
                    {"edit": "first", "text": "hello", "expect": "allow"},
                ]
            )

        Args:
            steps: The rows.
            name: Shown in failures.
            **options: As for :class:`Scenario`.

        Returns:
            The scenario.

        Raises:
            ConfigurationError: For a malformed row, naming its number.
        """
        scenario = cls(name, **options)
        for number, row in enumerate(steps, 1):
            try:
                scenario.add(_step_from_row(row))
            except ConfigurationError as exc:
                msg = f"step {number}: {exc}"
                raise ConfigurationError(msg) from None
        return scenario

    # -- running ----------------------------------------------------------------

    def build_guard(self) -> Guard:
        """Return a fresh guard for one run: a fake clock and counted ids.

        Raises:
            ConfigurationError: When a factory returns the wrong kind of object.
        """
        if self._guard is not None:
            guard = self._guard()
            if not isinstance(guard, Guard):
                msg = f"the guard factory of scenario {self.name!r} returned {guard!r}, not a Guard"
                raise ConfigurationError(msg)
            return guard
        policy: object
        if self._policy is None:
            policy = LastResortPolicy(self._config)
        elif isinstance(self._policy, Policy):
            policy = self._policy
        else:
            policy = self._policy()
        if not isinstance(policy, Policy):
            msg = f"the policy of scenario {self.name!r} is not a Policy: {policy!r}"
            raise ConfigurationError(msg)
        detectors: Iterable[Any]
        if self._detectors is None:
            detectors = [ScriptedDetector(self._markers)]
        elif callable(self._detectors):
            detectors = self._detectors()
        else:
            detectors = self._detectors
        return Guard(
            detectors,  # type: ignore[arg-type] # Guard checks them and names a bad one
            policy,
            clock=FakeClock(tick=timedelta(seconds=1)),
            ids=_counter_ids(),
        )

    def play(self) -> ScenarioResult:
        """Play every step on a fresh guard and record what happened.

        Unlike :meth:`run`, a mismatch does not raise; look at
        :attr:`ScenarioResult.passed`.

        Returns:
            The outcome of every step.
        """
        guard = self.build_guard()
        chats = [_Chat(guard.start())]
        labels: dict[str, str] = {}
        outcomes = [
            _play_step(guard, chats, labels, index, step)
            for index, step in enumerate(self._steps, 1)
        ]
        return ScenarioResult(
            self.name, tuple(outcomes), guard, tuple(c.conversation for c in chats)
        )

    def run(self) -> ScenarioResult:
        """Play the scenario and check every step.

        Returns:
            The outcome of every step, when all went as expected.

        Raises:
            ScenarioFailure: When a step did not (an ``AssertionError``).
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not this one
        result = self.play()
        if not result.passed:
            raise ScenarioFailure(result, self.source)
        return result


def _resolve(chat: _Chat, labels: Mapping[str, str], target: Target | None) -> str:
    if isinstance(target, int) and not isinstance(target, bool):
        if 1 <= target <= len(chat.user_ids):
            return chat.user_ids[target - 1]
        return f"#{target}"
    text = str(target)
    return labels.get(text, text)


def _play_step(
    guard: Guard, chats: list[_Chat], labels: dict[str, str], index: int, step: Step
) -> Outcome:
    chat = chats[-1]
    conv = chat.conversation
    verdict: Verdict | None = None
    stored: str | None = None
    try:
        if step.op == "send":
            verdict = conv.send(step.text or "")
        elif step.op == "edit":
            verdict = conv.edit(_resolve(chat, labels, step.target), step.text or "")
        elif step.op == "reply":
            stored = conv.reply(step.text or "", redirect=step.redirect).id
        elif step.op == "switch":
            stored = conv.switch(_resolve(chat, labels, step.target)).id
        elif step.op == "end":
            verdict = conv.request_end(by=step.by, reason=step.text, confirmed=True)
        else:
            chats.append(_Chat(guard.start()))
    except ConvguardError as exc:
        return _judge(index, step, None, exc, None)
    if verdict is not None:
        stored = verdict.message_id
        if step.op in ("send", "edit") and stored is not None:
            chat.user_ids.append(stored)
    if step.label is not None and stored is not None:
        labels[step.label] = stored
    return _judge(index, step, verdict, None, stored)


def _judge(
    index: int,
    step: Step,
    verdict: Verdict | None,
    error: ConvguardError | None,
    stored: str | None,
) -> Outcome:
    action = None if verdict is None else verdict.action
    reasons = () if verdict is None else verdict.reasons
    problem: str | None = None
    if step.raises is not None:
        if error is None:
            got = action.value if action is not None else "no error"
            problem = f"expected {step.raises.__name__}, got {got}"
        elif not isinstance(error, step.raises):
            problem = f"expected {step.raises.__name__}, got {type(error).__name__}: {error}"
    elif error is not None:
        problem = f"unexpected {type(error).__name__}: {error}"
    elif step.expect is not None and action is not step.expect:
        problem = f"expected {step.expect.value}, got {action.value if action else 'nothing'}"
    return Outcome(index, step, action, error, reasons, stored, problem)


# -- rows and files ---------------------------------------------------------------


def _text(row: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = row.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        msg = f"{key!r} must be a string, not {type(value).__name__}"
        raise ConfigurationError(msg)
    return value


def _target(row: Mapping[str, Any], key: str) -> Target:
    value = row[key]
    if isinstance(value, bool) or not isinstance(value, str | int):
        msg = f"{key!r} names a message by label, number or id, not {value!r}"
        raise ConfigurationError(msg)
    return value


def _step_from_row(row: Mapping[str, Any]) -> Step:
    if not isinstance(row, Mapping):
        msg = f"a step must be a table, not {type(row).__name__}"
        raise ConfigurationError(msg)
    unknown = sorted(set(row) - _STEP_KEYS)
    if unknown:
        msg = f"unknown keys {unknown}; a step takes {sorted(_STEP_KEYS)}"
        raise ConfigurationError(msg)
    ops = [op for op in _OPS if op in row]
    if len(ops) != 1:
        msg = f"a step names exactly one of {list(_OPS)}, found {ops or 'none'}"
        raise ConfigurationError(msg)
    op = ops[0]
    expect = _action(row.get("expect"))
    raises = _error_class(row.get("error"))
    label = _text(row, "label", required=False)
    redirect = row.get("redirect", False)
    if not isinstance(redirect, bool):
        msg = f"'redirect' must be true or false, not {redirect!r}"
        raise ConfigurationError(msg)
    if op == "send":
        return Step("send", _text(row, op), None, expect, raises, label)
    if op == "reply":
        return Step("reply", _text(row, op), None, expect, raises, label, redirect=redirect)
    return _other_step(row, op, expect, raises, label)


def _other_step(
    row: Mapping[str, Any],
    op: str,
    expect: Action | None,
    raises: type[ConvguardError] | None,
    label: str | None,
) -> Step:
    if op == "edit":
        return Step("edit", _text(row, "text"), _target(row, "edit"), expect, raises, label)
    if op == "switch":
        return Step("switch", None, _target(row, "switch"), expect, raises, label)
    if op == "end":
        by = row["end"]
        if by not in ("user", "assistant"):
            msg = f"'end' is 'user' or 'assistant', not {by!r}"
            raise ConfigurationError(msg)
        reason = _text(row, "reason", required=False)
        return Step("end", reason, None, expect, raises, label, by=by)
    if row["new_chat"] is not True:
        msg = "write a new chat as 'new_chat = true'"
        raise ConfigurationError(msg)
    return Step("new_chat")


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
        options["policy"] = found if isinstance(found, Policy) else _callable(found, "policy")
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
