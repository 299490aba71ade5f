"""The shared, sans-IO half of a turn, used by the sync and async guards.

Everything here is pure given its inputs: no store, no awaiting. The guards
add the I/O around it (read the head, run detectors, compare-and-set), so no
rule is written twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, final

import attrs

from ._errors import (
    ConfigurationError,
    ConversationEndedError,
    InvalidMessageError,
    InvalidOperationError,
    StoreConflictError,
)
from ._findings import DetectorFailure, Finding
from ._json_shape import shape_problem
from ._state import Action, EndRequester, Policy, PolicyState, Turn, Verdict
from ._taxonomy import PROTECTIVE
from ._tree import EMPTY_METADATA, Message, Role, check_id
from .detectors._normalize import normalize
from .detectors._protocols import DetectionContext
from .stores._base import Feedback, Head

__all__ = ["Engine", "new_id", "utc_now"]

_MAX_METADATA_BYTES: Final = 64_000
_ADDED_ROLES: Final = frozenset({Role.ASSISTANT, Role.SYSTEM, Role.TOOL})


def utc_now() -> datetime:
    """Return the current time, timezone-aware (the default clock)."""
    return datetime.now(UTC)


def new_id() -> str:
    """Return a new random id (32 hex digits)."""
    return uuid.uuid4().hex


def _max_ended_branches(policy: Policy) -> int | None:
    """Read the policy's optional ``max_ended_branches`` (``None`` when it has none)."""
    limit = getattr(policy, "max_ended_branches", None)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        msg = (
            f"policy {policy!r}: max_ended_branches must be a positive integer or None, "
            f"got {limit!r}"
        )
        raise ConfigurationError(msg)
    return limit


def _protective(policy: Policy) -> frozenset[str]:
    """Read the policy's optional ``protective`` categories (the built-in ones when it has none)."""
    categories = getattr(policy, "protective", PROTECTIVE)
    if isinstance(categories, str | bytes) or not isinstance(categories, Collection):
        msg = (
            f"policy {policy!r}: protective must be a collection of category names, "
            f"got {categories!r}"
        )
        raise ConfigurationError(msg)
    if not all(isinstance(c, str) for c in categories):
        msg = f"policy {policy!r}: protective must hold category names (str), got {categories!r}"
        raise ConfigurationError(msg)
    return frozenset(categories)


# Characters that show nothing: zero-width spaces and joiners, the BOM, the
# word joiner, soft hyphen, bidi controls and the Mongolian vowel separator.
_INVISIBLE: Final = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _blank(text: str) -> bool:
    """Whether *text* shows nothing: only whitespace and invisible characters.

    Stops at the first visible character, so a real message costs next to
    nothing (no copy of the text on the per-turn path).
    """
    return all(c in _INVISIBLE or c.isspace() for c in text)


@final
class Engine:
    """The parts of a turn that need no I/O, shared by ``Guard`` and ``AsyncGuard``."""

    __slots__ = (
        "clock",
        "history_window",
        "ids",
        "max_ended_branches",
        "max_message_chars",
        "max_retries",
        "normalizer",
        "policy",
        "protective",
    )

    def __init__(  # noqa: PLR0913 - every knob of a guard lands here
        self,
        policy: Policy,
        *,
        clock: Callable[[], datetime] | None,
        ids: Callable[[], str] | None,
        max_message_chars: int,
        history_window: int,
        max_retries: int,
    ) -> None:
        """Check and keep the guard's options."""
        if isinstance(policy, type):  # has the methods, unbound: a forgotten ()
            msg = f"policy {policy.__name__} is a class; pass an instance: {policy.__name__}()"
            raise ConfigurationError(msg)
        if not isinstance(policy, Policy):
            msg = (
                f"policy {policy!r} does not implement the Policy protocol "
                "(initial_state, step, on_reply, request_end)"
            )
            raise ConfigurationError(msg)
        # Read once: a policy is immutable, and closed() runs on every turn.
        max_ended_branches = _max_ended_branches(policy)
        protective = _protective(policy)
        for label, value, low in (
            ("max_message_chars", max_message_chars, 1),
            ("history_window", history_window, 0),
            ("max_retries", max_retries, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                msg = f"{label} must be an integer >= {low}, got {value!r}"
                raise ConfigurationError(msg)
        self.policy = policy
        self.max_ended_branches = max_ended_branches
        self.protective = protective
        self.clock = clock or utc_now
        self.ids = ids or new_id
        self.max_message_chars = max_message_chars
        self.history_window = history_window
        self.max_retries = max_retries
        self.normalizer = normalize

    # -- input checks ---------------------------------------------------------

    def check_text(
        self, text: object, *, allow_empty: bool = False, what: str = "message text"
    ) -> str:
        """Accept message text, or raise ``InvalidMessageError`` saying why.

        *what* names the argument in the error (``"reason"``, ``"comment"``).
        """
        if not isinstance(text, str):
            msg = f"{what} must be a str, not {type(text).__name__}"
            raise InvalidMessageError(msg)
        if len(text) > self.max_message_chars:
            msg = (
                f"{what} is {len(text):,} characters; the limit is "
                f"{self.max_message_chars:,} (Guard(max_message_chars=...))"
            )
            raise InvalidMessageError(msg)
        if not allow_empty and _blank(text):
            msg = f"{what} is empty" + (" (only invisible characters)" if text.strip() else "")
            raise InvalidMessageError(msg)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            msg = (
                f"{what} holds a lone surrogate at offset {exc.start}, "
                "which cannot be stored as UTF-8"
            )
            raise InvalidMessageError(msg) from None
        if "\x00" in text:
            msg = f"{what} holds a NUL character at offset {text.index(chr(0))}"
            raise InvalidMessageError(msg)
        return text

    def check_metadata(self, metadata: object) -> Mapping[str, Any]:
        """Accept JSON-compatible metadata, or raise ``InvalidMessageError``.

        ``tool_calls`` and ``tool_call_id`` must have a shape the format
        writers read (else ``FormatError``).
        """
        if metadata is None:
            return EMPTY_METADATA
        if not isinstance(metadata, Mapping):
            msg = f"metadata must be a mapping, not {type(metadata).__name__}"
            raise InvalidMessageError(msg)
        problem = shape_problem(metadata, "metadata")
        if problem is not None:
            raise InvalidMessageError(problem)
        try:
            encoded = json.dumps(metadata, allow_nan=False, ensure_ascii=False)
            encoded.encode("utf-8")
        except (TypeError, ValueError) as exc:
            msg = f"metadata must be JSON-compatible with string keys: {exc}"
            raise InvalidMessageError(msg) from None
        if "tool_calls" in metadata or "tool_call_id" in metadata:
            # A shape the writers cannot read is refused now, not at export.
            from .formats._common import check_tool_calls  # noqa: PLC0415 - only for tool calls

            check_tool_calls(metadata)
        if len(encoded) > _MAX_METADATA_BYTES:
            msg = (
                f"metadata is {len(encoded):,} bytes as JSON; the limit is {_MAX_METADATA_BYTES:,}"
            )
            raise InvalidMessageError(msg)
        return json.loads(encoded)  # type: ignore[no-any-return]

    def check_added_role(self, role: Role | str) -> Role:
        """Accept the role of a message added directly: assistant, system or tool."""
        try:
            checked = Role(role)
        except ValueError:
            msg = f"unknown role {role!r}"
            raise InvalidOperationError(msg) from None
        if checked not in _ADDED_ROLES:
            msg = f"{checked} messages cannot be added directly; use send() or request_end()"
            raise InvalidOperationError(msg)
        return checked

    def check_sibling_of(self, head: Head, original: Message, role: Role) -> None:
        """Check that *original* may get a sibling: an edit (user) or a regeneration."""
        if original.role is not role:
            verb = "edited" if role is Role.USER else "regenerated"
            msg = f"only {role} messages can be {verb}; {original.id!r} is {original.role}"
            raise InvalidOperationError(msg)
        self.check_not_closed(head)

    def check_open(self, head: Head) -> None:
        """Raise ``ConversationEndedError`` if the tip is ended or the chat closed."""
        self.check_not_closed(head)
        tip = head.tip
        if tip is not None and tip.ended:
            raise ConversationEndedError(head.conversation_id, tip.id)

    def check_answers(self, head: Head, to: object) -> None:
        """Check that a reply written ``to=`` a message still answers the tip.

        Raises:
            InvalidOperationError: When *to* is not a str.
            StoreConflictError: When *to* is no longer the active tip, e.g.
                the user edited or sent again while the model was answering.
        """
        if to is None:
            return
        if not isinstance(to, str):
            msg = f"to must be a message id (str), not {type(to).__name__}"
            raise InvalidOperationError(msg)
        tip = head.tip
        if tip is None or tip.id != to:
            now = "it is empty" if tip is None else f"the tip is now {tip.id!r}"
            detail = f"the reply answers {to!r}, which is no longer the active tip ({now})"
            raise StoreConflictError(head.conversation_id, detail, message_id=to)

    def closed(self, head: Head) -> bool:
        """Whether ``max_ended_branches`` closed the conversation.

        A conversation that remembers risk is never closed: its branches can
        still end one by one, but editing one stays a way forward.
        """
        limit = self.max_ended_branches
        return limit is not None and head.ended_branches >= limit and not head.at_risk

    def check_not_closed(self, head: Head) -> None:
        """Raise ``ConversationEndedError`` once ``max_ended_branches`` is reached."""
        if self.closed(head):
            raise ConversationEndedError(head.conversation_id, None, closed=True)

    def opening(
        self,
        *,
        system: object,
        metadata: object,
        locale: object,
        conversation_id: object,
    ) -> tuple[str, dict[str, Any], list[Message]]:
        """Check the arguments of ``start()``; return the id, metadata and root nodes."""
        meta = dict(self.check_metadata(metadata))
        if locale is not None:
            meta["locale"] = check_id(locale, "locale")
        if conversation_id is None:
            conversation_id = self.ids()
        conversation_id = check_id(conversation_id, "conversation_id")
        messages: list[Message] = []
        if system is not None:
            text = self.check_text(system)
            messages.append(self.other_node(None, Role.SYSTEM, text, {}))
        return conversation_id, meta, messages

    def feedback_record(
        self,
        conversation_id: str,
        kind: object,
        *,
        comment: object,
        message_id: str | None,
        metadata: object,
    ) -> Feedback:
        """Check the arguments of ``feedback()`` and build the record to store."""
        checked_kind = self.check_text(kind, what="feedback kind")
        checked_comment = (
            None if comment is None else self.check_text(comment, allow_empty=True, what="comment")
        )
        return Feedback(
            id=self.ids(),
            conversation_id=conversation_id,
            kind=checked_kind,
            comment=checked_comment,
            message_id=message_id,
            created_at=self.clock(),
            metadata=self.check_metadata(metadata),
        )

    # -- building nodes -------------------------------------------------------

    def state_of(self, parent: Message | None) -> PolicyState:
        """Return the state a child of *parent* starts from."""
        return self.policy.initial_state() if parent is None else parent.state

    def context(
        self,
        conversation_id: str,
        message_id: str,
        text: str,
        history: Sequence[Message] | Callable[[], Sequence[Message]],
    ) -> DetectionContext:
        """Build the detection context of a user turn."""
        return DetectionContext(
            text,
            conversation_id=conversation_id,
            message_id=message_id,
            history=history,
            normalizer=self.normalizer,
        )

    def judge_user(  # noqa: PLR0913 - one turn's worth of inputs
        self,
        parent: Message | None,
        message_id: str,
        text: str,
        findings: Sequence[Finding],
        errors: Sequence[DetectorFailure],
        metadata: Mapping[str, Any],
        locale: str | None,
        *,
        at_risk: bool = False,
    ) -> tuple[Message, Verdict]:
        """Step the policy over a user turn and build its node.

        *at_risk* is the conversation's risk record before the turn.
        """
        turn = Turn(
            message_id=message_id,
            findings=tuple(findings),
            errors=tuple(errors),
            locale=locale,
            at_risk=at_risk,
        )
        state, verdict = self.policy.step(self.state_of(parent), turn)
        message = Message.child_of(
            parent,
            id=message_id,
            role=Role.USER,
            content=text,
            created_at=self.clock(),
            state=state,
            verdict=verdict,
            metadata=metadata,
        )
        return message, verdict

    def other_node(
        self,
        parent: Message | None,
        role: Role,
        text: str,
        metadata: Mapping[str, Any],
        *,
        redirect: bool = False,
    ) -> Message:
        """Build an assistant, system or tool node under *parent*."""
        state = self.state_of(parent)
        if role is Role.ASSISTANT:
            state = self.policy.on_reply(state, redirect=redirect)
            if redirect:
                # Kept on the node so that a replay judges the reply the same way.
                metadata = {**metadata, "redirect": True}
        return Message.child_of(
            parent,
            id=self.ids(),
            role=role,
            content=text,
            created_at=self.clock(),
            state=state,
            metadata=metadata,
        )

    def risk_report(
        self,
        parent: Message | None,
        category: object,
        *,
        reason: object,
        locale: str | None,
    ) -> tuple[Message, Verdict]:
        """Build the event node of the model's report that the user may be at risk."""
        protective = self.protective
        if not isinstance(category, str) or category not in protective:
            msg = f"category must be one of {sorted(protective)}, not {category!r}"
            raise InvalidOperationError(msg)
        if reason is not None:
            reason = self.check_text(reason, allow_empty=True, what="reason")
        message_id = self.ids()
        finding = Finding(category, 1.0, "report_risk")
        state = self.state_of(parent)
        report = getattr(self.policy, "report_risk", None)
        if callable(report):
            state, verdict = report(state, finding, message_id=message_id, locale=locale)
        else:  # a custom policy without the hook: remember the risk, change nothing else
            verdict = Verdict(
                action=Action.SUPPORT,
                state=state,
                message_id=message_id,
                findings=(finding,),
                reasons=(f"protective: {finding.describe()}", "risk reported by the assistant"),
                at_risk=True,
            )
        verdict = attrs.evolve(verdict, at_risk=True)
        event = self._event(
            parent,
            state,
            verdict,
            f"the assistant reported that the user may be at risk ({category})",
            {"risk_reported_by": "assistant", "category": category},
            reason,
        )
        return event, verdict

    def end_request(  # noqa: PLR0913 - every input of a request, by keyword
        self,
        parent: Message | None,
        *,
        by: EndRequester,
        reason: str | None,
        locale: str | None,
        at_risk: bool = False,
        confirmed: bool = False,
    ) -> tuple[Message | None, Verdict]:
        """Ask the policy to end the branch; build the event node if granted."""
        if by not in ("user", "assistant"):
            msg = f"by must be 'user' or 'assistant', not {by!r}"
            raise InvalidOperationError(msg)
        if reason is not None:
            reason = self.check_text(reason, allow_empty=True, what="reason")
        if not isinstance(confirmed, bool):
            msg = f"confirmed must be a bool, not {type(confirmed).__name__}"
            raise InvalidOperationError(msg)
        message_id = self.ids()
        state, verdict = self.policy.request_end(
            self.state_of(parent),
            by=by,
            message_id=message_id,
            reason=reason,
            locale=locale,
            at_risk=at_risk,
            confirmed=confirmed,
        )
        if not self.granted(verdict, message_id):
            return None, verdict
        text = f"conversation ended at the {by}'s request"
        event = self._event(parent, state, verdict, text, {"end_requested_by": by}, reason)
        return event, verdict

    def granted(self, verdict: Verdict, message_id: str) -> bool:
        """Whether the policy granted an end requested under *message_id*.

        Granted: the verdict names *message_id*. Refused: it names ``None``.

        Raises:
            ConfigurationError: When the policy named another id, which
                would store the end event where nobody looks for it.
        """
        if verdict.message_id is None:
            return False
        if verdict.message_id != message_id:
            msg = (
                f"policy {self.policy!r} answered an end request for {message_id!r} with a "
                f"verdict for {verdict.message_id!r}; grant with the id given, refuse with None"
            )
            raise ConfigurationError(msg)
        return True

    def _event(  # noqa: PLR0913 - the parts of one node
        self,
        parent: Message | None,
        state: PolicyState,
        verdict: Verdict,
        text: str,
        metadata: dict[str, Any],
        reason: str | None,
    ) -> Message:
        """Build an event node under *parent* with the policy's *state* and *verdict*."""
        if reason:
            metadata["reason"] = reason
            text = f"{text}: {reason}"
        return Message.child_of(
            parent,
            id=verdict.message_id or self.ids(),
            role=Role.EVENT,
            content=text,
            created_at=self.clock(),
            state=state,
            verdict=verdict,
            metadata=metadata,
        )
