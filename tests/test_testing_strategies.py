"""Hypothesis strategies: texts, findings, scripts and trees a guard accepts."""

from __future__ import annotations

import importlib
import sys

import pytest
from hypothesis import given, settings

import convguard as cg
from convguard.testing import MARKERS, Scenario, Step
from convguard.testing import strategies as cst


class TestStrategies:
    """What each strategy draws."""

    @settings(max_examples=60)
    @given(cst.message_texts())
    def test_texts_are_accepted_by_a_guard(self, text: str) -> None:
        """Every drawn text, any Unicode included, can be sent and is stored as sent."""
        conv = cg.Guard([]).start()
        verdict = conv.send(text)
        assert conv.get(verdict.message_id or "").content == text

    @settings(max_examples=30)
    @given(cst.message_texts(markers=None, max_size=5))
    def test_texts_without_markers(self, text: str) -> None:
        """Without markers the texts are plain and short."""
        assert 1 <= len(text) <= 5
        assert not any(marker in text for marker in MARKERS)

    @settings(max_examples=200)
    @given(cst.message_texts(markers={"0": "abuse"}, max_size=5))
    def test_markers_only_where_drawn(self, text: str) -> None:
        """A marker is only ever the prefix drawn for it, never inside the free text."""
        assert text.count("0") <= 1
        assert "0" not in text or text.startswith("0 ")
        assert not any(marker in text for marker in MARKERS)

    @settings(max_examples=60)
    @given(cst.findings())
    def test_findings_are_valid(self, finding: cg.Finding) -> None:
        """Findings have a known category, a score in 0..1 and a detector."""
        assert finding.category in {str(c) for c in cg.Category}
        assert 0.0 <= finding.score <= 1.0
        assert finding.detector == "scripted"

    @settings(max_examples=30)
    @given(cst.categories(custom=True))
    def test_custom_categories(self, category: str) -> None:
        """Custom categories are short lowercase names."""
        assert category
        assert category == category.lower()

    @settings(max_examples=40)
    @given(cst.operations())
    def test_operations_are_steps(self, step: Step) -> None:
        """Operations are steps without expectations."""
        assert step.expect is None
        assert step.raises is None

    @settings(max_examples=25)
    @given(cst.scripts(max_size=12))
    def test_scripts_play_without_unexpected_errors(self, scenario: Scenario) -> None:
        """A generated script plays; only errors a user could cause appear."""
        result = scenario.play()
        allowed = (cg.ConversationEndedError, cg.UnknownMessageError)
        for outcome in result.outcomes:
            assert outcome.error is None or isinstance(outcome.error, allowed)

    @settings(max_examples=25)
    @given(cst.trees(max_size=12))
    def test_trees_keep_the_invariants(self, tree: cg.ConversationTree) -> None:
        """Grown trees never hang a node under an ended one."""
        for message in tree:
            if message.parent_id is not None:
                assert not tree.get(message.parent_id).ended


class TestOptional:
    """Hypothesis is an optional extra."""

    def test_missing_hypothesis_names_the_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without Hypothesis, importing the strategies says which extra to install."""
        monkeypatch.setitem(sys.modules, "hypothesis", None)
        monkeypatch.delitem(sys.modules, "convguard.testing.strategies")
        with pytest.raises(cg.ConfigurationError, match=r"convguard\[testing\]"):
            importlib.import_module("convguard.testing.strategies")

    def test_missing_hypothesis_for_the_contract(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without Hypothesis, asking for PolicyContract says which extra to install."""
        import convguard.testing

        monkeypatch.setitem(sys.modules, "hypothesis", None)
        monkeypatch.delitem(sys.modules, "convguard.testing._contract", raising=False)
        with pytest.raises(cg.ConfigurationError, match=r"convguard\[testing\]"):
            convguard.testing.PolicyContract  # noqa: B018 - the lookup is the point

    def test_unknown_attribute(self) -> None:
        """Other missing names are plain AttributeErrors."""
        import convguard.testing

        with pytest.raises(AttributeError, match="nothing_here"):
            convguard.testing.nothing_here  # noqa: B018 - the lookup is the point
