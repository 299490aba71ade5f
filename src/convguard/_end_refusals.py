"""Why a request to end a branch is refused: the policy's bar for each requester.

A user may end a branch unless they may be at risk, once they have
confirmed; the assistant only at rule 2's bar. Each function returns the
first reason that holds, said to the model, or ``None`` to grant the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._config import PolicyConfig
    from ._state import PolicyState

__all__ = ["AT_RISK", "UNCONFIRMED", "assistant_refusal", "user_refusal"]

AT_RISK: Final = (
    "the user may be at risk of harm; keep supporting them and do not end the conversation"
)
UNCONFIRMED: Final = (
    "the user has not confirmed yet; ask them to confirm that they understand the "
    "end is permanent for this conversation, then call again with confirmed=True"
)


def user_refusal(
    cfg: PolicyConfig, state: PolicyState, *, exempt: bool, confirmed: bool
) -> str | None:
    """Return why a user's request to end is refused, or ``None`` to grant it."""
    if not cfg.allow_user_requested_end:
        return "user-requested ends are switched off (allow_user_requested_end)"
    if exempt:
        return AT_RISK
    if state.user_turns == 0:
        # An end here would leave no way forward but a new chat: nothing to edit.
        return "the user has sent nothing on this branch yet: there is nothing to end"
    if cfg.confirm_user_end and not confirmed:
        return UNCONFIRMED
    return None


def assistant_refusal(
    cfg: PolicyConfig, state: PolicyState, *, exempt: bool, limit: int
) -> str | None:
    """Return why the assistant's request to end is refused, or ``None`` to grant it.

    The assistant is held to rule 2's bar; *limit* is the redirection limit in force.
    """
    needed = max(limit, 1)
    # The first that holds is the reason. Rule 2 ends only on a turn *after*
    # the last redirection, so the user can read the warning and change course.
    refusals = (
        (
            not cfg.allow_assistant_requested_end,
            (
                "assistant-requested ends are switched off "
                "(allow_assistant_requested_end); keep redirecting"
            ),
        ),
        (exempt, AT_RISK),
        (
            state.detector_failed,
            (
                "a detector failed on the user's last turn, so it may have missed a "
                "sign of risk (fail safe); keep redirecting"
            ),
        ),
        (
            state.redirections < needed,
            (
                f"ending is a last resort: only {state.redirections} of {needed} "
                "redirections so far; decline and steer the conversation elsewhere"
            ),
        ),
        (
            cfg.warn_before_end and limit > 0 and not state.warned,
            (
                "the user has not been warned yet; tell them plainly that the "
                "conversation will end if this goes on"
            ),
        ),
        (
            state.turn_counted,
            (
                "the user has just been redirected or warned on this turn; deliver "
                "that answer and let them reply before ending"
            ),
        ),
    )
    return next((why for holds, why in refusals if holds), None)
