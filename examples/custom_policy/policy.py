"""A custom policy, written from scratch against convguard's Policy protocol.

``TwoStrikesPolicy`` redirects the first terminable request and ends the
branch at the second, without a separate warning turn (its first redirection
is the warning). Like the default policy it never ends a user who may be at
risk (on any branch: ``turn.at_risk`` carries the conversation's risk record),
never ends on a turn where a detector failed, and three benign turns in a row
wipe the slate clean.

Its tests are in ``test_policy.py`` and ``two_strikes.convguard.toml``.
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

import convguard as cg

RECOVERY_TURNS: Final = 3


class TwoStrikesPolicy:
    """Redirect once, then end; never end a user at risk."""

    def __init__(self) -> None:
        """Describe the policy in the options the guard and the contract read."""
        self.config = cg.PolicyConfig(
            max_redirections=1, warn_before_end=False, recovery_turns=RECOVERY_TURNS
        )

    def initial_state(self) -> cg.PolicyState:
        """Start every branch clean."""
        return cg.PolicyState()

    def _counted(
        self, turn: cg.Turn, categories: frozenset[str], floor: float | None = None
    ) -> list[cg.Finding]:
        return [
            f
            for f in turn.findings
            if f.category in categories and f.score >= (floor or self.config.threshold(f.category))
        ]

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        """Judge one user turn from the state of its parent."""
        turns = state.user_turns + 1
        if turn.at_risk and not state.exempt:  # risk seen on another branch
            state = attrs.evolve(state, exempt=True, status=cg.Status.SUPPORTING)
        # Any protective evidence, concerns included, gets support here.
        if self._counted(turn, self.config.protective, self.config.concern_threshold):
            new = attrs.evolve(
                state,
                status=cg.Status.SUPPORTING,
                exempt=True,
                user_turns=turns,
                benign_streak=state.benign_streak + 1,
            )
            return new, self._verdict(cg.Action.SUPPORT, new, turn, "protective: support")
        if self._counted(turn, self.config.terminable):
            return self._strike(state, turn, turns)
        streak = state.benign_streak + 1
        redirections = 0 if streak >= RECOVERY_TURNS else state.redirections
        status = state.status if state.exempt or redirections else cg.Status.ACTIVE
        new = attrs.evolve(
            state,
            status=status,
            user_turns=turns,
            benign_streak=streak,
            redirections=redirections,
        )
        return new, self._verdict(cg.Action.ALLOW, new, turn, "nothing counted: allow")

    def _strike(
        self, state: cg.PolicyState, turn: cg.Turn, turns: int
    ) -> tuple[cg.PolicyState, cg.Verdict]:
        if state.exempt:
            new = attrs.evolve(state, user_turns=turns, benign_streak=0)
            return new, self._verdict(cg.Action.REDIRECT, new, turn, "at risk: redirect only")
        if state.redirections >= 1 and not turn.errors:
            new = attrs.evolve(state, status=cg.Status.ENDED, user_turns=turns, benign_streak=0)
            return new, self._verdict(cg.Action.END, new, turn, "second strike: end")
        new = attrs.evolve(
            state,
            status=cg.Status.REDIRECTING,
            redirections=1,
            user_turns=turns,
            benign_streak=0,
        )
        return new, self._verdict(cg.Action.REDIRECT, new, turn, "first strike: redirect")

    def _verdict(
        self, action: cg.Action, state: cg.PolicyState, turn: cg.Turn, reason: str
    ) -> cg.Verdict:
        at_risk = action is cg.Action.SUPPORT  # the conversation remembers it
        return cg.Verdict(action, state, turn.message_id, turn.findings, (reason,), at_risk=at_risk)

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
        """End on request, except for a user at risk or an assistant with no strike yet."""
        if state.exempt or at_risk:
            refusal = "refused: the user may be at risk; keep supporting them"
            return state, cg.Verdict(cg.Action.SUPPORT, state, None, reasons=(refusal,))
        if by == "assistant" and state.redirections < 1:
            refusal = "refused: redirect the user first"
            return state, cg.Verdict(cg.Action.ALLOW, state, None, reasons=(refusal,))
        new = attrs.evolve(state, status=cg.Status.ENDED)
        return new, cg.Verdict(cg.Action.END, new, message_id, reasons=(f"ended by the {by}",))
