"""Findings and evidence: validated on construction, readable in reasons."""

from __future__ import annotations

from typing import Any

import pytest

import convguard as cg


class TestFinding:
    def test_describe(self) -> None:
        """A finding reads as one line, with its evidence."""
        finding = cg.Finding("abuse", 0.9, "lexicon", cg.Evidence(3, 8, "idiot"))
        assert finding.describe() == "abuse 0.90 by lexicon ('idiot' at 3..8)"
        assert cg.Finding("hate", 1, "d").describe() == "hate 1.00 by d"

    @pytest.mark.parametrize("score", [-0.1, 1.01, float("nan")])
    def test_score_out_of_range(self, score: float) -> None:
        """Scores live in 0..1."""
        with pytest.raises(ValueError, match=r"0\.\.1"):
            cg.Finding("abuse", score, "d")

    @pytest.mark.parametrize("score", ["0.5", None, True])
    def test_score_of_the_wrong_type(self, score: Any) -> None:
        """A score must be a number."""
        with pytest.raises(TypeError):
            cg.Finding("abuse", score, "d")

    def test_categories_are_plain_strings(self) -> None:
        """Enum members and custom strings alike are stored as str."""
        assert type(cg.Finding(cg.Category.ABUSE, 1.0, "d").category) is str
        assert cg.Finding("my_category", 1.0, "d").category == "my_category"


class TestEvidence:
    def test_span_must_be_ordered(self) -> None:
        """start <= end, both non-negative."""
        with pytest.raises(ValueError, match="span"):
            cg.Evidence(5, 2, "x")

    def test_failures_describe_themselves(self) -> None:
        """A detector failure reads as one line."""
        failure = cg.DetectorFailure("remote", "timeout", "no answer")
        assert failure.describe() == "detector 'remote' timeout: no answer"
