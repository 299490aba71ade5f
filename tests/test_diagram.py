"""`convguard diagram`: the policy's states and transitions, from the policy itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest

import convguard as cg
from convguard._cli import main
from convguard._diagram import Transition, render, render_dot, render_mermaid, transition_table
from tests.test_guard import OneStrike

A, R, S, E = cg.Status.ACTIVE, cg.Status.REDIRECTING, cg.Status.SUPPORTING, cg.Status.ENDED
ROOT: Final = Path(__file__).resolve().parent.parent

#: The default policy's machine, written out by hand from DESIGN.md.
EXPECTED: Final = {
    (A, "no finding", cg.Action.ALLOW, A),
    (A, "assistant redirect", None, A),  # before any user turn: nothing to count
    (A, "assistant redirect", None, R),
    (A, "terminable", cg.Action.REDIRECT, R),
    (A, "protective", cg.Action.SUPPORT, S),
    (A, "user asks to end", cg.Action.END, E),
    (R, "no finding", cg.Action.ALLOW, R),
    (R, "no finding", cg.Action.ALLOW, A),  # recovery
    (R, "assistant redirect", None, R),
    (R, "terminable", cg.Action.REDIRECT, R),
    (R, "terminable", cg.Action.WARN, R),
    (R, "terminable", cg.Action.END, E),
    (R, "protective", cg.Action.SUPPORT, S),
    (R, "user asks to end", cg.Action.END, E),
    (R, "assistant asks to end", cg.Action.END, E),
    (S, "no finding", cg.Action.ALLOW, S),
    (S, "assistant redirect", None, S),
    (S, "terminable", cg.Action.REDIRECT, S),
    (S, "protective", cg.Action.SUPPORT, S),
}


def _edges(table: tuple[Transition, ...]) -> set[tuple[object, ...]]:
    return {(t.source, t.input, t.action, t.target) for t in table}


class TestTable:
    """The transition table explored from the policy."""

    def test_default_policy(self) -> None:
        """The default policy has exactly the transitions the design describes."""
        assert _edges(transition_table()) == EXPECTED

    def test_no_way_out_of_support_or_ended(self) -> None:
        """Nothing leads from SUPPORTING to ENDED, and nothing leaves ENDED."""
        table = transition_table()
        assert not [t for t in table if t.source is S and t.target is E]
        assert not [t for t in table if t.source is E]

    def test_shadow_mode_never_ends(self) -> None:
        """In shadow mode no transition reaches ENDED."""
        shadow = cg.LastResortPolicy(cg.PolicyConfig(mode="shadow"))
        assert all(t.target is not E for t in transition_table(shadow))

    def test_options_change_the_machine(self) -> None:
        """Limit 0 ends at the first terminable turn; without warnings there is no WARN."""
        at_once = transition_table(cg.LastResortPolicy(cg.PolicyConfig(max_redirections=0)))
        assert (A, "terminable", cg.Action.END, E) in _edges(at_once)
        quiet = transition_table(cg.LastResortPolicy(cg.PolicyConfig(warn_before_end=False)))
        assert all(t.action is not cg.Action.WARN for t in quiet)
        scoped = cg.LastResortPolicy(cg.PolicyConfig(exemption_scope=2, recovery_turns=None))
        assert (S, "no finding", cg.Action.ALLOW, R) in _edges(transition_table(scoped))

    def test_no_categories_means_no_such_edges(self) -> None:
        """A policy with no protective categories has no SUPPORT transition."""
        policy = cg.LastResortPolicy(
            cg.PolicyConfig(protective=frozenset(), allow_no_protective=True)
        )
        assert all(t.input != "protective" for t in transition_table(policy))

    def test_not_a_policy(self) -> None:
        """Something that is not a policy is refused."""
        with pytest.raises(cg.ConfigurationError, match="Policy protocol"):
            transition_table("policy")  # type: ignore[arg-type]

    def test_a_policy_without_config_cannot_be_drawn(self) -> None:
        """The diagram explores a policy over its config's categories; without one it says so."""
        with pytest.raises(cg.ConfigurationError, match=r"cannot draw .* no config"):
            transition_table(OneStrike())
        with pytest.raises(cg.ConfigurationError, match="cannot draw"):
            render(OneStrike(), "dot")

    def test_unbounded_policy_is_refused(self) -> None:
        """A policy whose states never settle is refused instead of looping."""

        class Counting:
            def __init__(self) -> None:
                self.inner = cg.LastResortPolicy()
                self.config = self.inner.config

            def initial_state(self) -> cg.PolicyState:
                return self.inner.initial_state()

            def step(
                self, state: cg.PolicyState, turn: cg.Turn
            ) -> tuple[cg.PolicyState, cg.Verdict]:
                new = cg.PolicyState(seen=state.seen | {str(len(state.seen))})
                return new, cg.Verdict(cg.Action.ALLOW, new, turn.message_id)

            def on_reply(self, state: cg.PolicyState, *, redirect: bool) -> cg.PolicyState:
                return state

            def request_end(self, state: cg.PolicyState, **_: object) -> object:
                return self.inner.request_end(state, by="user", message_id="x", confirmed=True)

        with pytest.raises(cg.ConfigurationError, match="more than 50 states"):
            transition_table(Counting(), max_states=50)  # type: ignore[arg-type]


class TestRendering:
    """Mermaid and DOT output."""

    def test_mermaid(self) -> None:
        """Mermaid output starts at active and ends at ended, one line per pair of states."""
        text = render_mermaid(transition_table())
        lines = text.splitlines()
        assert lines[:2] == ["stateDiagram-v2", "    [*] --> active"]
        assert lines[-1] == "    ended --> [*]"
        assert "    redirecting --> ended: " in text
        assert "terminable / warn" in text

    def test_dot(self) -> None:
        """DOT output is a digraph with ended drawn as a final state."""
        text = render_dot(transition_table())
        assert text.startswith("digraph policy {")
        assert '"ended" [label="ended", peripheries=2];' in text
        assert '"active" -> "supporting" [label="protective / support"];' in text
        assert text.endswith("}\n")

    def test_render_formats(self) -> None:
        """render() picks the format, and refuses an unknown one."""
        assert render(fmt="dot") == render_dot(transition_table())
        with pytest.raises(cg.InvalidOperationError, match="'mermaid' or 'dot'"):
            render(fmt="svg")

    def test_no_end_no_final_state(self) -> None:
        """A machine that never ends draws no final state."""
        shadow = cg.LastResortPolicy(cg.PolicyConfig(mode="shadow"))
        assert "[*]\n" not in render_mermaid(transition_table(shadow)).replace("[*] -->", "")


class TestCommand:
    """The `convguard diagram` command."""

    def test_prints_mermaid_by_default(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without options it prints the default policy as Mermaid."""
        assert main(["diagram"]) == 0
        assert capsys.readouterr().out == render()

    def test_dot_with_a_config(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--format dot --config draws the configured policy."""
        config = tmp_path / "policy.toml"
        config.write_text('[policy]\nmode = "shadow"\n', encoding="utf-8")
        assert main(["diagram", "--format", "dot", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert out.startswith("digraph")
        assert "ended" not in out


class TestDocs:
    """The docs embed the generated diagram, so they cannot drift."""

    def test_docs_embed_the_generated_diagram(self) -> None:
        """docs/testing.md shows exactly what `convguard diagram` prints."""
        page = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
        found = re.search(r"<!-- convguard diagram -->\n```mermaid\n(.*?)```", page, re.DOTALL)
        assert found is not None, "docs/testing.md lost its generated diagram"
        assert found.group(1) == render()
