"""``ScriptedDetector``: flags messages that contain given markers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import final

from .._errors import ConfigurationError
from .._findings import Evidence, Finding
from ..detectors._protocols import DetectionContext

__all__ = ["ScriptedDetector"]


@final
class ScriptedDetector:
    """Flag a message with a category whenever it contains that category's marker.

    For tests of policies: the outcome of every turn is known from its text.
    Markers match the original text, case-sensitively; every marker present
    gives a finding.

    Args:
        markers: Marker -> category, e.g. ``{"[abuse]": "abuse"}``.
        score: The score of every finding.
        name: The detector's name.

    Raises:
        ConfigurationError: For an empty marker or a score outside 0..1.
    """

    __slots__ = ("_markers", "name", "score")

    def __init__(
        self, markers: Mapping[str, str], *, score: float = 1.0, name: str = "scripted"
    ) -> None:
        """Keep the markers."""
        if not isinstance(markers, Mapping) or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in markers.items()
        ):
            msg = "markers must map non-empty strings to category strings"
            raise ConfigurationError(msg)
        if not 0.0 <= score <= 1.0:
            msg = f"score must be within 0..1, got {score!r}"
            raise ConfigurationError(msg)
        self._markers = dict(markers)
        self.score = score
        self.name = name

    def __repr__(self) -> str:
        """Show the markers."""
        return f"ScriptedDetector({self._markers!r}, score={self.score!r})"

    def detect(self, text: str, context: DetectionContext) -> Sequence[Finding]:  # noqa: ARG002
        """Return a finding for every marker in *text*."""
        findings = []
        for marker, category in self._markers.items():
            at = text.find(marker)
            if at >= 0:
                findings.append(
                    Finding(
                        category,
                        self.score,
                        self.name,
                        Evidence(at, at + len(marker), marker),
                    )
                )
        return findings
