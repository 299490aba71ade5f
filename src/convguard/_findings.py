"""What detectors report and the policy reads.

These are plain frozen values: the core never calls a detector, it only reads
the findings that flowed in. Re-exported by :mod:`convguard.detectors`.
"""

from __future__ import annotations

import math
from typing import Literal, final

import attrs
from attrs import frozen

__all__ = ["DetectorFailure", "Evidence", "Finding"]


def _check_score(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"Finding.{attribute.name} must be a number, not {type(value).__name__}"
        raise TypeError(msg)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        msg = f"Finding.{attribute.name} must be within 0..1, got {value!r}"
        raise ValueError(msg)


@final
@frozen
class Evidence:
    """Where in the user's original text a finding was made.

    Attributes:
        start: Offset of the first character of the match in the original text.
        end: Offset just past the match.
        term: The lexicon term (or label) that matched.
    """

    start: int
    end: int
    term: str

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            msg = f"Evidence span must satisfy 0 <= start <= end, got {self.start}..{self.end}"
            raise ValueError(msg)


@final
@frozen
class Finding:
    """One detector's claim about one message.

    A finding *counts* when ``score >= threshold`` of its category in the
    policy's config.

    Attributes:
        category: A :class:`~convguard.Category` or a custom category string.
        score: Confidence in 0..1.
        detector: The name of the detector that made it.
        evidence: Where in the text, when the detector can say.
    """

    category: str = attrs.field(converter=str)
    score: float = attrs.field(validator=_check_score)
    detector: str
    evidence: Evidence | None = None

    def describe(self) -> str:
        """Return a one-line human-readable account of the finding.

        Returns:
            For example ``"abuse 0.90 by lexicon ('idiot' at 12..17)"``.
        """
        text = f"{self.category} {self.score:.2f} by {self.detector}"
        if self.evidence is not None:
            ev = self.evidence
            text += f" ({ev.term!r} at {ev.start}..{ev.end})"
        return text


@final
@frozen
class DetectorFailure:
    """A detector that raised, timed out or returned garbage during a turn.

    Recorded on ``Verdict.errors``; never the cause of an END.

    Attributes:
        detector: The detector's name.
        kind: ``"error"``, ``"timeout"`` or ``"invalid"`` (returned something
            that is not a sequence of findings).
        message: What went wrong, in words.
    """

    detector: str
    kind: Literal["error", "timeout", "invalid"]
    message: str

    def describe(self) -> str:
        """Return a one-line human-readable account of the failure.

        Returns:
            For example ``"detector 'remote' timeout: no answer within 2.0 s"``.
        """
        return f"detector {self.detector!r} {self.kind}: {self.message}"
