"""Hypothesis strategies for convguard: texts, findings, scripts and trees.

Needs Hypothesis (the ``testing`` extra)::

    pip install 'convguard[testing]'

Importing this module without it raises :class:`~convguard.ConfigurationError`
naming the extra.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from .._errors import ConfigurationError

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised by reimporting in a test
    msg = (
        "convguard.testing.strategies needs Hypothesis; install the extra: "
        "pip install 'convguard[testing]'"
    )
    raise ConfigurationError(msg) from exc

from .._engine import _blank
from .._findings import Evidence, Finding
from .._taxonomy import Category
from .._tree import ConversationTree
from ._scenario import MARKERS, Scenario
from ._step import Step

__all__ = [
    "categories",
    "findings",
    "message_texts",
    "operations",
    "scripts",
    "trees",
]

_TEXT_ALPHABET: Final = st.characters(
    exclude_categories=["Cs"],  # lone surrogates cannot be stored as UTF-8
    exclude_characters="\x00",
)


def message_texts(
    *,
    markers: Mapping[str, str] | None = MARKERS,
    min_size: int = 1,
    max_size: int = 80,
) -> st.SearchStrategy[str]:
    """Return texts a guard accepts: any Unicode but lone surrogates and NUL, not blank.

    Not blank means: not only whitespace and invisible characters (a soft
    hyphen or a zero-width space alone is refused as an empty message).

    The free text never contains a marker, neither one of *markers* nor one
    of the default :data:`~convguard.testing.MARKERS`, so only the texts
    drawn with a marker are flagged by a
    :class:`~convguard.testing.ScriptedDetector`.

    Args:
        markers: When given, some texts start with one of these markers, so a
            :class:`~convguard.testing.ScriptedDetector` flags them.
        min_size: The fewest characters of the free text.
        max_size: The most characters of the free text.

    Returns:
        A strategy of message texts.
    """
    avoid = tuple({*MARKERS, *(markers or ())})
    plain = st.text(_TEXT_ALPHABET, min_size=min_size, max_size=max_size).filter(
        lambda text: not _blank(text) and not any(marker in text for marker in avoid)
    )
    if not markers:
        return plain
    flagged = st.tuples(st.sampled_from(sorted(markers)), plain).map(" ".join)
    return st.one_of(plain, flagged)


def categories(*, custom: bool = False) -> st.SearchStrategy[str]:
    """Return category names: the built-in ones, and custom strings when asked.

    Args:
        custom: Also draw made-up category names.

    Returns:
        A strategy of category strings.
    """
    known = st.sampled_from([str(c) for c in Category])
    if not custom:
        return known
    return st.one_of(known, st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True))


def findings(
    *,
    category: st.SearchStrategy[str] | None = None,
    detectors: Sequence[str] = ("scripted",),
) -> st.SearchStrategy[Finding]:
    """Return findings: a category, a score in 0..1, a detector, maybe evidence.

    Args:
        category: Where categories come from; :func:`categories` by default.
        detectors: Detector names to draw from.

    Returns:
        A strategy of :class:`~convguard.Finding`.
    """
    spans = st.tuples(st.integers(0, 200), st.integers(0, 50), st.text(min_size=1, max_size=12))
    evidence = st.none() | spans.map(lambda s: Evidence(s[0], s[0] + s[1], s[2]))
    return st.builds(
        Finding,
        category if category is not None else categories(),
        st.floats(0.0, 1.0, allow_nan=False),
        st.sampled_from(list(detectors)),
        evidence,
    )


def operations(
    *, markers: Mapping[str, str] = MARKERS, max_target: int = 6
) -> st.SearchStrategy[Step]:
    """Return single scenario steps with no expectation: any operation a chat allows.

    Sends and edits use *markers* often; edits and switches name the Nth
    user message (which may not exist: the step then records the error).

    Args:
        markers: Markers the texts may carry.
        max_target: The highest user-message number edits and switches name.

    Returns:
        A strategy of :class:`~convguard.testing.Step`.
    """
    texts = message_texts(markers=markers, max_size=20)
    targets = st.integers(1, max_target)
    return st.one_of(
        texts.map(lambda t: Step("send", t)),
        st.tuples(texts, st.booleans()).map(lambda p: Step("reply", p[0], redirect=p[1])),
        st.tuples(targets, texts).map(lambda p: Step("edit", p[1], p[0])),
        targets.map(lambda n: Step("switch", None, n)),
        st.sampled_from(["user", "assistant"]).map(lambda by: Step("end", by=by)),  # type: ignore[arg-type]
        st.just(Step("new_chat")),
    )


def scripts(
    *, markers: Mapping[str, str] = MARKERS, min_size: int = 1, max_size: int = 20
) -> st.SearchStrategy[Scenario]:
    """Return conversation scripts: scenarios of random operations, no expectations.

    Play one with :meth:`Scenario.play` and assert on the outcomes.

    Args:
        markers: Markers the texts may carry (and the scripted detector finds).
        min_size: The fewest steps.
        max_size: The most steps.

    Returns:
        A strategy of :class:`~convguard.testing.Scenario`.
    """

    def build(steps: list[Step]) -> Scenario:
        scenario = Scenario("generated script", markers=markers)
        for step in steps:
            scenario.add(step)
        return scenario

    return st.lists(operations(markers=markers), min_size=min_size, max_size=max_size).map(build)


def trees(*, max_size: int = 20) -> st.SearchStrategy[ConversationTree]:
    """Return conversation trees grown by playing a random script.

    Every tree is one a guard can build: edits open branches, some branches
    end, and every node carries its state.

    Args:
        max_size: The most operations played.

    Returns:
        A strategy of :class:`~convguard.ConversationTree` (the first chat's).
    """
    return scripts(max_size=max_size).map(lambda s: s.play().conversations[0].tree())


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
