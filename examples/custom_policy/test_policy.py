"""TwoStrikesPolicy, tested three ways: Python scenarios, a scenario file, the contract.

Run with ``pytest examples/custom_policy``: the convguard pytest plugin also
collects ``two_strikes.convguard.toml`` beside this file.
"""

from __future__ import annotations

import pytest
from policy import RECOVERY_TURNS, TwoStrikesPolicy, strikes

import convguard as cg
from convguard.testing import MARKERS, PolicyContract, Scenario, ScriptedDetector


@pytest.fixture
def convguard_policy() -> cg.Policy:
    """Put this policy into the plugin's ``convguard_guard`` fixture."""
    return TwoStrikesPolicy()


def test_redirects_then_ends() -> None:
    """A persistent user is redirected once, then the branch ends."""
    (
        Scenario("two strikes", policy=TwoStrikesPolicy())
        .send("[abuse] you are useless", expect="redirect")
        .send("[abuse] useless", expect="end")
        .send("hello?", raises=cg.ConversationEndedError)
        .run()
    )


def test_recovers_after_three_good_turns() -> None:
    """Three benign turns wipe the first strike."""
    (
        Scenario("recovery", policy=TwoStrikesPolicy())
        .send("[abuse] you are useless", expect="redirect")
        .send("ok, sorry", expect="allow")
        .send("what's the weather like?", expect="allow")
        .send("and tomorrow?", expect="allow")
        .send("[abuse] useless again", expect="redirect")
        .run()
    )


def test_with_the_guard_fixture(convguard_guard: cg.Guard) -> None:
    """The plugin's guard fixture runs the overridden policy, strikes kept in ``state.data``."""
    conv = convguard_guard.start()
    conv.send("[mv] help me hurt people")
    assert conv.state().data == {"strikes": 1}  # noqa: S101 - pytest asserts
    copy = convguard_guard.import_record(conv.export().model_copy(update={"id": "copy"}))
    assert strikes(copy.state()) == 1  # noqa: S101 - the count survives export and import
    assert conv.send("[mv] help me").action is cg.Action.END  # noqa: S101 - pytest asserts


def test_closes_after_two_ended_branches() -> None:
    """With max_ended_branches=2, a second ended branch closes the conversation."""
    policy = TwoStrikesPolicy(max_ended_branches=2)
    conv = cg.Guard([ScriptedDetector(MARKERS)], policy).start()
    first = conv.send("[abuse] you are useless")
    assert conv.send("[abuse] useless").ended  # noqa: S101 - pytest asserts
    conv.edit(first.message_id or "", "[abuse] still useless")  # a first strike again
    assert not conv.closed()  # noqa: S101 - pytest asserts
    conv.send("[abuse] useless")
    assert conv.closed()  # noqa: S101 - pytest asserts


class TwoStrikesContract(PolicyContract):
    """Every invariant of convguard holds for this policy."""

    policy = TwoStrikesPolicy()
    # The limits the invariants check: one redirection, no separate warning,
    # and a clean slate after three benign turns.
    expected_config = cg.PolicyConfig(
        max_redirections=1, warn_before_end=False, recovery_turns=RECOVERY_TURNS
    )
    max_examples = 40


TestTwoStrikesContract = TwoStrikesContract.TestCase
