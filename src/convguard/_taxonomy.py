"""Harm categories, their classes, and maps to other taxonomies.

Each category belongs to one class, which says what the default policy does
with a finding of it:

- *terminable*: redirected, warned about and, if the user persists, ended;
- *protective*: the user may be at risk: support them, never end;
- *informational*: reported on the verdict, never acted on.

Custom category strings are allowed everywhere a :class:`Category` is; the
policy config decides which class they belong to.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = [
    "INFORMATIONAL",
    "LLAMA_GUARD_HAZARDS",
    "LLAMA_GUARD_TO_CATEGORY",
    "OPENAI_TO_CATEGORY",
    "PROTECTIVE",
    "TERMINABLE",
    "Category",
    "CategoryClass",
    "category_to_llama_guard",
    "category_to_openai",
]


class Category(StrEnum):
    """The harm categories convguard knows by name."""

    CHILD_SEXUAL_CONTENT = "child_sexual_content"
    MASS_VIOLENCE = "mass_violence"
    ABUSE = "abuse"
    SELF_HARM_RISK = "self_harm_risk"
    HARM_TO_OTHERS_RISK = "harm_to_others_risk"
    HATE = "hate"
    SEXUAL = "sexual"
    VIOLENCE = "violence"
    ILLICIT = "illicit"
    HARASSMENT = "harassment"


class CategoryClass(StrEnum):
    """What the default policy does with a finding of a category."""

    TERMINABLE = "terminable"
    PROTECTIVE = "protective"
    INFORMATIONAL = "informational"


TERMINABLE: Final[frozenset[str]] = frozenset(
    {Category.CHILD_SEXUAL_CONTENT, Category.MASS_VIOLENCE, Category.ABUSE}
)
PROTECTIVE: Final[frozenset[str]] = frozenset(
    {Category.SELF_HARM_RISK, Category.HARM_TO_OTHERS_RISK}
)
INFORMATIONAL: Final[frozenset[str]] = frozenset(
    {
        Category.HATE,
        Category.SEXUAL,
        Category.VIOLENCE,
        Category.ILLICIT,
        Category.HARASSMENT,
    }
)

#: OpenAI moderation category -> convguard category. ``self-harm`` alone is
#: mapped to the protective category on purpose: a false "support" costs a
#: kind answer, a missed one can cost a life.
OPENAI_TO_CATEGORY: Final[Mapping[str, Category]] = MappingProxyType(
    {
        "sexual/minors": Category.CHILD_SEXUAL_CONTENT,
        "self-harm": Category.SELF_HARM_RISK,
        "self-harm/intent": Category.SELF_HARM_RISK,
        "self-harm/instructions": Category.SELF_HARM_RISK,
        "harassment": Category.HARASSMENT,
        "harassment/threatening": Category.HARASSMENT,
        "hate": Category.HATE,
        "hate/threatening": Category.HATE,
        "illicit": Category.ILLICIT,
        "illicit/violent": Category.VIOLENCE,
        "sexual": Category.SEXUAL,
        "violence": Category.VIOLENCE,
        "violence/graphic": Category.VIOLENCE,
    }
)

#: The Llama Guard 3/4 hazard taxonomy (MLCommons), code -> name.
LLAMA_GUARD_HAZARDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "S1": "Violent Crimes",
        "S2": "Non-Violent Crimes",
        "S3": "Sex-Related Crimes",
        "S4": "Child Sexual Exploitation",
        "S5": "Defamation",
        "S6": "Specialized Advice",
        "S7": "Privacy",
        "S8": "Intellectual Property",
        "S9": "Indiscriminate Weapons",
        "S10": "Hate",
        "S11": "Suicide & Self-Harm",
        "S12": "Sexual Content",
        "S13": "Elections",
        "S14": "Code Interpreter Abuse",
    }
)

#: Llama Guard hazard code -> convguard category. Codes with no counterpart
#: (defamation, specialized advice, privacy, IP, elections, code interpreter
#: abuse) are absent: an adapter reports them under their own code.
LLAMA_GUARD_TO_CATEGORY: Final[Mapping[str, Category]] = MappingProxyType(
    {
        "S1": Category.VIOLENCE,
        "S2": Category.ILLICIT,
        "S3": Category.SEXUAL,
        "S4": Category.CHILD_SEXUAL_CONTENT,
        "S9": Category.MASS_VIOLENCE,
        "S10": Category.HATE,
        "S11": Category.SELF_HARM_RISK,
        "S12": Category.SEXUAL,
    }
)


def _invert(mapping: Mapping[str, Category]) -> dict[str, tuple[str, ...]]:
    inverted: dict[str, list[str]] = {}
    for theirs, ours in mapping.items():
        inverted.setdefault(ours, []).append(theirs)
    return {ours: tuple(theirs) for ours, theirs in inverted.items()}


_CATEGORY_TO_OPENAI: Final = _invert(OPENAI_TO_CATEGORY)
_CATEGORY_TO_LLAMA_GUARD: Final = _invert(LLAMA_GUARD_TO_CATEGORY)


def category_to_openai(category: str) -> tuple[str, ...]:
    """Return the OpenAI moderation categories that map to *category*.

    Args:
        category: A convguard category.

    Returns:
        The OpenAI category names, empty when none maps to it.
    """
    return _CATEGORY_TO_OPENAI.get(category, ())


def category_to_llama_guard(category: str) -> tuple[str, ...]:
    """Return the Llama Guard hazard codes that map to *category*.

    Args:
        category: A convguard category.

    Returns:
        The hazard codes (``"S4"`` …), empty when none maps to it.
    """
    return _CATEGORY_TO_LLAMA_GUARD.get(category, ())
