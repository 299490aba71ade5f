"""What a policy reads and returns, and the ``Policy`` protocol itself.

The guard and a policy meet here: the guard hands the policy a frozen
:class:`PolicyState` and a :class:`Turn`, and stores the state and the
:class:`Verdict` it gets back. Nothing here decides anything;
``LastResortPolicy`` (``_policy.py``) does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol, final, runtime_checkable

import attrs
from attrs import frozen

from ._errors import InvalidMessageError
from ._findings import DetectorFailure, Finding
from ._json_shape import shape_problem

__all__ = [
    "EMPTY_DATA",
    "Action",
    "EndRequester",
    "Policy",
    "PolicyState",
    "Status",
    "Turn",
    "Verdict",
    "check_state_data",
]

EndRequester = Literal["user", "assistant"]


class Status(StrEnum):
    """Where a branch stands after a node."""

    ACTIVE = "active"
    REDIRECTING = "redirecting"
    SUPPORTING = "supporting"
    ENDED = "ended"


class Action(StrEnum):
    """What the backend should do with a turn."""

    ALLOW = "allow"
    """Answer normally."""
    REDIRECT = "redirect"
    """Decline and steer the conversation elsewhere."""
    WARN = "warn"
    """The last redirection: say plainly that the chat will end if this goes on."""
    SUPPORT = "support"
    """The user may be at risk: answer with care and resources; ending is off."""
    END = "end"
    """The branch is ended; nothing more is accepted on it."""


EMPTY_DATA: Final[Mapping[str, Any]] = MappingProxyType({})


def check_state_data(value: object) -> dict[str, Any]:
    """Return *value* as a fresh JSON-compatible dict, or refuse it.

    The same checks as a message's metadata: string keys at every level, no
    deeper than 64 levels, and only what JSON holds (no NaN). The copy is
    what JSON gives back (tuples become lists), so a stored state reads
    back equal to the one the policy returned.

    Raises:
        InvalidMessageError: When *value* is not a JSON-compatible mapping.
    """
    if not isinstance(value, Mapping):
        msg = f"PolicyState.data must be a mapping, not {type(value).__name__}"
        raise InvalidMessageError(msg)
    problem = shape_problem(value, "PolicyState.data")
    if problem is not None:
        raise InvalidMessageError(problem)
    try:
        encoded = json.dumps(dict(value), allow_nan=False, ensure_ascii=False)
        encoded.encode("utf-8")
    except (TypeError, ValueError) as exc:
        msg = f"PolicyState.data must be JSON-compatible: {exc}"
        raise InvalidMessageError(msg) from None
    return json.loads(encoded)  # type: ignore[no-any-return]


def _freeze_data(value: Mapping[str, Any]) -> Mapping[str, Any]:
    # The default policy never sets data: a state it evolves costs one check.
    if value is EMPTY_DATA:
        return value
    data = check_state_data(value)
    return MappingProxyType(data) if data else EMPTY_DATA


@final
@frozen
class PolicyState:
    """The policy's state after a node, stored with every node.

    The guard reads only ``status``: ``Status.ENDED`` ends the branch. Every
    other field is the policy's own. The named ones are
    :class:`~convguard.LastResortPolicy`'s counters, which any policy may
    reuse; a custom policy keeps whatever else it needs in ``data``, which
    every store, export, import and replay carries as it is.

    Attributes:
        status: Where the branch stands (the one field the guard reads).
        redirections: Redirecting verdicts (and counted assistant redirects)
            since the last recovery, the warning included.
        warned: The user was told the chat will end if this goes on.
        benign_streak: Consecutive user turns with no terminable finding.
        exempt: A protective finding switched escalation off.
        exempt_until: The last user turn the exemption covers (``None``: the
            rest of the branch).
        user_turns: User turns on the branch so far.
        seen: Terminable categories seen since the last recovery.
        turn_counted: The current user turn already counted as a redirection,
            so an assistant redirect answering it counts nothing.
        detector_failed: A detector failed or timed out on the last user
            turn, so nothing may end the branch right after it (fail safe).
        data: A custom policy's own state: a read-only mapping of
            JSON-compatible values with string keys, empty by default
            (``LastResortPolicy`` leaves it so). Return a new state with a
            new mapping (``attrs.evolve(state, data={**state.data, "k": 1})``)
            rather than change nested values. A value JSON cannot hold
            raises :class:`~convguard.InvalidMessageError`.
    """

    status: Status = Status.ACTIVE
    redirections: int = 0
    warned: bool = False
    benign_streak: int = 0
    exempt: bool = False
    exempt_until: int | None = None
    user_turns: int = 0
    seen: frozenset[str] = frozenset()
    turn_counted: bool = False
    detector_failed: bool = False
    data: Mapping[str, Any] = attrs.field(
        default=EMPTY_DATA, converter=_freeze_data, hash=False, repr=lambda d: repr(dict(d))
    )

    @property
    def ended(self) -> bool:
        """Whether the branch is ended at this node."""
        return self.status is Status.ENDED

    def exempt_at(self, user_turn: int) -> bool:
        """Return whether the exemption still covers user turn number *user_turn*.

        Args:
            user_turn: A 1-based user turn number on this branch.

        Returns:
            ``True`` while the exemption holds for that turn.
        """
        return self.exempt and (self.exempt_until is None or user_turn <= self.exempt_until)


@final
@frozen
class Turn:
    """What the policy is told about one user turn.

    Attributes:
        message_id: The id the user message will be stored under.
        findings: Every finding of every detector, counted or not.
        errors: Detectors that failed on this turn.
        locale: The conversation's locale, for the support resources.
        at_risk: The conversation remembers risk: an earlier message, on
            any branch, carried a protective finding or concern.
    """

    message_id: str
    findings: tuple[Finding, ...] = ()
    errors: tuple[DetectorFailure, ...] = ()
    locale: str | None = None
    at_risk: bool = False


@final
@frozen
class Verdict:
    """What the policy decided for a user turn or an end request.

    Attributes:
        action: What the backend should do.
        state: The policy state after the turn.
        message_id: The stored node the verdict belongs to: the user
            message, or the end event of a granted end request. ``None``
            for a refused end request, which stores nothing.
        findings: Every finding of every detector, counted or not.
        reasons: The rule trace, one line each: which detector found what,
            and which rule decided.
        guidance: An instruction the backend can add to the model's system
            prompt for this turn (empty when there is nothing to say).
        errors: Detectors that failed on this turn.
        would_end: Shadow mode: the policy would have ended the branch here.
        at_risk: The turn carried protective evidence (a finding or a
            concern); the conversation remembers it, so that no branch of it
            is ended while the exemption lasts.
    """

    action: Action
    state: PolicyState
    message_id: str | None
    findings: tuple[Finding, ...] = ()
    reasons: tuple[str, ...] = ()
    guidance: str = ""
    errors: tuple[DetectorFailure, ...] = ()
    would_end: bool = False
    at_risk: bool = False

    @property
    def ended(self) -> bool:
        """Whether this verdict ended the branch."""
        return self.state.status is Status.ENDED


# -- the protocol -------------------------------------------------------------


@runtime_checkable
class Policy(Protocol):
    """**Protocol:** decides, turn by turn, how to answer a user.

    A policy is the four methods below, each pure: same inputs, same
    outputs, no I/O. ``Guard(policy=...)`` checks them when the policy is
    registered. What the guard relies on, and nothing more:

    - ``initial_state()`` is the state a branch starts from; every other
      state is one the policy returned, stored with the node it belongs to.
    - ``step`` judges a user turn: the guard stores the user message under
      ``turn.message_id`` with the returned state and verdict.
    - ``on_reply`` gives the state after an assistant reply.
    - A returned state whose ``status`` is ``Status.ENDED`` ends the branch:
      nothing more is stored under that node.
    - ``verdict.at_risk`` on a user turn makes the conversation remember
      risk, and the guard passes that record back in ``turn.at_risk`` and
      ``request_end(at_risk=...)``: a verdict depends on its branch path plus
      that record.
    - ``request_end`` grants an end by returning a verdict whose
      ``message_id`` is the *message_id* it was given: the guard stores an
      end event with the returned state under that id. It refuses with
      ``message_id=None``: the guard stores nothing, ignores the returned
      state and hands the verdict (its ``reasons`` and ``guidance``) to the
      caller. Any other id is refused as a ``ConfigurationError``.

    Optional members, read once when the guard is built (a plain attribute
    or a property will do):

    - ``max_ended_branches: int | None``: close the whole conversation once
      that many branches have ended (unless it remembers risk). Without it,
      ``None``: never closed.
    - ``protective: Collection[str]``: the categories a risk report
      (``conv.report_risk()``, the model's ``report_risk`` tool) may name.
      Without it, the built-in protective categories (``self_harm_risk``,
      ``harm_to_others_risk``).
    - ``report_risk(state, finding, *, message_id, locale) -> (state,
      verdict)``: handles the model's ``report_risk`` tool. Without it the
      event only records the risk and leaves the state as it was.

    A policy needs no :class:`~convguard.PolicyConfig`: that is
    ``LastResortPolicy``'s own options.
    """

    def initial_state(self) -> PolicyState:
        """Return the state of a branch before its first node."""
        ...

    def step(self, state: PolicyState, turn: Turn) -> tuple[PolicyState, Verdict]:
        """Judge a user turn given the state of its parent node."""
        ...

    def on_reply(self, state: PolicyState, *, redirect: bool) -> PolicyState:
        """Return the state after an assistant reply."""
        ...

    def request_end(  # noqa: PLR0913 - every input of a request, by keyword
        self,
        state: PolicyState,
        *,
        by: EndRequester,
        message_id: str,
        reason: str | None = None,
        locale: str | None = None,
        at_risk: bool = False,
        confirmed: bool = False,
    ) -> tuple[PolicyState, Verdict]:
        """Grant or refuse a request to end the branch.

        *at_risk* says whether the conversation remembers risk from any
        branch; *confirmed* whether a user who asked has confirmed that the
        end is permanent.
        """
        ...
