"""Harm detectors: the protocols, the built-ins, and what they report.

A detector is anything with a ``name`` and
``detect(text, context) -> Sequence[Finding]`` (or ``async adetect``).
"""

from .._findings import DetectorFailure, Evidence, Finding
from ._builtin import default_detectors
from ._normalize import NormalizedText, normalize
from ._protocols import AsyncDetector, DetectionContext, Detector

__all__ = [
    "AsyncDetector",
    "DetectionContext",
    "Detector",
    "DetectorFailure",
    "Evidence",
    "Finding",
    "NormalizedText",
    "default_detectors",
    "normalize",
]
