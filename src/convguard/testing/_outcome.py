"""What playing a scenario gives: each step's outcome, the result, the failure."""

from __future__ import annotations

from typing import Final, final

from attrs import frozen

from .._errors import ConvguardError
from .._guard import Conversation, Guard
from .._policy import Action
from ._step import Step

__all__ = ["Outcome", "ScenarioFailure", "ScenarioResult"]


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
