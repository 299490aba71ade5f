"""Harm detectors: the protocols, the built-ins, and what they report.

A detector is anything with a ``name`` and
``detect(text, context) -> Sequence[Finding]`` (or ``async adetect``).
The built-in set (:func:`default_detectors`) is a
:class:`LexiconDetector` over the packaged lexicons, reading the
de-obfuscated view that :func:`normalize` gives, and a
:class:`WindowDetector` over it that reads the last few user messages for
the protective categories, so risk told in pieces is found.
:class:`NgramDetector`, a small learned word model that reports protective
*concerns* only, may be added beside them.
"""

from typing import TYPE_CHECKING

from .._findings import DetectorFailure, Evidence, Finding
from ._builtin import default_detectors
from ._lexicon import Lexicon, Rule, packaged_lexicon
from ._lexicon_detector import LexiconDetector
from ._normalize import NormalizedText, Normalizer, normalize
from ._protocols import AsyncDetector, DetectionContext, Detector
from ._regex_safety import check_pattern
from ._window import WindowDetector

if TYPE_CHECKING:
    from . import moderation
    from ._ngram import NgramDetector, NgramModel, packaged_ngram_model
    from .moderation import (
        LlamaGuardDetector,
        OpenAIModerationDetector,
        build_llama_guard_prompt,
        parse_llama_guard,
        parse_openai_moderation,
    )

__all__ = [
    "AsyncDetector",
    "DetectionContext",
    "Detector",
    "DetectorFailure",
    "Evidence",
    "Finding",
    "Lexicon",
    "LexiconDetector",
    "LlamaGuardDetector",
    "NgramDetector",
    "NgramModel",
    "NormalizedText",
    "Normalizer",
    "OpenAIModerationDetector",
    "Rule",
    "WindowDetector",
    "build_llama_guard_prompt",
    "check_pattern",
    "default_detectors",
    "moderation",
    "normalize",
    "packaged_lexicon",
    "packaged_ngram_model",
    "parse_llama_guard",
    "parse_openai_moderation",
]

# Reprs and docs show the public path (convguard.detectors.X, not a private
# module's), as convguard/__init__.py does for the top-level names.
for _name in __all__:
    _obj = globals().get(_name)
    if getattr(_obj, "__module__", "").startswith(f"{__name__}._"):
        _obj.__module__ = __name__
del _name, _obj


# The moderation adapters and the opt-in n-gram detector are imported on
# first use: a turn with the built-in detectors does not need them.
_MODERATION = frozenset(
    {
        "LlamaGuardDetector",
        "OpenAIModerationDetector",
        "build_llama_guard_prompt",
        "parse_llama_guard",
        "parse_openai_moderation",
    }
)
_NGRAM = frozenset({"NgramDetector", "NgramModel", "packaged_ngram_model"})


def __getattr__(name: str) -> object:
    """Import a module of the package when one of its names is first used."""
    import importlib  # noqa: PLC0415 - kept out of the package namespace

    if name == "moderation" or name in _MODERATION:
        module = importlib.import_module(f"{__name__}.moderation")
        value = module if name == "moderation" else getattr(module, name)
    elif name in _NGRAM:
        value = getattr(importlib.import_module(f"{__name__}._ngram"), name)
        value.__module__ = __name__  # the public path, as for the names above
    else:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    globals()[name] = value  # later lookups find it without this function
    return value


def __dir__() -> list[str]:
    """List the public names only, as ``__all__`` does."""
    return list(__all__)
