"""The policy: states, actions, verdicts, config, and ``LastResortPolicy``.

The policy is a pure function over frozen values::

    step(state, turn) -> (state, verdict)

It reads the findings that flowed in with the turn and never calls a
detector, a store or a clock. The same state and turn always give the same
result, which is what makes replay (invariant 6) possible.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Final,
    Literal,
    Protocol,
    final,
    runtime_checkable,
)

import attrs
import pydantic
from attrs import frozen

from ._errors import ConfigurationError
from ._findings import DetectorFailure, Finding
from ._taxonomy import PROTECTIVE, TERMINABLE

if TYPE_CHECKING:
    from typing import Self

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


@final
@frozen
class PolicyState:
    """The policy's state after a node, stored with every node.

    Attributes:
        status: Where the branch stands.
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
    """

    message_id: str
    findings: tuple[Finding, ...] = ()
    errors: tuple[DetectorFailure, ...] = ()
    locale: str | None = None


@final
@frozen
class Verdict:
    """What the policy decided for a user turn or an end request.

    Attributes:
        action: What the backend should do.
        state: The policy state after the turn.
        message_id: The stored node the verdict belongs to (``None`` for a
            refused end request, which stores nothing).
        findings: Every finding of every detector, counted or not.
        reasons: The rule trace, one line each: which detector found what,
            and which rule decided.
        guidance: An instruction the backend can add to the model's system
            prompt for this turn (empty when there is nothing to say).
        errors: Detectors that failed on this turn.
        would_end: Shadow mode: the policy would have ended the branch here.
    """

    action: Action
    state: PolicyState
    message_id: str | None
    findings: tuple[Finding, ...] = ()
    reasons: tuple[str, ...] = ()
    guidance: str = ""
    errors: tuple[DetectorFailure, ...] = ()
    would_end: bool = False

    @property
    def ended(self) -> bool:
        """Whether this verdict ended the branch."""
        return self.state.status is Status.ENDED


# -- config -----------------------------------------------------------------

_DEFAULT_RESOURCES: Final = {
    "en": (
        "If you are in immediate danger, call your local emergency number now.",
        "In the US, call or text 988 (Suicide & Crisis Lifeline).",
        "In the UK and Ireland, call Samaritans on 116 123.",
        "Elsewhere, findahelpline.com lists free, confidential helplines by country.",
    ),
}

_TEMPLATE_FIELDS: Final = {
    "categories": "abuse",
    "resources": "- a resource",
    "limit": 3,
}


class GuidanceTemplates(pydantic.BaseModel):
    """The guidance texts a verdict carries for the model, one per action.

    Templates may use ``{categories}`` (the terminable categories that
    counted), ``{limit}`` (the redirection limit) and, in ``support``,
    ``{resources}`` (the support resources of the locale, one per line).
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    allow: str = ""
    redirect: str = (
        "The user's last message is something you must not go along with "
        "({categories}). Decline briefly and without lecturing, and steer the "
        "conversation toward something you can help with."
    )
    warn: str = (
        "The user keeps pressing on something you must not go along with "
        "({categories}). Decline again, and tell them plainly and calmly that "
        "the conversation will end if they continue. Offer to help with "
        "something else."
    )

    def __init__(self, **data: Any) -> None:  # noqa: ANN401 - pydantic fields
        """Validate the templates.

        Raises:
            ConfigurationError: For an unknown or malformed placeholder.
        """
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise _config_error(exc, "invalid guidance templates") from None

    support: str = (
        "The user may be at risk of harming themselves or someone else. Respond "
        "with warmth and care, take them seriously, and do not lecture or end the "
        "conversation. Encourage them to reach out for help now and share these "
        "resources:\n{resources}"
    )
    end: str = (
        "This conversation has ended after repeated requests that could not be "
        "redirected. Do not continue it. The user can start a new chat, edit an "
        "earlier message, or send feedback."
    )

    @pydantic.field_validator("*")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(**_TEMPLATE_FIELDS)
        except (KeyError, IndexError, ValueError) as exc:
            msg = (
                f"template {value!r} uses an unknown or malformed placeholder "
                f"({exc}); use {{categories}}, {{limit}} or {{resources}}"
            )
            raise ValueError(msg) from exc
        return value


Score = Annotated[float, pydantic.Field(ge=0.0, le=1.0)]
Count = Annotated[int, pydantic.Field(ge=0)]
Positive = Annotated[int, pydantic.Field(ge=1)]


class PolicyConfig(pydantic.BaseModel):
    """Every option of :class:`LastResortPolicy`; see ``docs/policy.md``.

    Build it with keywords, or load it with :meth:`from_dict`,
    :meth:`from_json` or :meth:`from_toml`. Invalid values raise
    :class:`~convguard.ConfigurationError` listing every problem.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    terminable: frozenset[str] = TERMINABLE
    protective: frozenset[str] = PROTECTIVE
    thresholds: Mapping[str, Score] = pydantic.Field(default_factory=dict)
    default_threshold: Score = 0.5
    max_redirections: Count = 3
    category_max_redirections: Mapping[str, Count] = pydantic.Field(default_factory=dict)
    warn_before_end: bool = True
    recovery_turns: Positive | None = 3
    exemption_scope: Literal["branch"] | Positive = "branch"
    allow_user_requested_end: bool = True
    allow_assistant_requested_end: bool = True
    max_ended_branches: Positive | None = None
    mode: Literal["enforce", "shadow"] = "enforce"
    on_detector_error: Literal["ignore", "redirect"] = "ignore"
    guidance: GuidanceTemplates = GuidanceTemplates()
    support_resources: Mapping[str, tuple[str, ...]] = pydantic.Field(
        default_factory=lambda: dict(_DEFAULT_RESOURCES)
    )
    locale: str = "en"

    def __init__(self, **data: Any) -> None:  # noqa: ANN401 - pydantic fields
        """Validate the options.

        Raises:
            ConfigurationError: Listing every invalid option.
        """
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise _config_error(exc) from None

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        clash = self.terminable & self.protective
        if clash:
            msg = f"categories cannot be both terminable and protective: {sorted(clash)}"
            raise ValueError(msg)
        stray = set(self.category_max_redirections) - self.terminable
        if stray:
            msg = (
                "category_max_redirections names categories that are not "
                f"terminable: {sorted(stray)}"
            )
            raise ValueError(msg)
        if self.locale not in self.support_resources:
            msg = f"support_resources has no entry for the locale {self.locale!r}"
            raise ValueError(msg)
        return self

    def threshold(self, category: str) -> float:
        """Return the score at which a finding of *category* counts.

        Args:
            category: A category.

        Returns:
            Its threshold, or ``default_threshold``.
        """
        return self.thresholds.get(category, self.default_threshold)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build a config from a mapping, as parsed from JSON or TOML.

        Args:
            data: Option names and values.

        Returns:
            The validated config.

        Raises:
            ConfigurationError: When *data* is not a mapping or an option is
                invalid.
        """
        if not isinstance(data, Mapping):
            msg = f"a policy config must be a mapping, not {type(data).__name__}"
            raise ConfigurationError(msg)
        stray = [key for key in data if not isinstance(key, str)]
        if stray:
            msg = f"policy config option names must be strings, found {stray[0]!r}"
            raise ConfigurationError(msg)
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Build a config from a JSON document.

        Args:
            text: The JSON text.

        Returns:
            The validated config.

        Raises:
            ConfigurationError: For malformed JSON or invalid options.
        """
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
            msg = f"policy config is not valid JSON: {exc}"
            raise ConfigurationError(msg) from exc
        return cls.from_dict(data)

    @classmethod
    def from_toml(cls, source: str | Path) -> Self:
        """Build a config from a TOML file, or TOML text.

        A ``[policy]`` table is used when present, else the whole document.

        Args:
            source: A path to a ``.toml`` file, or the TOML text itself.

        Returns:
            The validated config.

        Raises:
            ConfigurationError: For an unreadable file, malformed TOML or
                invalid options.
        """
        text: str
        if isinstance(source, Path) or (
            "\n" not in source and "=" not in source and source.endswith(".toml")
        ):
            try:
                text = Path(source).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                msg = f"cannot read policy config {str(source)!r}: {exc}"
                raise ConfigurationError(msg) from exc
        else:
            text = source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = f"policy config is not valid TOML: {exc}"
            raise ConfigurationError(msg) from exc
        policy = data.get("policy", data)
        return cls.from_dict(policy)


def _config_error(
    exc: pydantic.ValidationError, what: str = "invalid policy config"
) -> ConfigurationError:
    problems = [
        f"{'.'.join(str(p) for p in err['loc']) or 'config'}: "
        + err["msg"].removeprefix("Value error, ")
        for err in exc.errors()
    ]
    return ConfigurationError(f"{what}: " + "; ".join(problems), problems)


# -- the protocol -------------------------------------------------------------


@runtime_checkable
class Policy(Protocol):
    """**Protocol:** decides, turn by turn, how to answer a user.

    Every method is pure: same inputs, same outputs, no I/O.
    """

    @property
    def config(self) -> PolicyConfig:
        """The options the guard reads too (``max_ended_branches``)."""
        ...

    def initial_state(self) -> PolicyState:
        """Return the state of a branch before its first node."""
        ...

    def step(self, state: PolicyState, turn: Turn) -> tuple[PolicyState, Verdict]:
        """Judge a user turn given the state of its parent node."""
        ...

    def on_reply(self, state: PolicyState, *, redirect: bool) -> PolicyState:
        """Return the state after an assistant reply."""
        ...

    def request_end(
        self,
        state: PolicyState,
        *,
        by: EndRequester,
        message_id: str,
        reason: str | None = None,
        locale: str | None = None,
    ) -> tuple[PolicyState, Verdict]:
        """Grant or refuse a request to end the branch."""
        ...


# -- LastResortPolicy ---------------------------------------------------------

_NO_FINDINGS: Final = ("rule 3: no terminable or protective finding counted; allow",)
_INITIAL: Final = PolicyState()


def _status(*, exempt: bool, redirections: int) -> Status:
    if exempt:
        return Status.SUPPORTING
    if redirections:
        return Status.REDIRECTING
    return Status.ACTIVE


@final
class LastResortPolicy:
    """End a branch only after redirections have failed, never a user at risk.

    With the defaults a persistent user gets REDIRECT, REDIRECT, WARN, END,
    and a user who may be at risk gets SUPPORT and is never warned or ended
    on that branch.

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

    # -- user turns -----------------------------------------------------------

    def step(self, state: PolicyState, turn: Turn) -> tuple[PolicyState, Verdict]:
        """Judge a user turn given the state of its parent node.

        Args:
            state: The state of the node the turn answers.
            turn: The findings and errors of the detectors.

        Returns:
            The new state and the verdict.
        """
        cfg = self._config
        user_turns = state.user_turns + 1
        exempt = state.exempt_at(user_turns)
        if not turn.findings and not turn.errors:
            return self._allow(state, turn, user_turns, exempt=exempt, reasons=_NO_FINDINGS)

        reasons: list[str] = []
        protective: list[Finding] = []
        terminable: list[Finding] = []
        thresholds = self._thresholds
        default = cfg.default_threshold
        for finding in turn.findings:
            category = finding.category
            if finding.score < thresholds.get(category, default):
                reasons.append(f"below threshold: {finding.describe()}")
            elif category in cfg.protective:
                protective.append(finding)
                reasons.append(f"protective: {finding.describe()}")
            elif category in cfg.terminable:
                terminable.append(finding)
                reasons.append(f"terminable: {finding.describe()}")
            else:
                reasons.append(f"informational: {finding.describe()}")
        reasons.extend(f"failed: {error.describe()}" for error in turn.errors)

        if protective:
            return self._support(state, turn, user_turns, reasons, protective)
        if terminable:
            return self._terminable(state, turn, user_turns, exempt, reasons, terminable)
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
                benign_streak=0,
                turn_counted=True,
            )
            return new, self._verdict(Action.REDIRECT, new, turn, reasons, ())
        reasons.append("rule 3: no terminable or protective finding counted; allow")
        return self._allow(state, turn, user_turns, exempt=exempt, reasons=tuple(reasons))

    def _allow(
        self,
        state: PolicyState,
        turn: Turn,
        user_turns: int,
        *,
        exempt: bool,
        reasons: tuple[str, ...],
    ) -> tuple[PolicyState, Verdict]:
        streak = state.benign_streak + 1
        redirections, warned, seen = state.redirections, state.warned, state.seen
        recovery = self._config.recovery_turns
        if recovery is not None and streak >= recovery and (redirections or warned or seen):
            redirections, warned, seen = 0, False, frozenset()
            reasons = (
                *reasons,
                f"recovery: {streak} benign turns in a row; count reset",
            )
        new = PolicyState(
            status=_status(exempt=exempt, redirections=redirections),
            redirections=redirections,
            warned=warned,
            benign_streak=streak,
            exempt=exempt,
            exempt_until=state.exempt_until if exempt else None,
            user_turns=user_turns,
            seen=seen,
            turn_counted=False,
        )
        return new, Verdict(
            Action.ALLOW,
            new,
            turn.message_id,
            turn.findings,
            reasons,
            self._config.guidance.allow,
            turn.errors,
        )

    def _support(
        self,
        state: PolicyState,
        turn: Turn,
        user_turns: int,
        reasons: list[str],
        protective: list[Finding],
    ) -> tuple[PolicyState, Verdict]:
        cfg = self._config
        scope = cfg.exemption_scope
        until = None if scope == "branch" else user_turns + scope
        categories = ", ".join(sorted({f.category for f in protective}))
        span = "the rest of the branch" if until is None else f"{scope} more user turns"
        reasons.append(
            f"rule 1: protective finding ({categories}); support, and no warning or end for {span}"
        )
        streak = state.benign_streak + 1
        redirections, warned, seen = state.redirections, state.warned, state.seen
        recovery = cfg.recovery_turns
        if recovery is not None and streak >= recovery and (redirections or warned or seen):
            redirections, warned, seen = 0, False, frozenset()
            reasons.append(f"recovery: {streak} turns in a row without a terminable finding")
        new = PolicyState(
            status=Status.SUPPORTING,
            redirections=redirections,
            warned=warned,
            benign_streak=streak,
            exempt=True,
            exempt_until=until,
            user_turns=user_turns,
            seen=seen,
            turn_counted=False,
        )
        return new, self._verdict(Action.SUPPORT, new, turn, reasons, ())

    def _terminable(  # noqa: PLR0913 - the rule reads every one of these
        self,
        state: PolicyState,
        turn: Turn,
        user_turns: int,
        exempt: bool,  # noqa: FBT001 - positional on purpose, private helper
        reasons: list[str],
        terminable: list[Finding],
    ) -> tuple[PolicyState, Verdict]:
        cfg = self._config
        categories = frozenset(f.category for f in terminable)
        seen = state.seen | categories
        limit = self.limit(seen)
        redirections, warned = state.redirections, state.warned

        def after(status: Status, redirections: int, *, warned: bool, exempt: bool) -> PolicyState:
            return PolicyState(
                status=status,
                redirections=redirections,
                warned=warned,
                benign_streak=0,
                exempt=exempt,
                exempt_until=state.exempt_until if exempt else None,
                user_turns=user_turns,
                seen=seen,
                turn_counted=True,
            )

        if exempt:
            reasons.append(
                "rule 2: terminable, but the user may be at risk (exempt); "
                "redirect, not counted, never warn or end"
            )
            new = after(Status.SUPPORTING, redirections, warned=warned, exempt=True)
            return new, self._verdict(Action.REDIRECT, new, turn, reasons, categories, limit)
        if limit == 0 or (redirections >= limit and (warned or not cfg.warn_before_end)):
            used = f"{redirections} of {limit} redirections used" + (", warned" if warned else "")
            why = "limit is 0; end at once" if limit == 0 else f"{used}; end"
            if cfg.mode == "shadow":
                reasons.append(f"rule 2: {why} (shadow mode: redirect, would end)")
                new = after(Status.REDIRECTING, redirections + 1, warned=warned, exempt=False)
                verdict = self._verdict(Action.REDIRECT, new, turn, reasons, categories, limit)
                return new, attrs.evolve(verdict, would_end=True)
            reasons.append(f"rule 2: {why}")
            new = after(Status.ENDED, redirections, warned=warned, exempt=False)
            return new, self._verdict(Action.END, new, turn, reasons, categories, limit)
        if cfg.warn_before_end and not warned and redirections + 1 >= limit:
            reasons.append(f"rule 2: redirection {redirections + 1} of {limit} is the last; warn")
            new = after(Status.REDIRECTING, redirections + 1, warned=True, exempt=False)
            return new, self._verdict(Action.WARN, new, turn, reasons, categories, limit)
        reasons.append(f"rule 2: redirection {redirections + 1} of {limit}; redirect")
        new = after(Status.REDIRECTING, redirections + 1, warned=warned, exempt=False)
        return new, self._verdict(Action.REDIRECT, new, turn, reasons, categories, limit)

    def _verdict(  # noqa: PLR0913 - one place that builds every verdict
        self,
        action: Action,
        state: PolicyState,
        turn: Turn,
        reasons: list[str],
        categories: Iterable[str],
        limit: int | None = None,
    ) -> Verdict:
        return Verdict(
            action,
            state,
            turn.message_id,
            turn.findings,
            tuple(reasons),
            self.guidance(action, categories=categories, limit=limit, locale=turn.locale),
            turn.errors,
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
        cfg = self._config
        template: str = getattr(cfg.guidance, action.value)
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

    # -- end requests ---------------------------------------------------------

    def request_end(
        self,
        state: PolicyState,
        *,
        by: EndRequester,
        message_id: str,
        reason: str | None = None,
        locale: str | None = None,
    ) -> tuple[PolicyState, Verdict]:
        """Grant or refuse a request to end the branch.

        Args:
            state: The state at the active tip.
            by: ``"user"`` or ``"assistant"``.
            message_id: The id the end event will be stored under if granted.
            reason: Why the requester wants to end, for the record.
            locale: The conversation's locale, for the guidance.

        The assistant is granted an end only at rule 2's bar: the limit
        reached, the user warned (where required) and not exempt, and not on
        the turn that was just redirected or warned: the user gets to read
        that answer and reply first.

        Returns:
            The new state and the verdict: END when granted; otherwise SUPPORT
            (the user may be at risk), REDIRECT (redirections outstanding) or
            ALLOW, with ``reasons`` saying why.
        """
        cfg = self._config
        exempt = state.exempt_at(state.user_turns)
        asked = f"end requested by the {by}" + (f": {reason}" if reason else "")
        refusal: str | None = None
        if by == "user":
            if not cfg.allow_user_requested_end:
                refusal = "user-requested ends are switched off (allow_user_requested_end)"
            elif exempt:
                refusal = (
                    "the user may be at risk of harm; keep supporting them and do "
                    "not end the conversation"
                )
        else:
            refusal = self._assistant_refusal(state, exempt=exempt)
        if refusal is not None:
            if exempt:
                action = Action.SUPPORT
            elif state.redirections:
                action = Action.REDIRECT
            else:
                action = Action.ALLOW
            limit = self.limit(state.seen)
            return state, Verdict(
                action,
                state,
                None,
                reasons=(asked, f"refused: {refusal}"),
                guidance=self.guidance(action, categories=state.seen, limit=limit, locale=locale),
            )
        if cfg.mode == "shadow":
            return state, Verdict(
                Action.REDIRECT,
                state,
                None,
                reasons=(asked, "granted (shadow mode: nothing ended, would end)"),
                guidance=self.guidance(Action.REDIRECT, categories=state.seen, locale=locale),
                would_end=True,
            )
        new = attrs.evolve(state, status=Status.ENDED, turn_counted=True)
        return new, Verdict(
            Action.END,
            new,
            message_id,
            reasons=(asked, "granted: the branch is ended"),
            guidance=self.guidance(Action.END, locale=locale),
        )

    def _assistant_refusal(self, state: PolicyState, *, exempt: bool) -> str | None:
        cfg = self._config
        if not cfg.allow_assistant_requested_end:
            return (
                "assistant-requested ends are switched off "
                "(allow_assistant_requested_end); keep redirecting"
            )
        if exempt:
            return (
                "the user may be at risk of harm; keep supporting them and do "
                "not end the conversation"
            )
        limit = self.limit(state.seen)
        needed = max(limit, 1)
        if state.redirections < needed:
            return (
                f"ending is a last resort: only {state.redirections} of {needed} "
                "redirections so far; decline and steer the conversation elsewhere"
            )
        if cfg.warn_before_end and limit > 0 and not state.warned:
            return (
                "the user has not been warned yet; tell them plainly that the "
                "conversation will end if this goes on"
            )
        if state.turn_counted:
            # Rule 2 ends only on a turn *after* the last redirection: the user
            # must get the chance to read the warning and change course.
            return (
                "the user has just been redirected or warned on this turn; deliver "
                "that answer and let them reply before ending"
            )
        return None
