"""PolicyContract: passes the default policy, catches and shrinks broken ones."""

from __future__ import annotations

from typing import Any, ClassVar, Final

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

import convguard as cg
from convguard._policy import EndRequester
from convguard.testing import ContractViolation, PolicyContract
from convguard.testing._contract import INVARIANTS
from tests.test_guard import OneStrike

#: Shrunk failing scripts must be at most this many steps.
SHORT: Final = 8

HUNT: Final = settings(
    max_examples=300,
    stateful_step_count=12,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


class _Wrapper:
    """A policy that delegates to LastResortPolicy; subclasses break one rule."""

    def __init__(self, config: cg.PolicyConfig | None = None) -> None:
        self.inner = cg.LastResortPolicy(config)

    @property
    def config(self) -> cg.PolicyConfig:
        return self.inner.config

    def initial_state(self) -> cg.PolicyState:
        return self.inner.initial_state()

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        return self.inner.step(state, turn)

    def on_reply(self, state: cg.PolicyState, *, redirect: bool) -> cg.PolicyState:
        return self.inner.on_reply(state, redirect=redirect)

    def request_end(  # noqa: PLR0913 - the protocol passes every input by keyword
        self,
        state: cg.PolicyState,
        *,
        by: EndRequester,
        message_id: str,
        reason: str | None = None,
        locale: str | None = None,
        at_risk: bool = False,
        confirmed: bool = False,
    ) -> tuple[cg.PolicyState, cg.Verdict]:
        return self.inner.request_end(
            state,
            by=by,
            message_id=message_id,
            reason=reason,
            locale=locale,
            at_risk=at_risk,
            confirmed=confirmed,
        )


def _end(state: cg.PolicyState, verdict: cg.Verdict) -> tuple[cg.PolicyState, cg.Verdict]:
    ended = attrs.evolve(state, status=cg.Status.ENDED)
    return ended, attrs.evolve(verdict, action=cg.Action.END, state=ended)


class EndsWhileExempt(_Wrapper):
    """Ends a user at risk who also asks for something terminable."""

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        new, verdict = self.inner.step(state, turn)
        if verdict.action is cg.Action.REDIRECT and new.exempt:
            return _end(new, verdict)
        return new, verdict


class EndsWithoutWarning(_Wrapper):
    """Says it warns before ending, but never does."""

    def __init__(self) -> None:
        super().__init__(cg.PolicyConfig(warn_before_end=False))

    @property
    def config(self) -> cg.PolicyConfig:
        return cg.PolicyConfig()


class KeepsEndedOpen(_Wrapper):
    """Says END but leaves the branch open (the state is not marked ENDED)."""

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        new, verdict = self.inner.step(state, turn)
        if verdict.action is cg.Action.END:
            open_state = attrs.evolve(new, status=cg.Status.REDIRECTING)
            return open_state, attrs.evolve(verdict, state=open_state)
        return new, verdict


def _hunt(policy: Any) -> ContractViolation:
    class Contract(PolicyContract):
        pass

    Contract.policy = policy
    with pytest.raises(ContractViolation) as caught:
        run_state_machine_as_test(Contract, settings=HUNT)
    return caught.value


class TestCatchesBrokenPolicies:
    """Each broken policy is found and shrunk to a short script."""

    def test_ending_while_exempt(self) -> None:
        """A policy that ends a user at risk breaks no_end_while_exempt in a few steps."""
        found = _hunt(EndsWhileExempt())
        assert found.invariant == "no_end_while_exempt"
        assert len(found.script) <= SHORT
        assert any("[crisis]" in step or "[threat]" in step for step in found.script)

    def test_ending_without_a_warning(self) -> None:
        """A policy that never warns before ending breaks warn_before_end."""
        found = _hunt(EndsWithoutWarning())
        assert found.invariant == "warn_before_end"
        assert len(found.script) <= SHORT

    def test_ended_branch_that_continues(self) -> None:
        """A policy whose END leaves the branch open breaks ended_branch_closed."""
        found = _hunt(KeepsEndedOpen())
        assert found.invariant == "ended_branch_closed"
        assert len(found.script) <= SHORT
        assert "END verdict" in str(found)

    def test_a_disabled_invariant_is_not_checked(self) -> None:
        """Switching warn_before_end off lets the never-warning policy pass it."""

        class Lenient(PolicyContract):
            policy: ClassVar[cg.Policy | None] = EndsWithoutWarning()
            disabled_invariants = frozenset({"warn_before_end"})
            max_examples = 30

        run_state_machine_as_test(Lenient, settings=attrs_settings(30))


def attrs_settings(examples: int) -> settings:
    """Modest settings for runs expected to pass."""
    return settings(
        max_examples=examples,
        stateful_step_count=30,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


class DefaultContract(PolicyContract):
    """The default policy, as a user would check theirs."""


TestDefaultPolicy = DefaultContract.TestCase


class ShadowContract(PolicyContract):
    """The default policy in shadow mode."""

    policy = cg.LastResortPolicy(cg.PolicyConfig(mode="shadow"))
    max_examples = 30


TestShadowPolicy = ShadowContract.TestCase


class TestPassesCorrectPolicies:
    """The contract finds nothing wrong with LastResortPolicy under its options."""

    @pytest.mark.parametrize(
        "options",
        [
            {"exemption_scope": 2, "recovery_turns": 1},
            {"max_redirections": 0},
            {"max_ended_branches": 2, "warn_before_end": False, "max_redirections": 1},
            {"category_max_redirections": {"child_sexual_content": 1}},
        ],
    )
    def test_options(self, options: dict[str, Any]) -> None:
        """Other configurations keep every invariant too."""

        class Configured(PolicyContract):
            pass

        Configured.policy = cg.LastResortPolicy(cg.PolicyConfig(**options))
        run_state_machine_as_test(Configured, settings=attrs_settings(25))

    def test_test_case_uses_modest_settings(self) -> None:
        """The TestCase a user collects runs the class's example and step counts."""
        case: Any = ShadowContract.TestCase
        assert case.settings.max_examples == 30
        assert case.settings.stateful_step_count == PolicyContract.step_count


class TestConfiguration:
    """Mistakes in a contract subclass are named."""

    def test_unknown_invariant_name(self) -> None:
        """A misspelt invariant name is refused, listing the real ones."""

        class Typo(PolicyContract):
            disabled_invariants = frozenset({"warn_befor_end"})

        with pytest.raises(cg.ConfigurationError, match="warn_befor_end"):
            Typo()

    def test_expected_config(self) -> None:
        """expected_config sets the limits checked: a PolicyConfig, a mapping, else the policy's."""

        class Expecting(PolicyContract):
            expected_config: ClassVar[Any] = {"max_redirections": 1}

        assert Expecting().config.max_redirections == 1
        Expecting.expected_config = cg.PolicyConfig(warn_before_end=False)
        assert not Expecting().config.warn_before_end
        Expecting.expected_config = None
        Expecting.policy = cg.LastResortPolicy(cg.PolicyConfig(max_redirections=2))
        assert Expecting().config.max_redirections == 2
        Expecting.policy = OneStrike()  # no config of its own: the defaults
        assert Expecting().config == cg.PolicyConfig()
        Expecting.expected_config = ["max_redirections"]
        with pytest.raises(cg.ConfigurationError, match="expected_config"):
            Expecting()

    def test_invariant_names(self) -> None:
        """Every invariant of the design has a name users can switch off."""
        assert "warn_before_end" in INVARIANTS
        assert len(INVARIANTS) == 11

    def test_violation_message_lists_the_script(self) -> None:
        """A violation names the invariant and numbers the steps."""
        error = ContractViolation("warn_before_end", "END without a WARN", ["send 'x'", "reply"])
        assert str(error).splitlines() == [
            "invariant 'warn_before_end' broken: END without a WARN",
            "script (2 steps):",
            "  1. send 'x'",
            "  2. reply",
        ]
        assert isinstance(error, AssertionError)


class Tampering:
    """A MemoryStore that lies in the ways a broken store could."""

    def __init__(self) -> None:
        self.inner = cg.MemoryStore()
        self.get_hook: Any = None
        self.drift = False
        self.ended_branches = 0
        self.extra: list[cg.Message] = []
        self._version = 1000

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get(self, conversation_id: str, message_id: str) -> cg.Message:
        if message_id == "no-such-message" and self.get_hook == "foreign":
            raise KeyError(message_id)
        if message_id == "no-such-message" and self.get_hook == "accept":
            return self.inner.messages(conversation_id)[0]
        message = self.inner.get(conversation_id, message_id)
        if callable(self.get_hook):
            return self.get_hook(message)  # type: ignore[no-any-return]
        return message

    def head(self, conversation_id: str) -> Any:
        head = self.inner.head(conversation_id)
        if self.drift:
            self._version += 1
            head = attrs.evolve(head, version=self._version)
        if self.ended_branches:
            head = attrs.evolve(head, ended_branches=self.ended_branches)
        return head

    def messages(self, conversation_id: str) -> list[cg.Message]:
        return [*self.inner.messages(conversation_id), *self.extra]


def _machine(
    policy: Any = None, store: Tampering | None = None, off: frozenset[str] = frozenset()
) -> PolicyContract:
    class Probe(PolicyContract):
        disabled_invariants = off

        def make_store(self) -> cg.Store:
            return store if store is not None else cg.MemoryStore()

    Probe.policy = policy
    return Probe()


def _violation(call: Any) -> str:
    with pytest.raises(ContractViolation) as caught:
        call()
    return caught.value.invariant


class EndsOnCrisis(_Wrapper):
    """Ends a user at risk outright."""

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        new, verdict = self.inner.step(state, turn)
        return _end(new, verdict) if verdict.action is cg.Action.SUPPORT else (new, verdict)


class ClaimsPatience(_Wrapper):
    """Says it allows three redirections, ends at the first terminable turn."""

    def __init__(self, mode: str = "enforce") -> None:
        super().__init__(cg.PolicyConfig(max_redirections=0))
        self.claimed = cg.PolicyConfig(mode=mode)

    @property
    def config(self) -> cg.PolicyConfig:
        return self.claimed


class SilentEnd(_Wrapper):
    """Allows a turn but marks the branch ended."""

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        new, verdict = self.inner.step(state, turn)
        if verdict.findings and verdict.findings[0].category == "hate":
            ended = attrs.evolve(new, status=cg.Status.ENDED)
            return ended, attrs.evolve(verdict, state=ended)
        return new, verdict


class Flaky(_Wrapper):
    """Gives a different verdict every other time."""

    calls = 0

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        new, verdict = self.inner.step(state, turn)
        Flaky.calls += 1
        if Flaky.calls % 2:
            return new, attrs.evolve(verdict, action=cg.Action.REDIRECT)
        return new, verdict


class TestEachCheck:
    """Each invariant check fires on the fault it is there for."""

    def test_end_on_a_protective_turn(self) -> None:
        """Ending the very turn that shows risk breaks no_end_while_exempt."""
        machine = _machine(EndsOnCrisis())
        assert _violation(lambda: machine._send("[crisis] please")) == "no_end_while_exempt"

    def test_end_too_early_and_in_shadow_mode(self) -> None:
        """Ending before the limit breaks end_after_redirections; in shadow mode, more."""
        machine = _machine(ClaimsPatience())
        assert _violation(lambda: machine._send("[abuse] x")) == "end_after_redirections"
        shadow = _machine(ClaimsPatience("shadow"))
        assert _violation(lambda: shadow._send("[abuse] x")) == "shadow_never_ends"

    def test_refusals_that_are_not(self) -> None:
        """An accepted or storing write on an ended branch breaks ended_branch_closed."""
        machine = _machine()
        assert _violation(lambda: machine._expect_refusal(lambda: None, "a send")) == (
            "ended_branch_closed"
        )

        def stores_then_refuses() -> None:
            machine.conv.send("hello")
            raise cg.ConversationEndedError(machine.conv.id, None)

        assert _violation(lambda: machine._expect_refusal(stores_then_refuses, "a send")) == (
            "ended_branch_closed"
        )

    def test_messages_not_stored_as_sent(self) -> None:
        """A verdict without a message, or a message changed on the way, is caught."""
        machine = _machine()
        bare = cg.Verdict(cg.Action.ALLOW, cg.PolicyState(), None)
        assert _violation(lambda: machine._check_stored(bare, "hi")) == "messages_stored"
        verdict = machine.conv.send("hello")
        assert _violation(lambda: machine._check_stored(verdict, "other")) == "messages_stored"

    def test_edits_that_move_or_change_things(self) -> None:
        """An edit that changes the original or lands elsewhere is caught."""
        store = Tampering()
        machine = _machine(store=store)
        original = machine.conv.get(machine.conv.send("hello").message_id or "")
        store.get_hook = lambda m: attrs.evolve(m, content="changed")
        assert _violation(lambda: machine._edit(original, "hi")) == "messages_stored"
        other = Tampering()
        loose = _machine(store=other, off=frozenset({"messages_stored"}))
        kept = loose.conv.get(loose.conv.send("hello").message_id or "")
        other.get_hook = lambda m: m if m.id == kept.id else attrs.evolve(m, parent_id="x")
        assert _violation(lambda: loose._edit(kept, "hi")) == "edit_opens_live_branch"

    def test_edit_left_ended(self) -> None:
        """An edit allowed but leaving the branch ended breaks edit_opens_live_branch."""
        machine = _machine(SilentEnd())
        original = machine.conv.get(machine.conv.send("hello").message_id or "")
        assert _violation(lambda: machine._edit(original, "[hate] x")) == ("edit_opens_live_branch")

    def test_changes_where_nothing_should_change(self) -> None:
        """Writes seen by a refused end, bad input or another chat are caught."""
        store = Tampering()
        machine = _machine(store=store)
        store.drift = True
        assert _violation(lambda: machine.request_end("assistant")) == "ended_branch_closed"
        assert _violation(lambda: machine.bad_input("empty")) == "bad_input_rejected"
        store.drift = False
        machine.new_chat()
        before = machine._others()
        machine.chats[0].send("hello")
        assert _violation(lambda: machine._check_others(before)) == "others_unaffected"

    def test_bad_input_accepted_or_leaking(self) -> None:
        """A foreign error, or bad input accepted, breaks bad_input_rejected."""
        store = Tampering()
        machine = _machine(store=store)
        store.get_hook = "foreign"
        assert _violation(lambda: machine.bad_input("unknown id")) == "bad_input_rejected"

    def test_bad_input_accepted(self) -> None:
        """Bad input that goes through breaks bad_input_rejected."""
        store = Tampering()
        machine = _machine(store=store)
        machine.conv.send("hello")
        store.get_hook = "accept"
        assert _violation(lambda: machine.bad_input("unknown id")) == "bad_input_rejected"

    def test_disabled_checks_let_the_step_go_on(self) -> None:
        """With an invariant off, its faults are passed over and the step completes."""
        store = Tampering()
        machine = _machine(store=store, off=frozenset({"messages_stored"}))
        machine._check_stored(cg.Verdict(cg.Action.ALLOW, cg.PolicyState(), None), "hi")
        original = machine.conv.get(machine.conv.send("hello").message_id or "")
        store.get_hook = lambda m: attrs.evolve(m, content="changed")
        machine._edit(original, "hello")

    def test_an_end_that_did_not_end_is_counted_as_no_redirection(self) -> None:
        """Turns after an END that left the branch open are still judged from the path."""
        machine = _machine(KeepsEndedOpen(), off=frozenset({"ended_branch_closed"}))
        for _ in range(6):
            machine._send("[abuse] again")
        assert machine._counts(machine.conv.path()).streak == 0

    def test_new_chat_not_live(self) -> None:
        """A new chat that starts closed breaks new_chat_live."""
        store = Tampering()
        machine = _machine(cg.LastResortPolicy(cg.PolicyConfig(max_ended_branches=1)), store)
        store.ended_branches = 5
        assert _violation(machine.new_chat) == "new_chat_live"

    def test_node_under_an_ended_one(self) -> None:
        """A stored node whose parent is ended breaks ended_branch_closed."""
        store = Tampering()
        machine = _machine(store=store)
        for _ in range(4):
            machine.conv.send("[abuse] again")
        ended = machine.conv.tip()
        assert ended is not None
        store.extra = [attrs.evolve(ended, id="late", parent_id=ended.id)]
        assert _violation(machine.no_node_under_an_ended_one) == "ended_branch_closed"

    def test_replay_differs(self) -> None:
        """A policy that answers differently the second time breaks replay_same_verdicts."""
        machine = _machine(Flaky())
        machine.conv.send("hello")
        assert _violation(machine.replay_gives_the_same_verdicts) == "replay_same_verdicts"
        off = _machine(Flaky(), off=frozenset({"replay_same_verdicts"}))
        off.conv.send("hello")
        off.replay_gives_the_same_verdicts()

    def test_redirect_replies_are_counted_once(self) -> None:
        """The model of a branch counts an assistant redirect once per user turn."""
        machine = _machine()
        machine.conv.send("hello")
        for _ in range(2):
            machine.reply(redirect=True)
        counts = machine._counts(machine.conv.path())
        assert counts.redirections == 1
        assert counts.streak == 0

    def test_own_detectors(self) -> None:
        """Detectors given as a class attribute are used."""

        class WithDetectors(PolicyContract):
            detectors = (cg.testing.ScriptedDetector({"!!": "abuse"}),)

        assert WithDetectors().guard.detectors[0].name == "scripted"


class TestSettings:
    def test_class_attributes_reach_the_test_case(self) -> None:
        """max_examples and step_count become the TestCase's Hypothesis settings."""

        class Small(PolicyContract):
            max_examples = 7
            step_count = 5

        assert Small.TestCase.settings.max_examples == 7
        assert Small.TestCase.settings.stateful_step_count == 5
        assert PolicyContract.TestCase.settings.max_examples == 60

    def test_a_settings_decorator_wins(self) -> None:
        """@settings on a subclass overrides the class attributes, as Hypothesis documents."""

        @settings(max_examples=3)
        class Decorated(PolicyContract):
            max_examples = 50

        assert Decorated.TestCase.settings.max_examples == 3
