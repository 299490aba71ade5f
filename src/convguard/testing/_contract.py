"""``PolicyContract``: a Hypothesis state machine that checks a policy's invariants.

Subclass it with your policy (and detectors), and let pytest collect its
``TestCase``::

    class MyPolicyContract(PolicyContract):
        policy = MyPolicy()
        expected_config = PolicyConfig(max_redirections=1)  # MyPolicy's limit
        disabled_invariants = {"warn_before_end"}  # this policy never warns


    TestMyPolicy = MyPolicyContract.TestCase

Hypothesis then drives a guard through random chats (sends, replies, edits,
switches, end requests, new chats, bad input) and checks, after every step,
the invariants of convguard, each by name, against the limits in ``expected_config``
(a :class:`~convguard.PolicyConfig`; the policy's own ``config`` when it has
one, as ``LastResortPolicy`` does):

``ended_branch_closed`` (1)
    An END verdict ends the branch; an ended branch accepts nothing and
    stores nothing; no node has an ended parent.
``no_end_while_exempt`` (2)
    No END or WARN while a protective finding's (or concern's) exemption
    holds: on every branch of the conversation once any message carried one,
    with the default ``exemption_scope="conversation"``.
``end_after_redirections`` (3)
    END (on a user turn or the assistant's request) only after
    ``max_redirections`` redirecting verdicts since the last recovery.
``warn_before_end`` (3)
    With ``warn_before_end``, a WARN comes before every such END.
``shadow_never_ends`` (3)
    In shadow mode nothing ends.
``messages_stored`` (4)
    Every user message is stored, the ending one too; an edit keeps the original.
``edit_opens_live_branch`` (5)
    An edit opens a branch under the original's parent, live unless judged END.
``new_chat_live`` (5)
    A new chat is live.
``others_unaffected`` (5)
    A step on one chat changes no other chat.
``replay_same_verdicts`` (6)
    Stepping the policy again from each parent's state, with the
    conversation's risk record as it stood then, gives the same verdict.
``bad_input_rejected`` (7)
    Bad input raises a ``ConvguardError`` and changes nothing.

A broken invariant raises :class:`ContractViolation`, an ``AssertionError``
holding the (shrunk) script of steps that broke it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar, Final

from .._errors import ConfigurationError, ConversationEndedError, ConvguardError

try:
    from hypothesis import HealthCheck, settings
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
except ImportError as exc:  # pragma: no cover - exercised by reimporting in a test
    msg = (
        "convguard.testing.PolicyContract needs Hypothesis; install the extra: "
        "pip install 'convguard[testing]'"
    )
    raise ConfigurationError(msg) from exc

from .._guard import Conversation, Guard
from .._policy import Action, LastResortPolicy, Policy, PolicyConfig, Turn, Verdict
from .._tree import Message, Role
from ..stores._memory import MemoryStore
from ..stores._store import Store
from ._clock import FakeClock
from ._scenario import MARKERS
from ._scripted import ScriptedDetector
from ._step import excerpt

__all__ = ["INVARIANTS", "ContractViolation", "PolicyContract"]

INVARIANTS: Final = frozenset(
    {
        "bad_input_rejected",
        "edit_opens_live_branch",
        "end_after_redirections",
        "ended_branch_closed",
        "messages_stored",
        "new_chat_live",
        "no_end_while_exempt",
        "others_unaffected",
        "replay_same_verdicts",
        "shadow_never_ends",
        "warn_before_end",
    }
)
"""The names of the invariants the contract checks; see the module docstring."""

_REDIRECTING: Final = frozenset({Action.REDIRECT, Action.WARN})
_BENIGN: Final = frozenset({Action.ALLOW, Action.SUPPORT})


class ContractViolation(AssertionError):  # noqa: N818 - an AssertionError, named as pytest names failures
    """A policy broke an invariant of the contract.

    Attributes:
        invariant: The invariant's name (see :data:`INVARIANTS`).
        detail: What happened, in words.
        script: The steps that led there, one line each (shrunk by
            Hypothesis when raised from a test run).
    """

    def __init__(self, invariant: str, detail: str, script: Sequence[str]) -> None:
        """Describe the violation and the script that shows it."""
        self.invariant = invariant
        self.detail = detail
        self.script = tuple(script)
        lines = "\n".join(f"  {i}. {step}" for i, step in enumerate(self.script, 1))
        super().__init__(
            f"invariant {invariant!r} broken: {detail}\nscript ({len(self.script)} steps):\n{lines}"
        )


class _Snapshot:
    """What a chat looked like, to tell whether a step changed it."""

    __slots__ = ("ids", "tip", "version")

    def __init__(self, guard: Guard, conv: Conversation) -> None:
        head = guard.store.head(conv.id)
        self.version = head.version
        self.tip = None if head.tip is None else head.tip.id
        self.ids = tuple(m.id for m in guard.store.messages(conv.id))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Snapshot) and (self.version, self.tip, self.ids) == (
            other.version,
            other.tip,
            other.ids,
        )

    __hash__ = None  # type: ignore[assignment] # a mutable-looking value, compared only


class _Counts:
    """A conservative model of one branch: never fewer redirections than the policy."""

    __slots__ = ("exempt_until", "redirections", "streak", "turn_counted", "user_turns", "warned")

    def __init__(self) -> None:
        self.redirections = 0
        self.warned = False
        self.streak = 0
        self.user_turns = 0
        self.exempt_until: float | None = None
        self.turn_counted = True

    def exempt_at(self, user_turn: int) -> bool:
        return self.exempt_until is not None and user_turn <= self.exempt_until


class PolicyContract(RuleBasedStateMachine):
    """Check a policy against convguard's invariants with random chats.

    Set class attributes in a subclass, or override the ``make_*`` methods:

    Attributes:
        policy: The policy under test; ``LastResortPolicy()`` when ``None``.
        expected_config: What the invariants expect of the policy, as options of the
            default policy: the redirection limit (``max_redirections``,
            ``category_max_redirections``), ``warn_before_end``,
            ``recovery_turns``, ``exemption_scope``, ``mode``, and which
            categories count at which threshold (or a mapping of those
            options). When ``None``: the policy's
            ``config`` if it is a :class:`~convguard.PolicyConfig` (as
            ``LastResortPolicy``'s is), else ``PolicyConfig()``. A policy
            needs no ``config`` of its own.
        detectors: The detectors; a :class:`ScriptedDetector` for *markers*
            when ``None``.
        markers: Markers the generated texts carry, marker -> category. With
            your own detectors, use markers they flag.
        disabled_invariants: Names (see :data:`INVARIANTS`) not to check, where
            a policy deliberately differs.
        max_examples: Hypothesis examples per test run.
        step_count: The most steps in one generated chat.
    """

    policy: ClassVar[Policy | None] = None
    expected_config: ClassVar[PolicyConfig | Mapping[str, Any] | None] = None
    detectors: ClassVar[Sequence[object] | None] = None
    markers: ClassVar[Mapping[str, str]] = MARKERS
    disabled_invariants: ClassVar[Iterable[str]] = frozenset()
    max_examples: ClassVar[int] = 60
    step_count: ClassVar[int] = 30

    def __init__(self) -> None:
        """Build a fresh guard for one generated run."""
        super().__init__()
        unknown = sorted(set(self.disabled_invariants) - INVARIANTS)
        if unknown:
            msg = f"unknown invariants {unknown}; the contract checks {sorted(INVARIANTS)}"
            raise ConfigurationError(msg)
        self._off = frozenset(self.disabled_invariants)
        numbers = itertools.count(1)
        self.guard = Guard(
            self.make_detectors(),  # type: ignore[arg-type] # Guard checks them and names a bad one
            self.make_policy(),
            self.make_store(),
            clock=FakeClock(tick=timedelta(seconds=1)),
            ids=lambda: f"m{next(numbers)}",
        )
        self.config: PolicyConfig = self.make_expected_config()
        self.chats: list[Conversation] = [self.guard.start()]
        self.script: list[str] = []
        self._redirect_replies: set[str] = set()
        self._texts = ["hello there", *(f"{m} please" for m in sorted(self.markers))]
        self._terminable = [
            f"{m} again" for m, c in sorted(self.markers.items()) if c in self.config.terminable
        ]

    # -- hooks -------------------------------------------------------------------

    def make_policy(self) -> Policy:
        """Return the policy under test (the ``policy`` attribute by default)."""
        return LastResortPolicy() if self.policy is None else self.policy

    def make_expected_config(self) -> PolicyConfig:
        """Return what the invariants expect (the ``expected_config`` attribute by default)."""
        expected: object = self.expected_config
        if isinstance(expected, Mapping):
            return PolicyConfig.from_dict(expected)
        if isinstance(expected, PolicyConfig):
            return expected
        if expected is not None:
            msg = (
                "expected_config must be a PolicyConfig or a mapping of its options, "
                f"not {expected!r}"
            )
            raise ConfigurationError(msg)
        own = getattr(self.guard.policy, "config", None)
        return own if isinstance(own, PolicyConfig) else PolicyConfig()

    def make_detectors(self) -> list[object]:
        """Return the detectors (the ``detectors`` attribute by default)."""
        if self.detectors is None:
            return [ScriptedDetector(self.markers)]
        return list(self.detectors)

    def make_store(self) -> Store:
        """Return a fresh store for one run (a :class:`~convguard.MemoryStore`)."""
        return MemoryStore()

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Give each subclass's ``TestCase`` the modest settings it asks for."""
        super().__init_subclass__(**kwargs)
        _apply_settings(cls)

    # -- helpers -----------------------------------------------------------------

    @property
    def conv(self) -> Conversation:
        """The chat the steps go to."""
        return self.chats[-1]

    def _fail(self, name: str, detail: str) -> None:
        if name not in self._off:
            raise ContractViolation(name, detail, self.script)

    def _others(self) -> list[tuple[Conversation, _Snapshot]]:
        return [(c, _Snapshot(self.guard, c)) for c in self.chats[:-1]]

    def _check_others(self, before: list[tuple[Conversation, _Snapshot]]) -> None:
        for conv, snap in before:
            if _Snapshot(self.guard, conv) != snap:
                self._fail("others_unaffected", f"a step on another chat changed {conv.id!r}")

    def _blocked(self) -> bool:
        conv = self.conv
        return conv.closed() or conv.ended()

    def _counts(self, path: Sequence[Message]) -> _Counts:
        cfg = self.config
        counts = _Counts()
        for message in path:
            if message.role is Role.USER and message.verdict is not None:
                self._count_turn(counts, message.verdict, cfg)
            elif message.role is Role.ASSISTANT and message.id in self._redirect_replies:
                if not counts.turn_counted:
                    counts.redirections += 1
                    counts.turn_counted = True
                counts.streak = 0  # the policy may have counted it: recover no earlier
        return counts

    def _count_turn(self, counts: _Counts, verdict: Verdict, cfg: PolicyConfig) -> None:
        counts.user_turns += 1
        if self._protective(verdict):
            scope = cfg.exemption_scope
            counts.exempt_until = (
                float("inf") if isinstance(scope, str) else counts.user_turns + int(scope)
            )
        if verdict.action in _REDIRECTING:
            counts.redirections += 1
            counts.warned = counts.warned or verdict.action is Action.WARN
            counts.streak = 0
            counts.turn_counted = True
        elif verdict.action in _BENIGN:
            counts.streak += 1
            counts.turn_counted = False
            if cfg.recovery_turns is not None and counts.streak >= cfg.recovery_turns:
                counts.redirections, counts.warned = 0, False
        else:
            counts.streak = 0
            counts.turn_counted = True

    def _protective(self, verdict: Verdict) -> bool:
        """Whether a verdict's findings carry protective evidence (concerns too)."""
        cfg = self.config
        return any(
            f.category in cfg.protective
            and f.score >= min(cfg.threshold(f.category), cfg.concern_threshold or 1.0)
            for f in verdict.findings
        )

    def _risk_before(self, node_id: str) -> bool:
        """Whether any message stored before *node_id*, on any branch, carried risk."""
        for message in self.conv.messages():  # in the order they were stored
            if message.id == node_id:
                return False
            if message.verdict is not None and self._protective(message.verdict):
                return True
        return False

    def _limit(self) -> int:
        cfg = self.config
        overrides = [n for c, n in cfg.category_max_redirections.items() if c in cfg.terminable]
        return min([cfg.max_redirections, *overrides])

    def _check_verdict(self, verdict: Verdict, *, by: str | None = None) -> None:
        """Check a verdict against the branch it was given on (its parent's path)."""
        conv = self.conv
        self._check_ended(verdict)
        if verdict.action not in (Action.END, Action.WARN) or verdict.message_id is None:
            return
        node = conv.get(verdict.message_id)
        before = [] if node.parent_id is None else conv.path(node.parent_id)
        counts = self._counts(before)
        turn = counts.user_turns + (0 if by is not None else 1)
        if (by is None and self._protective(verdict)) or (
            self.config.exemption_scope == "conversation" and self._risk_before(node.id)
        ):
            counts.exempt_until = float("inf")
        if counts.exempt_at(turn):
            what = "END" if verdict.action is Action.END else "WARN"
            self._fail("no_end_while_exempt", f"{what} while the user is exempt (at risk)")
        if verdict.action is not Action.END or by == "user":
            return
        limit = self._limit()
        if counts.redirections < limit:
            self._fail(
                "end_after_redirections",
                f"END after {counts.redirections} redirecting verdicts; the limit is {limit}",
            )
        if self.config.warn_before_end and limit > 0 and not counts.warned:
            self._fail("warn_before_end", "END without a WARN since the last recovery")

    def _check_ended(self, verdict: Verdict) -> None:
        if verdict.action is Action.END or verdict.ended:
            if self.config.mode == "shadow":
                self._fail("shadow_never_ends", "a branch ended in shadow mode")
            if verdict.action is Action.END and not self.conv.ended():
                self._fail(
                    "ended_branch_closed", "an END verdict left the branch open for more messages"
                )

    def _expect_refusal(self, action: Callable[[], object], what: str) -> None:
        snap = _Snapshot(self.guard, self.conv)
        try:
            action()
        except ConversationEndedError:
            pass
        else:
            self._fail("ended_branch_closed", f"{what} was accepted on an ended branch")
        if _Snapshot(self.guard, self.conv) != snap:
            self._fail("ended_branch_closed", f"a refused {what} stored something")

    # -- rules -------------------------------------------------------------------

    @rule(data=st.data())
    def send(self, data: st.DataObject) -> None:
        """Send a user message, benign or carrying a marker."""
        self._send(data.draw(st.sampled_from(self._texts), label="text"))

    @precondition(lambda self: bool(self._terminable))
    @rule(data=st.data())
    def persist(self, data: st.DataObject) -> None:
        """Send a message carrying a terminable marker (a persistent user)."""
        self._send(data.draw(st.sampled_from(self._terminable), label="text"))

    def _send(self, text: str) -> None:
        self.script.append(f"send {excerpt(text)}")
        others = self._others()
        if self._blocked():
            self._expect_refusal(lambda: self.conv.send(text), "a send")
            return
        verdict = self.conv.send(text)
        self._check_stored(verdict, text)
        self._check_verdict(verdict)
        self._check_others(others)

    def _check_stored(self, verdict: Verdict, text: str) -> None:
        if verdict.message_id is None:
            self._fail("messages_stored", "a user turn's verdict names no stored message")
            return
        stored = self.conv.get(verdict.message_id)
        if stored.role is not Role.USER or stored.content != text:
            self._fail("messages_stored", f"the user message {text!r} was not stored as sent")

    @rule(redirect=st.booleans())
    def reply(self, redirect: bool) -> None:  # noqa: FBT001 - Hypothesis passes it by keyword
        """Store an assistant reply, redirecting or not."""
        self.script.append("reply" + (" (redirect)" if redirect else ""))
        if self._blocked():
            self._expect_refusal(lambda: self.conv.reply("ok", redirect=redirect), "a reply")
            return
        message = self.conv.reply("Let's talk about something else.", redirect=redirect)
        if redirect:
            self._redirect_replies.add(message.id)

    @precondition(lambda self: any(m.role is Role.USER for m in self.conv.messages()))
    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        """Edit any user message of the chat, on any branch."""
        users = [m for m in self.conv.messages() if m.role is Role.USER]
        original = data.draw(st.sampled_from(users), label="original")
        text = data.draw(st.sampled_from(self._texts), label="text")
        self.script.append(f"edit user message {users.index(original) + 1} -> {excerpt(text)}")
        self._edit(original, text)

    def _edit(self, original: Message, text: str) -> None:
        others = self._others()
        if self.conv.closed():
            self._expect_refusal(lambda: self.conv.edit(original.id, text), "an edit")
            return
        verdict = self.conv.edit(original.id, text)
        self._check_stored(verdict, text)
        kept = self.conv.get(original.id)
        if kept != original:
            self._fail("messages_stored", "an edit changed the original message")
        node = self.conv.get(verdict.message_id or "")
        if node.parent_id != original.parent_id:
            self._fail("edit_opens_live_branch", "an edit was not stored beside its original")
        if verdict.action is not Action.END and not self.conv.closed() and self.conv.ended():
            self._fail("edit_opens_live_branch", "an edit not judged END left the branch ended")
        self._check_verdict(verdict)
        self._check_others(others)

    @rule(data=st.data())
    def switch(self, data: st.DataObject) -> None:
        """Make any message of the chat the active tip."""
        messages = self.conv.messages()
        if not messages:
            return
        target = data.draw(st.sampled_from(messages), label="target")
        self.script.append(f"switch to message {messages.index(target) + 1} ({target.role})")
        self.conv.switch(target.id)

    @rule(by=st.sampled_from(["user", "assistant"]), confirmed=st.booleans())
    def request_end(self, by: str, confirmed: bool = False) -> None:  # noqa: FBT001, FBT002 - Hypothesis passes it by keyword
        """Ask to end the branch, as the user (confirmed or not) or the assistant."""
        self.script.append(f"end requested by the {by}" + (" (confirmed)" if confirmed else ""))
        conv = self.conv
        if self._blocked():
            self._expect_refusal(
                lambda: conv.request_end(by=by, confirmed=confirmed),  # type: ignore[arg-type]
                "an end request",
            )
            return
        snap = _Snapshot(self.guard, conv)
        verdict = conv.request_end(by=by, confirmed=confirmed)  # type: ignore[arg-type]
        if verdict.message_id is None and _Snapshot(self.guard, self.conv) != snap:
            self._fail("ended_branch_closed", "a refused end request stored something")
        self._check_verdict(verdict, by=by)

    @rule()
    def new_chat(self) -> None:
        """Start a new chat; the next steps go to it."""
        self.script.append("new chat")
        conv = self.guard.start()
        self.chats.append(conv)
        if conv.ended() or conv.closed():
            self._fail("new_chat_live", "a new chat is not live")

    @rule(case=st.sampled_from(["empty", "surrogate", "not text", "unknown id", "bad requester"]))
    def bad_input(self, case: str) -> None:
        """Send input a guard must refuse, and check nothing changed."""
        self.script.append(f"bad input: {case}")
        conv = self.conv
        calls: dict[str, Callable[[], object]] = {
            "empty": lambda: conv.send("   "),
            "surrogate": lambda: conv.send("hi \ud800"),
            "not text": lambda: conv.send(42),  # type: ignore[arg-type]
            "unknown id": lambda: conv.edit("no-such-message", "hello"),
            "bad requester": lambda: conv.request_end(by="robot"),  # type: ignore[arg-type]
        }
        snaps = [(c, _Snapshot(self.guard, c)) for c in self.chats]
        try:
            calls[case]()
        except ConvguardError:
            pass
        except Exception as exc:  # noqa: BLE001 - a foreign error is the violation
            self._fail("bad_input_rejected", f"{case}: raised {type(exc).__name__}: {exc}")
        else:
            self._fail("bad_input_rejected", f"{case}: was accepted")
        for chat, snap in snaps:
            if _Snapshot(self.guard, chat) != snap:
                self._fail("bad_input_rejected", f"{case}: changed chat {chat.id!r}")

    # -- invariants after every step --------------------------------------------

    @invariant()
    def no_node_under_an_ended_one(self) -> None:
        """No stored node has an ended parent."""
        messages = {m.id: m for m in self.conv.messages()}
        for message in messages.values():
            parent = messages.get(message.parent_id or "")
            if parent is not None and parent.ended:
                self._fail("ended_branch_closed", f"node {message.id!r} hangs under an ended one")

    @invariant()
    def replay_gives_the_same_verdicts(self) -> None:
        """Stepping the policy again over each user turn gives its stored verdict."""
        if "replay_same_verdicts" in self._off:
            return
        policy = self.guard.policy
        messages = {m.id: m for m in self.conv.messages()}
        at_risk = False  # the conversation's risk record, in creation order
        for message in messages.values():
            if message.role is not Role.USER or message.verdict is None:
                at_risk = at_risk or message.at_risk
                continue
            parent = messages.get(message.parent_id or "")
            state = policy.initial_state() if parent is None else parent.state
            old = message.verdict
            turn = Turn(
                message_id=message.id, findings=old.findings, errors=old.errors, at_risk=at_risk
            )
            at_risk = at_risk or message.at_risk
            new_state, new = policy.step(state, turn)
            if (new.action, new_state) != (old.action, message.state):
                self._fail(
                    "replay_same_verdicts",
                    f"user turn {message.id!r} gave {old.action} but replays as {new.action}",
                )


def _apply_settings(cls: type[PolicyContract]) -> None:
    # Hypothesis's public way: assign to the class's TestCase.settings. A
    # ``@settings(...)`` decorator on the subclass runs later and wins.
    cls.TestCase.settings = settings(
        max_examples=cls.max_examples,
        stateful_step_count=cls.step_count,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


_apply_settings(PolicyContract)
