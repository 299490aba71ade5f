"""Scenarios: a conversation script with the expected action of every turn.

Write one in Python with the fluent :class:`Scenario` API, or as a table of
steps (a list of mappings), or in a ``*.convguard.toml`` file: the same steps
either way. Running it plays the script against a fresh guard and compares
each turn's action (or error) with the expected one; a mismatch raises
:class:`ScenarioFailure`, an ``AssertionError`` whose message shows the
transcript, expected against actual, and the verdict reasons.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Final, final

from .._errors import ConfigurationError, ConvguardError
from .._guard import Conversation, Guard
from .._policy import Action, EndRequester, LastResortPolicy, Policy, PolicyConfig, Verdict
from ._clock import FakeClock
from ._outcome import Outcome, ScenarioFailure, ScenarioResult
from ._scripted import ScriptedDetector
from ._step import Step, Target, as_action, as_error_class, step_from_row

__all__ = ["MARKERS", "Scenario"]

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
        return self.add(Step("send", text, None, as_action(expect), as_error_class(raises), label))

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
            Step("reply", text, None, None, as_error_class(raises), label, redirect=redirect)
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
        return self.add(
            Step("edit", text, target, as_action(expect), as_error_class(raises), label)
        )

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
        return self.add(Step("switch", None, target, None, as_error_class(raises)))

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
            Step("end", reason, None, as_action(expect), as_error_class(raises), label, by=by)
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
                scenario.add(step_from_row(row))
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
        elif isinstance(self._policy, Policy) and not isinstance(self._policy, type):
            policy = self._policy  # an instance; a class is a factory, like a function
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
