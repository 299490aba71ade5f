"""Tools for unit-testing policies and detectors.

``ScriptedDetector`` makes the outcome of every turn known from its text.
"""

from ._scripted import ScriptedDetector

__all__ = ["ScriptedDetector"]
