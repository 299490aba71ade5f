"""A custom policy, written from scratch against convguard's Policy protocol.

``TwoStrikesPolicy`` redirects the first terminable request and ends the
branch at the second, without a separate warning turn (its first redirection
is the warning). Like the default policy it never ends a user who may be at
risk (on any branch: ``turn.at_risk`` carries the conversation's risk record),
never ends on a turn where a detector failed, and three benign turns in a row
wipe the slate clean.

It needs no ``PolicyConfig``: the guard relies only on the four methods of
the ``Policy`` protocol, and reads nothing of a state but its ``status``.
The strike count is this policy's own, kept in ``state.data["strikes"]``
(stored, exported and replayed with every node); the other counters it uses
are ``PolicyState`` fields any policy may reuse. The optional
``max_ended_branches`` closes a conversation after that many ended branches.

Its tests are in ``test_policy.py`` and ``two_strikes.convguard.toml``.
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

import convguard as cg

RECOVERY_TURNS: Final = 3
TERMINABLE: Final = frozenset(
    {cg.Category.ABUSE, cg.Category.MASS_VIOLENCE, cg.Category.CHILD_SEXUAL_CONTENT}
)
PROTECTIVE: Final = frozenset({cg.Category.SELF_HARM_RISK, cg.Category.HARM_TO_OTHERS_RISK})
THRESHOLD: Final = 0.5
"""A finding counts from this score."""
CONCERN: Final = 0.3
"""A protective finding counts from this lower score: better a kind word too many."""


def _counted(turn: cg.Turn, categories: frozenset[str], floor: float) -> bool:
    return any(f.category in categories and f.score >= floor for f in turn.findings)


def strikes(state: cg.PolicyState) -> int:
    """Return the strikes counted on the branch since the slate was last wiped."""
    return int(state.data.get("strikes", 0))


def _with_strikes(state: cg.PolicyState, count: int) -> dict[str, object]:
    return {**state.data, "strikes": count}


def _refusal(action: cg.Action, state: cg.PolicyState, reason: str) -> cg.Verdict:
    return cg.Verdict(action=action, state=state, message_id=None, reasons=(reason,))


class TwoStrikesPolicy:
    """Redirect once, then end; never end a user at risk.

    Args:
        max_ended_branches: Close the conversation after that many ended
            branches (``None``: never).
    """

    def __init__(self, max_ended_branches: int | None = None) -> None:
        """Keep the one option the guard reads, besides the four methods."""
        self.max_ended_branches = max_ended_branches

    def initial_state(self) -> cg.PolicyState:
        """Start every branch clean."""
        return cg.PolicyState()

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        """Judge one user turn from the state of its parent."""
        turns = state.user_turns + 1
        if turn.at_risk and not state.exempt:  # risk seen on another branch
            state = attrs.evolve(state, exempt=True, status=cg.Status.SUPPORTING)
        # Any protective evidence, concerns included, gets support here.
        if _counted(turn, PROTECTIVE, CONCERN):
            new = attrs.evolve(
                state,
                status=cg.Status.SUPPORTING,
                exempt=True,
                user_turns=turns,
                benign_streak=state.benign_streak + 1,
            )
            return new, self._verdict(cg.Action.SUPPORT, new, turn, "protective: support")
        if _counted(turn, TERMINABLE, THRESHOLD):
            return self._strike(state, turn, turns)
        streak = state.benign_streak + 1
        count = 0 if streak >= RECOVERY_TURNS else strikes(state)
        status = state.status if state.exempt or count else cg.Status.ACTIVE
        new = attrs.evolve(
            state,
            status=status,
            user_turns=turns,
            benign_streak=streak,
            data=_with_strikes(state, count),
        )
        return new, self._verdict(cg.Action.ALLOW, new, turn, "nothing counted: allow")

    def _strike(
        self, state: cg.PolicyState, turn: cg.Turn, turns: int
    ) -> tuple[cg.PolicyState, cg.Verdict]:
        if state.exempt:
            new = attrs.evolve(state, user_turns=turns, benign_streak=0)
            return new, self._verdict(cg.Action.REDIRECT, new, turn, "at risk: redirect only")
        if strikes(state) >= 1 and not turn.errors:
            new = attrs.evolve(state, status=cg.Status.ENDED, user_turns=turns, benign_streak=0)
            return new, self._verdict(cg.Action.END, new, turn, "second strike: end")
        new = attrs.evolve(
            state,
            status=cg.Status.REDIRECTING,
            data=_with_strikes(state, 1),
            user_turns=turns,
            benign_streak=0,
        )
        return new, self._verdict(cg.Action.REDIRECT, new, turn, "first strike: redirect")

    def _verdict(
        self, action: cg.Action, state: cg.PolicyState, turn: cg.Turn, reason: str
    ) -> cg.Verdict:
        at_risk = action is cg.Action.SUPPORT  # the conversation remembers it
        return cg.Verdict(
            action=action,
            state=state,
            message_id=turn.message_id,
            findings=turn.findings,
            reasons=(reason,),
            at_risk=at_risk,
        )

    def on_reply(self, state: cg.PolicyState, *, redirect: bool) -> cg.PolicyState:  # noqa: ARG002 - part of the protocol
        """Assistant replies never count as strikes."""
        return state

    def request_end(  # noqa: PLR0913 - the protocol passes every input by keyword
        self,
        state: cg.PolicyState,
        *,
        by: Literal["user", "assistant"],
        message_id: str,
        reason: str | None = None,  # noqa: ARG002 - part of the protocol
        locale: str | None = None,  # noqa: ARG002 - part of the protocol
        at_risk: bool = False,
        confirmed: bool = False,  # noqa: ARG002 - this product's UI confirms ends itself
    ) -> tuple[cg.PolicyState, cg.Verdict]:
        """End on request, except for a user at risk or an assistant with no strike yet.

        A refusal names no message (``message_id=None``), so nothing is
        stored; a grant names the *message_id* given, where the guard stores
        the end event.
        """
        if state.exempt or at_risk:
            refusal = "refused: the user may be at risk; keep supporting them"
            return state, _refusal(cg.Action.SUPPORT, state, refusal)
        if by == "assistant" and strikes(state) < 1:
            return state, _refusal(cg.Action.ALLOW, state, "refused: redirect the user first")
        new = attrs.evolve(state, status=cg.Status.ENDED)
        return new, cg.Verdict(
            action=cg.Action.END, state=new, message_id=message_id, reasons=(f"ended by the {by}",)
        )
