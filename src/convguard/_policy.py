"""``LastResortPolicy``: end a branch only as a last resort, never a user at risk.

The policy is a pure function over frozen values::

    step(state, turn) -> (state, verdict)

It reads the findings that flowed in with the turn and never calls a
detector, a store or a clock. The same state and turn always give the same
result, which is what makes replay (invariant 6) possible. The values it
reads and returns, and the ``Policy`` protocol, live in ``_state.py``; its
options in ``_config.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, final

import attrs
from attrs import frozen

from ._config import GuidanceTemplates, PolicyConfig
from ._end_refusals import UNCONFIRMED, assistant_refusal, user_refusal
from ._errors import ConfigurationError
from ._findings import Finding
from ._state import Action, EndRequester, Policy, PolicyState, Status, Turn, Verdict

__all__ = [
    "Action",
    "EndRequester",
    "GuidanceTemplates",
    "LastResortPolicy",
    "Policy",
    "PolicyConfig",
    "PolicyState",
    "Status",
    "Turn",
    "Verdict",
]

# -- LastResortPolicy ---------------------------------------------------------

_NO_FINDINGS: Final = ("rule 3: no terminable or protective finding counted; allow",)
_INITIAL: Final = PolicyState()


def _status(*, exempt: bool, redirections: int) -> Status:
    if exempt:
        return Status.SUPPORTING
    if redirections:
        return Status.REDIRECTING
    return Status.ACTIVE


@frozen
class _Reading:
    """One user turn's findings, sorted by what they mean to the policy."""

    reasons: list[str]
    protective: list[Finding]
    concerns: list[Finding]
    terminable: list[Finding]


@final
class LastResortPolicy:
    """End a branch only after redirections have failed, never a user at risk.

    With the defaults a persistent user gets REDIRECT, REDIRECT, WARN, END,
    and a user who may be at risk (on any branch of the conversation) gets
    SUPPORT and is never warned or ended.

    Args:
        config: The options; the defaults when omitted.

    Raises:
        ConfigurationError: When *config* is not a :class:`PolicyConfig`.
    """

    __slots__ = ("_config", "_limit_cache", "_thresholds")

    def __init__(self, config: PolicyConfig | None = None) -> None:
        """Build the policy from *config*."""
        if config is None:
            config = PolicyConfig()
        if not isinstance(config, PolicyConfig):
            msg = f"config must be a PolicyConfig, not {type(config).__name__}"
            raise ConfigurationError(msg)
        self._config = config
        self._thresholds = dict(config.thresholds)
        self._limit_cache: dict[frozenset[str], int] = {}

    def __repr__(self) -> str:
        """Show the options that differ from the defaults."""
        changed = self._config.model_dump(exclude_defaults=True)
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"LastResortPolicy(PolicyConfig({args}))"

    @property
    def config(self) -> PolicyConfig:
        """The policy's options."""
        return self._config

    @property
    def max_ended_branches(self) -> int | None:
        """Ended branches that close the conversation (``config.max_ended_branches``)."""
        return self._config.max_ended_branches

    @property
    def protective(self) -> frozenset[str]:
        """The categories a risk report may name (``config.protective``)."""
        return self._config.protective

    def initial_state(self) -> PolicyState:
        """Return the state of a branch before its first node."""
        return _INITIAL

    def limit(self, seen: Iterable[str]) -> int:
        """Return the redirection limit given the terminable categories seen.

        Args:
            seen: Terminable categories seen since the last recovery.

        Returns:
            The smallest ``category_max_redirections`` override among them,
            or ``max_redirections`` when none has one.
        """
        key = frozenset(seen)
        cached = self._limit_cache.get(key)
        if cached is None:
            overrides = self._config.category_max_redirections
            own = [overrides[c] for c in key if c in overrides]
            cached = min(own) if own else self._config.max_redirections
            self._limit_cache[key] = cached
        return cached

    def exempt(self, state: PolicyState, user_turn: int, *, at_risk: bool) -> bool:
        """Return whether the exemption covers user turn *user_turn*.

        Args:
            state: The state of the node before the turn.
            user_turn: A 1-based user turn number on the branch.
            at_risk: The conversation remembers risk from any branch.

        Returns:
            ``True`` while no warning or end may happen.
        """
        return state.exempt_at(user_turn) or (at_risk and self._config.exempt_conversation)

    # -- user turns -----------------------------------------------------------

    def step(self, state: PolicyState, turn: Turn) -> tuple[PolicyState, Verdict]:
        """Judge a user turn given the state of its parent node.

        Args:
            state: The state of the node the turn answers.
            turn: The findings and errors of the detectors, and whether the
                conversation remembers risk.

        Returns:
            The new state and the verdict.
        """
        cfg = self._config
        user_turns = state.user_turns + 1
        exempt = self.exempt(state, user_turns, at_risk=turn.at_risk)
        until = state.exempt_until if state.exempt_at(user_turns) else None
        if not turn.findings and not turn.errors:
            return self._allow(state, turn, user_turns, (exempt, until), _NO_FINDINGS)

        reading = self._read(turn)
        reasons = reading.reasons
        if reading.protective:
            return self._support(state, turn, user_turns, reasons, reading.protective)
        if reading.concerns:
            exempt, until = True, self._until(user_turns)
            categories = ", ".join(sorted({f.category for f in reading.concerns}))
            reasons.append(
                f"rule 1: protective concern ({categories}); no warning or end for "
                f"{self._span(until)}, and check in gently"
            )
        if reading.terminable:
            return self._terminable(
                state, turn, user_turns, (exempt, until), reasons, reading.terminable
            )
        if turn.errors and cfg.on_detector_error == "redirect":
            reasons.append(
                "rule 3: a detector failed and on_detector_error is 'redirect'; "
                "redirect, not counted"
            )
            new = attrs.evolve(
                state,
                status=_status(exempt=exempt, redirections=state.redirections),
                user_turns=user_turns,
                exempt=exempt,
                exempt_until=until if exempt else None,
                benign_streak=0,
                turn_counted=True,
                detector_failed=True,
            )
            return new, self._verdict(Action.REDIRECT, new, turn, reasons, ())
        reasons.append("rule 3: no terminable or protective finding counted; allow")
        return self._allow(state, turn, user_turns, (exempt, until), tuple(reasons))

    def _read(self, turn: Turn) -> _Reading:
        cfg = self._config
        thresholds = self._thresholds
        default = cfg.default_threshold
        concern = cfg.concern_threshold
        reading = _Reading([], [], [], [])
        for finding in turn.findings:
            category = finding.category
            protective = category in cfg.protective
            if finding.score >= thresholds.get(category, default):
                if protective:
                    reading.protective.append(finding)
                    reading.reasons.append(f"protective: {finding.describe()}")
                elif category in cfg.terminable:
                    reading.terminable.append(finding)
                    reading.reasons.append(f"terminable: {finding.describe()}")
                else:
                    reading.reasons.append(f"informational: {finding.describe()}")
            elif protective and concern is not None and finding.score >= concern:
                reading.concerns.append(finding)
                reading.reasons.append(f"concern: {finding.describe()}")
            else:
                reading.reasons.append(f"below threshold: {finding.describe()}")
        reading.reasons.extend(f"failed: {error.describe()}" for error in turn.errors)
        return reading

    def _until(self, user_turns: int) -> int | None:
        scope = self._config.exemption_scope
        return None if isinstance(scope, str) else user_turns + scope

    def _span(self, until: int | None) -> str:
        if until is not None:
            return f"{self._config.exemption_scope} more user turns"
        if self._config.exempt_conversation:
            return "every branch of the conversation"
        return "the rest of the branch"

    def _recover(self, state: PolicyState, reasons: list[str]) -> PolicyState:
        """Return *state* after one more benign turn: a long enough streak resets the count."""
        streak = state.benign_streak + 1
        recovery = self._config.recovery_turns
        if (
            recovery is not None
            and streak >= recovery
            and (state.redirections or state.warned or state.seen)
        ):
            reasons.append(f"recovery: {streak} benign turns in a row; count reset")
            return attrs.evolve(
                state, benign_streak=streak, redirections=0, warned=False, seen=frozenset()
            )
        return attrs.evolve(state, benign_streak=streak)

    def _allow(
        self,
        state: PolicyState,
        turn: Turn,
        user_turns: int,
        exemption: tuple[bool, int | None],
        reasons: tuple[str, ...],
    ) -> tuple[PolicyState, Verdict]:
        exempt, until = exemption
        trace = list(reasons)
        recovered = self._recover(state, trace)
        new = attrs.evolve(
            recovered,
            status=_status(exempt=exempt, redirections=recovered.redirections),
            exempt=exempt,
            exempt_until=until if exempt else None,
            user_turns=user_turns,
            turn_counted=False,
            detector_failed=bool(turn.errors),
        )
        return new, self._verdict(Action.ALLOW, new, turn, trace, ())

    def _support(
        self,
        state: PolicyState,
        turn: Turn,
        user_turns: int,
        reasons: list[str],
        protective: list[Finding],
    ) -> tuple[PolicyState, Verdict]:
        until = self._until(user_turns)
        categories = ", ".join(sorted({f.category for f in protective}))
        reasons.append(
            f"rule 1: protective finding ({categories}); support, and no warning or end "
            f"for {self._span(until)}"
        )
        new = attrs.evolve(
            self._recover(state, reasons),
            status=Status.SUPPORTING,
            exempt=True,
            exempt_until=until,
            user_turns=user_turns,
            turn_counted=False,
            detector_failed=bool(turn.errors),
        )
        return new, self._verdict(Action.SUPPORT, new, turn, reasons, ())

    def _terminable(  # noqa: PLR0913 - the rule reads every one of these
        self,
        state: PolicyState,
        turn: Turn,
        user_turns: int,
        exemption: tuple[bool, int | None],
        reasons: list[str],
        terminable: list[Finding],
    ) -> tuple[PolicyState, Verdict]:
        cfg = self._config
        exempt, until = exemption
        categories = frozenset(f.category for f in terminable)
        seen = state.seen | categories
        limit = self.limit(seen)
        redirections, warned = state.redirections, state.warned

        def after(status: Status, redirections: int, *, warned: bool) -> PolicyState:
            return attrs.evolve(
                state,
                status=status,
                redirections=redirections,
                warned=warned,
                benign_streak=0,
                exempt=exempt,
                exempt_until=until if exempt else None,
                user_turns=user_turns,
                seen=seen,
                turn_counted=True,
                detector_failed=bool(turn.errors),
            )

        def verdict(action: Action, new: PolicyState) -> tuple[PolicyState, Verdict]:
            return new, self._verdict(action, new, turn, reasons, categories, limit)

        if exempt:
            reasons.append(
                "rule 2: terminable, but the user may be at risk (exempt); "
                "redirect, not counted, never warn or end"
            )
            return verdict(Action.REDIRECT, after(Status.SUPPORTING, redirections, warned=warned))
        if limit == 0 or (redirections >= limit and (warned or not cfg.warn_before_end)):
            used = f"{redirections} of {limit} redirections used" + (", warned" if warned else "")
            why = "limit is 0; end at once" if limit == 0 else f"{used}; end"
            if turn.errors:
                reasons.append(
                    f"rule 2: {why}, but a detector failed on this turn (fail safe); "
                    "redirect instead"
                )
                new = after(Status.REDIRECTING, redirections + 1, warned=warned)
                return verdict(Action.REDIRECT, new)
            if cfg.mode == "shadow":
                reasons.append(f"rule 2: {why} (shadow mode: redirect, would end)")
                new = after(Status.REDIRECTING, redirections + 1, warned=warned)
                new, shadow = verdict(Action.REDIRECT, new)
                return new, attrs.evolve(shadow, would_end=True)
            reasons.append(f"rule 2: {why}")
            return verdict(Action.END, after(Status.ENDED, redirections, warned=warned))
        if cfg.warn_before_end and not warned and redirections + 1 >= limit:
            reasons.append(f"rule 2: redirection {redirections + 1} of {limit} is the last; warn")
            return verdict(Action.WARN, after(Status.REDIRECTING, redirections + 1, warned=True))
        reasons.append(f"rule 2: redirection {redirections + 1} of {limit}; redirect")
        return verdict(Action.REDIRECT, after(Status.REDIRECTING, redirections + 1, warned=warned))

    def _verdict(  # noqa: PLR0913 - one place that builds every verdict
        self,
        action: Action,
        state: PolicyState,
        turn: Turn,
        reasons: list[str],
        categories: Iterable[str],
        limit: int | None = None,
    ) -> Verdict:
        guidance = self.guidance(action, categories=categories, limit=limit, locale=turn.locale)
        concern = action is not Action.SUPPORT and any(
            r.startswith("rule 1: protective concern") for r in reasons
        )
        if concern:
            guidance = "\n\n".join(g for g in (guidance, self._config.guidance.concern) if g)
        return Verdict(
            action=action,
            state=state,
            message_id=turn.message_id,
            findings=turn.findings,
            reasons=tuple(reasons),
            guidance=guidance,
            errors=turn.errors,
            at_risk=action is Action.SUPPORT or concern,
        )

    def guidance(
        self,
        action: Action,
        *,
        categories: Iterable[str] = (),
        limit: int | None = None,
        locale: str | None = None,
    ) -> str:
        """Return the guidance text for *action*, filled in.

        Args:
            action: The verdict's action.
            categories: The terminable categories that counted.
            limit: The redirection limit in force.
            locale: The conversation's locale; the config's when ``None`` or
                unknown.

        Returns:
            The instruction for the model.
        """
        template: str = getattr(self._config.guidance, action.value)
        return self._fill(template, categories=categories, limit=limit, locale=locale)

    def _fill(
        self,
        template: str,
        *,
        categories: Iterable[str] = (),
        limit: int | None = None,
        locale: str | None = None,
    ) -> str:
        cfg = self._config
        resources = cfg.support_resources.get(
            locale or cfg.locale, cfg.support_resources[cfg.locale]
        )
        return template.format(
            categories=", ".join(sorted(categories)) or "harmful content",
            limit=cfg.max_redirections if limit is None else limit,
            resources="\n".join(f"- {line}" for line in resources),
        )

    # -- assistant turns ------------------------------------------------------

    def on_reply(self, state: PolicyState, *, redirect: bool) -> PolicyState:
        """Return the state after an assistant reply.

        A redirecting reply counts one redirection when the user turn it
        answers was allowed; each user turn counts once, and nothing counts
        while the user is exempt.

        Args:
            state: The state of the node the reply answers.
            redirect: The assistant declined and steered elsewhere on its own.

        Returns:
            The new state (the same object when nothing changed).
        """
        if (
            not redirect
            or state.turn_counted
            or state.user_turns == 0
            or state.exempt_at(state.user_turns)
        ):
            return state
        return attrs.evolve(
            state,
            status=Status.REDIRECTING,
            redirections=state.redirections + 1,
            benign_streak=0,
            turn_counted=True,
        )

    # -- risk reported by the model -------------------------------------------

    def report_risk(
        self,
        state: PolicyState,
        finding: Finding,
        *,
        message_id: str,
        locale: str | None = None,
    ) -> tuple[PolicyState, Verdict]:
        """Take the model's report that the user may be at risk (``report_risk``).

        It counts as a protective finding (rule 1) without a user turn: the
        branch is exempt from here on, the conversation remembers the risk,
        and the verdict is SUPPORT with the support resources.

        Args:
            state: The state at the active tip.
            finding: The protective finding the report carries.
            message_id: The id the event node will be stored under.
            locale: The conversation's locale, for the resources.

        Returns:
            The new state and the verdict.
        """
        until = self._until(state.user_turns)
        new = attrs.evolve(state, status=Status.SUPPORTING, exempt=True, exempt_until=until)
        reasons = [
            f"protective: {finding.describe()}",
            (
                f"rule 1: risk reported by the assistant ({finding.category}); support, and "
                f"no warning or end for {self._span(until)}"
            ),
        ]
        turn = Turn(message_id=message_id, findings=(finding,), locale=locale)
        return new, self._verdict(Action.SUPPORT, new, turn, reasons, ())

    # -- end requests ---------------------------------------------------------

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

        Args:
            state: The state at the active tip.
            by: ``"user"`` or ``"assistant"``.
            message_id: The id the end event will be stored under if granted.
            reason: Why the requester wants to end, for the record.
            locale: The conversation's locale, for the guidance.
            at_risk: The conversation remembers risk from any branch.
            confirmed: The user confirmed that the end is permanent for this
                conversation (``confirm_user_end``).

        The assistant is granted an end only at rule 2's bar: the limit
        reached, the user warned (where required) and not exempt, and not on
        the turn that was just redirected or warned, nor right after a turn
        on which a detector failed. The user is granted one unless exempt,
        once they have confirmed (unless ``confirm_user_end`` is off).

        Returns:
            The new state and the verdict: END when granted; otherwise SUPPORT
            (the user may be at risk), REDIRECT (redirections outstanding) or
            ALLOW, with ``reasons`` saying why and ``guidance`` what to do.
        """
        cfg = self._config
        exempt = self.exempt(state, state.user_turns, at_risk=at_risk)
        asked = f"end requested by the {by}" + (f": {reason}" if reason else "")
        limit = self.limit(state.seen)
        refusal: str | None
        if by == "user":
            refusal = user_refusal(cfg, state, exempt=exempt, confirmed=confirmed)
        else:
            refusal = assistant_refusal(cfg, state, exempt=exempt, limit=limit)
        if refusal is not None:
            if exempt:
                action = Action.SUPPORT
            elif state.redirections:
                action = Action.REDIRECT
            else:
                action = Action.ALLOW
            guidance = self.guidance(action, categories=state.seen, limit=limit, locale=locale)
            if refusal == UNCONFIRMED:
                guidance = self._fill(cfg.guidance.confirm_end, locale=locale)
            return state, Verdict(
                action=action,
                state=state,
                message_id=None,
                reasons=(asked, f"refused: {refusal}"),
                guidance=guidance,
            )
        if cfg.mode == "shadow":
            return state, Verdict(
                action=Action.REDIRECT,
                state=state,
                message_id=None,
                reasons=(asked, "granted (shadow mode: nothing ended, would end)"),
                guidance=self.guidance(Action.REDIRECT, categories=state.seen, locale=locale),
                would_end=True,
            )
        new = attrs.evolve(state, status=Status.ENDED, turn_counted=True)
        return new, Verdict(
            action=Action.END,
            state=new,
            message_id=message_id,
            reasons=(asked, "granted: the branch is ended"),
            guidance=self.guidance(Action.END, locale=locale),
        )
