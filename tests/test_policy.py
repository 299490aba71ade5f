"""The last-resort policy, rule by rule, as a pure function."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import convguard as cg
from convguard import Action, PolicyConfig, PolicyState, Status
from convguard.testing import ScriptedDetector


def finding(category: str, score: float = 0.9) -> cg.Finding:
    return cg.Finding(category, score, "test")


def run(
    policy: cg.LastResortPolicy,
    turns: Sequence[str | None],
    state: PolicyState | None = None,
) -> tuple[list[Action], PolicyState]:
    """Step the policy over user turns; each is a category or None (benign)."""
    state = state or policy.initial_state()
    actions = []
    for index, category in enumerate(turns):
        findings = () if category is None else (finding(category),)
        state, verdict = policy.step(state, cg.Turn(f"m{index}", findings))
        actions.append(verdict.action)
        if verdict.ended:
            break
    return actions, state


A, R, W, S, E = Action.ALLOW, Action.REDIRECT, Action.WARN, Action.SUPPORT, Action.END


class TestEscalation:
    def test_persistent_user_gets_redirect_redirect_warn_end(self) -> None:
        """With the defaults a persistent user is redirected twice, warned, then ended."""
        actions, state = run(cg.LastResortPolicy(), ["abuse"] * 4)
        assert actions == [R, R, W, E]
        assert state.status is Status.ENDED

    def test_every_terminable_category_escalates(self) -> None:
        """Each terminable category counts toward the same limit."""
        actions, _ = run(cg.LastResortPolicy(), ["abuse", "mass_violence", "child_sexual_content"])
        assert actions == [R, R, W]

    def test_benign_turns_are_allowed(self) -> None:
        """A turn without findings is allowed and counts toward recovery."""
        actions, state = run(cg.LastResortPolicy(), [None, None])
        assert actions == [A, A]
        assert state.benign_streak == 2
        assert state.status is Status.ACTIVE

    def test_informational_findings_are_reported_not_acted_on(self) -> None:
        """Hate or violence findings are on the verdict but the action is ALLOW."""
        policy = cg.LastResortPolicy()
        _, verdict = policy.step(policy.initial_state(), cg.Turn("m", (finding("hate"),)))
        assert verdict.action is A
        assert verdict.findings[0].category == "hate"
        assert any("informational" in r for r in verdict.reasons)

    def test_findings_below_threshold_do_not_count(self) -> None:
        """A terminable finding under its threshold is allowed, and the reasons say so."""
        policy = cg.LastResortPolicy(PolicyConfig(thresholds={"abuse": 0.95}))
        _, verdict = policy.step(policy.initial_state(), cg.Turn("m", (finding("abuse", 0.9),)))
        assert verdict.action is A
        assert any("below threshold" in r for r in verdict.reasons)

    def test_default_threshold_applies_to_other_categories(self) -> None:
        """default_threshold sets the bar for categories without their own."""
        policy = cg.LastResortPolicy(PolicyConfig(default_threshold=0.2))
        _, verdict = policy.step(policy.initial_state(), cg.Turn("m", (finding("abuse", 0.3),)))
        assert verdict.action is R

    @pytest.mark.parametrize(
        ("limit", "expected"),
        [(1, [W, E]), (2, [R, W, E]), (3, [R, R, W, E]), (5, [R, R, R, R, W, E])],
    )
    def test_max_redirections_sets_the_limit(self, limit: int, expected: list[Action]) -> None:
        """The warning is the last of max_redirections redirecting turns."""
        actions, _ = run(cg.LastResortPolicy(PolicyConfig(max_redirections=limit)), ["abuse"] * 9)
        assert actions == expected

    def test_limit_zero_ends_at_the_first_terminable_turn(self) -> None:
        """max_redirections=0 ends at once, without a warning."""
        actions, _ = run(cg.LastResortPolicy(PolicyConfig(max_redirections=0)), [None, "abuse"])
        assert actions == [A, E]

    def test_without_warning_the_end_follows_the_last_redirect(self) -> None:
        """warn_before_end=False gives REDIRECT x3 then END."""
        policy = cg.LastResortPolicy(PolicyConfig(warn_before_end=False))
        actions, _ = run(policy, ["abuse"] * 5)
        assert actions == [R, R, R, E]

    def test_category_override_lowers_the_limit(self) -> None:
        """A per-category override applies once that category is seen."""
        config = PolicyConfig(category_max_redirections={"child_sexual_content": 1})
        actions, _ = run(cg.LastResortPolicy(config), ["child_sexual_content"] * 3)
        assert actions == [W, E]

    def test_smallest_override_among_seen_categories_wins(self) -> None:
        """With several categories seen, the smallest override is the limit."""
        config = PolicyConfig(
            category_max_redirections={"abuse": 5, "child_sexual_content": 2},
        )
        actions, _ = run(cg.LastResortPolicy(config), ["abuse", "child_sexual_content", "abuse"])
        assert actions == [R, W, E]

    def test_override_larger_than_the_default_raises_the_limit(self) -> None:
        """An override above max_redirections gives that category more room."""
        config = PolicyConfig(category_max_redirections={"abuse": 4})
        actions, _ = run(cg.LastResortPolicy(config), ["abuse"] * 6)
        assert actions == [R, R, R, W, E]


class TestRecovery:
    def test_benign_streak_resets_the_count(self) -> None:
        """recovery_turns benign turns in a row reset redirections and the warning."""
        actions, state = run(cg.LastResortPolicy(), ["abuse", "abuse", "abuse", None, None, None])
        assert actions == [R, R, W, A, A, A]
        assert state.redirections == 0
        assert not state.warned
        assert state.status is Status.ACTIVE
        more, _ = run(cg.LastResortPolicy(), ["abuse"] * 4, state)
        assert more == [R, R, W, E]

    def test_a_short_pause_does_not_reset(self) -> None:
        """Fewer benign turns than recovery_turns keep the count."""
        actions, _ = run(cg.LastResortPolicy(), ["abuse", "abuse", None, None, "abuse", "abuse"])
        assert actions == [R, R, A, A, W, E]

    def test_recovery_can_be_switched_off(self) -> None:
        """recovery_turns=None never resets the count."""
        policy = cg.LastResortPolicy(PolicyConfig(recovery_turns=None))
        actions, _ = run(policy, ["abuse", "abuse", None, None, None, None, "abuse", "abuse"])
        assert actions == [R, R, A, A, A, A, W, E]

    def test_recovery_forgets_categories_seen(self) -> None:
        """After recovery a category override no longer applies."""
        config = PolicyConfig(category_max_redirections={"child_sexual_content": 1})
        policy = cg.LastResortPolicy(config)
        _, state = run(policy, ["child_sexual_content", None, None, None])
        assert state.seen == frozenset()
        actions, _ = run(policy, ["abuse"] * 4, state)
        assert actions == [R, R, W, E]

    def test_the_recovery_is_in_the_reasons(self) -> None:
        """The turn that resets the count says so."""
        policy = cg.LastResortPolicy(PolicyConfig(recovery_turns=1))
        _, state = run(policy, ["abuse"])
        _, verdict = policy.step(state, cg.Turn("m"))
        assert any("recovery" in r for r in verdict.reasons)


class TestSupport:
    def test_protective_finding_gets_support(self) -> None:
        """A user who may be at risk is supported and exempted."""
        actions, state = run(cg.LastResortPolicy(), ["self_harm_risk"])
        assert actions == [S]
        assert state.exempt
        assert state.status is Status.SUPPORTING

    def test_protective_wins_over_terminable_in_the_same_turn(self) -> None:
        """A turn with both a protective and a terminable finding is SUPPORT."""
        policy = cg.LastResortPolicy()
        _, state = run(policy, ["abuse", "abuse", "abuse"])
        turn = cg.Turn("m", (finding("abuse"), finding("harm_to_others_risk")))
        _, verdict = policy.step(state, turn)
        assert verdict.action is S
        assert not verdict.ended

    def test_exempt_branch_is_never_warned_or_ended(self) -> None:
        """After SUPPORT, terminable turns are redirected without counting, forever."""
        actions, state = run(cg.LastResortPolicy(), ["self_harm_risk"] + ["abuse"] * 20)
        assert actions == [S] + [R] * 20
        assert state.redirections == 0

    def test_numeric_exemption_expires(self) -> None:
        """exemption_scope=N covers the next N user turns, then escalation resumes."""
        policy = cg.LastResortPolicy(PolicyConfig(exemption_scope=2))
        actions, _ = run(policy, ["self_harm_risk"] + ["abuse"] * 7)
        # two exempt redirects that do not count, then REDIRECT, REDIRECT, WARN, END
        assert actions == [S, R, R, R, R, W, E]

    def test_exemption_scope_is_in_the_reasons(self) -> None:
        """The SUPPORT verdict says how long the exemption lasts."""
        policy = cg.LastResortPolicy(PolicyConfig(exemption_scope=2))
        _, verdict = policy.step(policy.initial_state(), cg.Turn("m", (finding("self_harm_risk"),)))
        assert any("2 more user turns" in r for r in verdict.reasons)

    def test_support_guidance_shares_the_resources(self) -> None:
        """SUPPORT guidance includes the support resources of the locale."""
        config = PolicyConfig(support_resources={"en": ("Call 988",), "fr": ("Appelez le 3114",)})
        policy = cg.LastResortPolicy(config)
        turn = cg.Turn("m", (finding("self_harm_risk"),), locale="fr")
        _, verdict = policy.step(policy.initial_state(), turn)
        assert "Appelez le 3114" in verdict.guidance
        turn = cg.Turn("m", (finding("self_harm_risk"),), locale="xx")
        _, verdict = policy.step(policy.initial_state(), turn)
        assert "Call 988" in verdict.guidance

    def test_support_turns_count_toward_recovery(self) -> None:
        """A SUPPORT turn adds to the benign streak, and a reset says so."""
        policy = cg.LastResortPolicy(PolicyConfig(exemption_scope=1))
        _, state = run(policy, ["abuse", "abuse", "self_harm_risk", None, None])
        assert state.redirections == 0
        quick = cg.LastResortPolicy(PolicyConfig(recovery_turns=1))
        _, state = run(quick, ["abuse"])
        _, verdict = quick.step(state, cg.Turn("m", (finding("self_harm_risk"),)))
        assert verdict.state.redirections == 0
        assert any(r.startswith("recovery") for r in verdict.reasons)


class TestShadowMode:
    def test_shadow_never_ends_but_says_it_would(self) -> None:
        """In shadow mode the would-be END is a REDIRECT with would_end set."""
        policy = cg.LastResortPolicy(PolicyConfig(mode="shadow"))
        state = policy.initial_state()
        verdicts = []
        for index in range(6):
            state, verdict = policy.step(state, cg.Turn(f"m{index}", (finding("abuse"),)))
            verdicts.append(verdict)
        assert [v.action for v in verdicts] == [R, R, W, R, R, R]
        assert [v.would_end for v in verdicts] == [False, False, False, True, True, True]
        assert not any(v.ended for v in verdicts)


class TestReply:
    def test_assistant_redirect_counts_after_an_allowed_turn(self) -> None:
        """A redirecting reply to an allowed turn counts one redirection."""
        policy = cg.LastResortPolicy()
        _, state = run(policy, [None])
        after = policy.on_reply(state, redirect=True)
        assert after.redirections == 1
        assert after.status is Status.REDIRECTING

    def test_each_user_turn_counts_once(self) -> None:
        """A second redirecting reply to the same turn counts nothing."""
        policy = cg.LastResortPolicy()
        _, state = run(policy, [None])
        once = policy.on_reply(state, redirect=True)
        assert policy.on_reply(once, redirect=True) is once

    def test_reply_after_a_redirect_verdict_counts_nothing(self) -> None:
        """The turn already counted as a redirection through its verdict."""
        policy = cg.LastResortPolicy()
        _, state = run(policy, ["abuse"])
        assert policy.on_reply(state, redirect=True).redirections == 1

    def test_plain_reply_keeps_the_state_object(self) -> None:
        """A non-redirecting reply shares its parent's state (no copy)."""
        policy = cg.LastResortPolicy()
        _, state = run(policy, [None])
        assert policy.on_reply(state, redirect=False) is state

    def test_reply_never_warns_by_itself(self) -> None:
        """Replies can reach the limit, but the next turn still warns before the end."""
        policy = cg.LastResortPolicy()
        state = policy.initial_state()
        for _ in range(3):
            state, _ = policy.step(state, cg.Turn("m"))
            state = policy.on_reply(state, redirect=True)
        assert state.redirections == 3
        assert not state.warned
        actions, _ = run(policy, ["abuse", "abuse"], state)
        assert actions == [W, E]

    def test_reply_counts_nothing_while_exempt(self) -> None:
        """Nothing counts while the user may be at risk."""
        policy = cg.LastResortPolicy()
        _, state = run(policy, ["self_harm_risk", None])
        assert policy.on_reply(state, redirect=True) is state

    def test_reply_before_any_user_turn_counts_nothing(self) -> None:
        """A greeting redirect has no user turn to count."""
        policy = cg.LastResortPolicy()
        assert policy.on_reply(policy.initial_state(), redirect=True).redirections == 0


class TestRequestEnd:
    def test_user_request_is_granted(self) -> None:
        """A user may end their own conversation."""
        policy = cg.LastResortPolicy()
        state, verdict = policy.request_end(
            cg.PolicyState(user_turns=1), by="user", message_id="e", confirmed=True
        )
        assert verdict.action is E
        assert verdict.message_id == "e"
        assert state.status is Status.ENDED

    def test_user_request_refused_while_exempt(self) -> None:
        """A user who may be at risk is not let go: SUPPORT, and why."""
        policy = cg.LastResortPolicy()
        _, exempt = run(policy, ["self_harm_risk"])
        state, verdict = policy.request_end(exempt, by="user", message_id="e")
        assert verdict.action is S
        assert verdict.message_id is None
        assert state is exempt
        assert "at risk" in verdict.reasons[-1]

    def test_user_request_can_be_switched_off(self) -> None:
        """allow_user_requested_end=False refuses, naming the option."""
        policy = cg.LastResortPolicy(PolicyConfig(allow_user_requested_end=False))
        _, verdict = policy.request_end(policy.initial_state(), by="user", message_id="e")
        assert verdict.action is A
        assert "allow_user_requested_end" in verdict.reasons[-1]

    def test_assistant_request_needs_the_end_bar(self) -> None:
        """The model may end only where rule 2 would: limit reached and warned."""
        policy = cg.LastResortPolicy()
        _, fresh = run(policy, [None])
        _, verdict = policy.request_end(fresh, by="assistant", message_id="e")
        assert verdict.action is A
        assert "last resort" in verdict.reasons[-1]
        _, twice = run(policy, ["abuse", "abuse"])
        _, verdict = policy.request_end(twice, by="assistant", message_id="e")
        assert verdict.action is R
        _, warned = run(policy, ["abuse", "abuse", "abuse"])
        _, verdict = policy.request_end(warned, by="assistant", message_id="e")
        assert verdict.action is R
        assert "let them reply" in verdict.reasons[-1]
        # The user answers the warning with something the detectors miss.
        _, answered = run(policy, [None], warned)
        state, verdict = policy.request_end(answered, by="assistant", message_id="e", reason="x")
        assert verdict.action is E
        assert state.ended
        assert "end requested by the assistant: x" in verdict.reasons

    def test_assistant_request_needs_a_warning(self) -> None:
        """Redirections from replies reach the limit, but the user must be warned first."""
        policy = cg.LastResortPolicy()
        state = policy.initial_state()
        for _ in range(3):
            state, _ = policy.step(state, cg.Turn("m"))
            state = policy.on_reply(state, redirect=True)
        _, verdict = policy.request_end(state, by="assistant", message_id="e")
        assert verdict.action is R
        assert "warned" in verdict.reasons[-1]

    def test_assistant_request_refused_while_exempt(self) -> None:
        """The model cannot end a conversation with a user who may be at risk."""
        policy = cg.LastResortPolicy(PolicyConfig(max_redirections=0))
        _, state = run(policy, ["self_harm_risk"])
        _, verdict = policy.request_end(state, by="assistant", message_id="e")
        assert verdict.action is S

    def test_assistant_request_can_be_switched_off(self) -> None:
        """allow_assistant_requested_end=False refuses, naming the option."""
        policy = cg.LastResortPolicy(PolicyConfig(allow_assistant_requested_end=False))
        _, warned = run(policy, ["abuse", "abuse", "abuse", None])
        _, verdict = policy.request_end(warned, by="assistant", message_id="e")
        assert verdict.action is R
        assert "allow_assistant_requested_end" in verdict.reasons[-1]

    def test_limit_zero_still_needs_one_redirection(self) -> None:
        """With max_redirections=0 the model must have redirected once."""
        policy = cg.LastResortPolicy(PolicyConfig(max_redirections=0))
        state, _ = policy.step(policy.initial_state(), cg.Turn("m"))
        _, verdict = policy.request_end(state, by="assistant", message_id="e")
        assert verdict.action is A
        state = policy.on_reply(state, redirect=True)
        _, verdict = policy.request_end(state, by="assistant", message_id="e")
        assert verdict.action is R
        state, _ = policy.step(state, cg.Turn("m2"))
        _, verdict = policy.request_end(state, by="assistant", message_id="e")
        assert verdict.action is E

    def test_shadow_mode_grants_nothing(self) -> None:
        """In shadow mode a granted end is a REDIRECT with would_end, nothing stored."""
        policy = cg.LastResortPolicy(PolicyConfig(mode="shadow"))
        state, verdict = policy.request_end(
            cg.PolicyState(user_turns=1), by="user", message_id="e", confirmed=True
        )
        assert verdict.action is R
        assert verdict.would_end
        assert verdict.message_id is None
        assert not state.ended


class TestGuidance:
    def test_every_action_has_guidance(self) -> None:
        """REDIRECT, WARN, SUPPORT and END come with an instruction for the model."""
        policy = cg.LastResortPolicy()
        for action in (R, W, S, E):
            assert policy.guidance(action, categories=["abuse"])
        assert policy.guidance(A) == ""

    def test_templates_are_filled(self) -> None:
        """Placeholders are replaced by the categories and the limit."""
        config = PolicyConfig(
            guidance=cg.GuidanceTemplates(redirect="no {categories} ({limit})"),
        )
        policy = cg.LastResortPolicy(config)
        _, verdict = policy.step(policy.initial_state(), cg.Turn("m", (finding("abuse"),)))
        assert verdict.guidance == "no abuse (3)"

    def test_unknown_placeholder_is_refused(self) -> None:
        """A template with an unknown placeholder is a configuration error."""
        with pytest.raises(cg.ConfigurationError, match="placeholder"):
            PolicyConfig(guidance={"warn": "{nope}"})
        with pytest.raises(cg.ConfigurationError, match="invalid guidance templates") as caught:
            cg.GuidanceTemplates(redirect="{0}")
        assert "Value error" not in str(caught.value)


class TestDetectorErrors:
    def test_failures_are_ignored_by_default(self) -> None:
        """A failed detector is reported, and the turn is allowed."""
        policy = cg.LastResortPolicy()
        turn = cg.Turn("m", errors=(cg.DetectorFailure("remote", "timeout", "late"),))
        _, verdict = policy.step(policy.initial_state(), turn)
        assert verdict.action is A
        assert verdict.errors == turn.errors
        assert any("remote" in r for r in verdict.reasons)

    def test_failures_can_redirect_without_counting(self) -> None:
        """on_detector_error='redirect' redirects but never counts toward an end."""
        policy = cg.LastResortPolicy(PolicyConfig(on_detector_error="redirect"))
        turn = cg.Turn("m", errors=(cg.DetectorFailure("remote", "error", "boom"),))
        state = policy.initial_state()
        for _ in range(6):
            state, verdict = policy.step(state, turn)
            assert verdict.action is R
        assert state.redirections == 0


class TestConfig:
    def test_defaults_match_the_design(self) -> None:
        """The documented defaults."""
        config = PolicyConfig()
        assert config.max_redirections == 3
        assert config.warn_before_end
        assert config.recovery_turns == 3
        assert config.exemption_scope == "conversation"
        assert config.concern_threshold == 0.3
        assert config.confirm_user_end
        assert config.mode == "enforce"
        assert config.threshold("abuse") == 0.5
        assert config.terminable == {"child_sexual_content", "mass_violence", "abuse"}
        assert config.protective == {"self_harm_risk", "harm_to_others_risk"}

    @pytest.mark.parametrize(
        "options",
        [
            {"max_redirections": -1},
            {"thresholds": {"abuse": 1.5}},
            {"recovery_turns": 0},
            {"exemption_scope": "forever"},
            {"mode": "loud"},
            {"max_ended_branches": 0},
            {"category_max_redirections": {"hate": 1}},
            {"terminable": ["abuse"], "protective": ["abuse"]},
            {"locale": "fr"},
            {"no_such_option": True},
        ],
    )
    def test_bad_values_raise_configuration_error(self, options: dict[str, object]) -> None:
        """Each invalid option gives a ConfigurationError naming the problem."""
        with pytest.raises(cg.ConfigurationError) as caught:
            PolicyConfig(**options)
        assert caught.value.errors

    def test_all_problems_are_listed(self) -> None:
        """Several bad options are reported together."""
        with pytest.raises(cg.ConfigurationError) as caught:
            PolicyConfig(max_redirections=-1, mode="loud")
        assert len(caught.value.errors) == 2

    def test_from_dict_and_json(self) -> None:
        """Configs load from a mapping and from JSON text."""
        assert PolicyConfig.from_dict({"max_redirections": 2}).max_redirections == 2
        assert PolicyConfig.from_json('{"mode": "shadow"}').mode == "shadow"
        with pytest.raises(cg.ConfigurationError, match="JSON"):
            PolicyConfig.from_json("{nope")
        with pytest.raises(cg.ConfigurationError, match="mapping"):
            PolicyConfig.from_dict([1, 2])  # type: ignore[arg-type]

    def test_from_toml_text_and_file(self, tmp_path: Path) -> None:
        """Configs load from TOML text or a file, with or without a [policy] table."""
        text = "[policy]\nmax_redirections = 1\ncategory_max_redirections = { abuse = 1 }\n"
        assert PolicyConfig.from_toml(text).max_redirections == 1
        path = tmp_path / "policy.toml"
        path.write_text('mode = "shadow"\n', encoding="utf-8")
        assert PolicyConfig.from_toml(path).mode == "shadow"
        assert PolicyConfig.from_toml(str(path)).mode == "shadow"
        with pytest.raises(cg.ConfigurationError, match="cannot read"):
            PolicyConfig.from_toml(tmp_path / "missing.toml")
        with pytest.raises(cg.ConfigurationError, match="TOML"):
            PolicyConfig.from_toml("max_redirections = = 1\n")

    def test_policy_needs_a_config(self) -> None:
        """Passing something else than a PolicyConfig is refused."""
        with pytest.raises(cg.ConfigurationError):
            cg.LastResortPolicy({"max_redirections": 1})  # type: ignore[arg-type]

    def test_repr_shows_changed_options(self) -> None:
        """The policy's repr names what differs from the defaults."""
        assert "max_redirections=1" in repr(cg.LastResortPolicy(PolicyConfig(max_redirections=1)))


categories = st.sampled_from(
    [None, None, "abuse", "mass_violence", "child_sexual_content", "self_harm_risk", "hate"]
)


class TestProperties:
    @given(st.lists(categories, max_size=40), st.integers(0, 5), st.booleans())
    def test_end_only_after_the_limit_and_never_while_exempt(
        self, turns: list[str | None], limit: int, warn: bool
    ) -> None:
        """END needs limit redirections (warned where required) and no exemption."""
        policy = cg.LastResortPolicy(PolicyConfig(max_redirections=limit, warn_before_end=warn))
        state = policy.initial_state()
        for index, category in enumerate(turns):
            before = state
            findings = () if category is None else (finding(category),)
            state, verdict = policy.step(before, cg.Turn(str(index), findings))
            exempt = before.exempt_at(before.user_turns + 1)
            if verdict.action in (E, W):
                assert not exempt
            if verdict.action is E:
                assert before.redirections >= limit
                assert limit == 0 or before.warned or not warn
                break

    @given(st.lists(categories, max_size=30))
    def test_the_policy_is_a_pure_function(self, turns: list[str | None]) -> None:
        """Replaying the same turns gives the same verdicts."""
        first = run(cg.LastResortPolicy(), turns)
        second = run(cg.LastResortPolicy(), turns)
        assert first == second


class TallyPolicy:
    """LastResortPolicy with state of its own in ``data``: a tally and the actions so far."""

    def __init__(self) -> None:
        """Wrap the default policy."""
        self.inner = cg.LastResortPolicy()

    def initial_state(self) -> PolicyState:
        """Start from the default policy's state, with an empty tally."""
        return self.inner.initial_state()

    def step(self, state: PolicyState, turn: cg.Turn) -> tuple[PolicyState, cg.Verdict]:
        """Step the default policy, then count the turn in ``data``."""
        new, verdict = self.inner.step(state, turn)
        data = {
            "turns": int(state.data.get("turns", 0)) + 1,
            "actions": [*state.data.get("actions", ()), verdict.action.value],
            "last": {"id": turn.message_id, "findings": len(turn.findings)},
        }
        new = attrs.evolve(new, data=data)
        return new, attrs.evolve(verdict, state=new)

    def on_reply(self, state: PolicyState, *, redirect: bool) -> PolicyState:
        """Count replies too."""
        new = self.inner.on_reply(state, redirect=redirect)
        return attrs.evolve(new, data={**new.data, "replies": new.data.get("replies", 0) + 1})

    def request_end(self, state: PolicyState, **kwargs: Any) -> tuple[PolicyState, cg.Verdict]:
        """End as the default policy does."""
        return self.inner.request_end(state, **kwargs)


def play_tally(conv: cg.Conversation) -> None:
    """Grow two branches with states of TallyPolicy's own, one of them ended."""
    first = conv.send("hello")
    conv.reply("hi", redirect=True)  # counts one redirection
    for _ in range(3):
        conv.send("[abuse] stop")
    assert conv.ended()
    conv.edit(first.message_id or "", "[crisis] sorry")
    conv.reply("here for you")


class TestPolicyData:
    def test_empty_by_default(self) -> None:
        """A state has no data of its own unless a policy puts some there."""
        assert PolicyState().data == {}
        assert PolicyState(data={}) == PolicyState()
        assert not cg.LastResortPolicy().step(PolicyState(), cg.Turn("m"))[0].data

    def test_read_only_json_copy(self) -> None:
        """data is a read-only copy of what was given, as JSON holds it (tuples become lists)."""
        given = {"strikes": 1, "seen": ("a", "b")}
        state = PolicyState(data=given)
        given["strikes"] = 2
        assert state.data == {"strikes": 1, "seen": ["a", "b"]}
        with pytest.raises(TypeError):
            state.data["strikes"] = 3  # type: ignore[index]
        assert attrs.evolve(state, redirections=1).data == state.data
        assert "data={'strikes': 1" in repr(state)

    def test_states_differing_only_in_data_differ(self) -> None:
        """Two states with different data are not equal (they may share a hash)."""
        assert PolicyState(data={"n": 1}) != PolicyState(data={"n": 2})
        assert len({PolicyState(data={"n": 1}), PolicyState(data={"n": 1})}) == 1

    @pytest.mark.parametrize(
        ("data", "match"),
        [
            ({"n": {1, 2}}, "JSON-compatible"),
            ({"n": float("nan")}, "JSON-compatible"),
            ({"n": object()}, "JSON-compatible"),
            ({"n": "\ud800"}, "JSON-compatible"),
            ({1: "one"}, "keys must be strings"),
            ({"n": {2: "two"}}, "keys must be strings"),
            ([("n", 1)], "must be a mapping"),
            (None, "must be a mapping"),
        ],
    )
    def test_bad_data_is_refused(self, data: Any, match: str) -> None:
        """A value JSON cannot hold is an InvalidMessageError naming PolicyState.data."""
        with pytest.raises(cg.InvalidMessageError, match=rf"PolicyState\.data .*{match}"):
            PolicyState(data=data)

    def test_too_deep_data_is_refused(self) -> None:
        """Data nested deeper than metadata may be is refused, without a RecursionError."""
        deep: dict[str, Any] = {}
        for _ in range(10_000):
            deep = {"d": deep}
        with pytest.raises(cg.InvalidMessageError, match="deeper than 64"):
            PolicyState(data=deep)

    def test_a_policy_returning_bad_data_fails_in_the_policy(self) -> None:
        """The error surfaces where the policy builds the state; the guard stores nothing."""

        class Leaky(TallyPolicy):
            def step(self, state: PolicyState, turn: cg.Turn) -> tuple[PolicyState, cg.Verdict]:
                new, verdict = super().step(state, turn)
                return attrs.evolve(new, data={"when": Path()}), verdict

        conv = cg.Guard(policy=Leaky()).start()
        with pytest.raises(cg.InvalidMessageError, match=r"PolicyState\.data"):
            conv.send("hello")
        assert conv.messages() == []

    def test_the_guard_keeps_a_policys_data(self) -> None:
        """Each node holds the data its policy returned; the guard reads only status."""
        conv = cg.Guard(
            detectors=[ScriptedDetector({"[abuse]": "abuse"})], policy=TallyPolicy()
        ).start()
        verdicts = [conv.send("[abuse] stop") for _ in range(4)]
        assert conv.ended()
        assert conv.state().data == {
            "turns": 4,
            "actions": ["redirect", "redirect", "warn", "end"],
            "last": {"id": verdicts[-1].message_id, "findings": 1},
        }
