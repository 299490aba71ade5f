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

    def request_end(
        self,
        state: cg.PolicyState,
        *,
        by: EndRequester,
        message_id: str,
        reason: str | None = None,
        locale: str | None = None,
    ) -> tuple[cg.PolicyState, cg.Verdict]:
        return self.inner.request_end(
            state, by=by, message_id=message_id, reason=reason, locale=locale
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
