"""``NgramDetector``: a small learned model over the words of the normalized text.

The lexicons find what their authors thought of; this model was fitted on
labelled phrasings (``eval/ngram/train.py``) to find disclosures that no rule
names. It reads the same de-obfuscated view the lexicons read, so leetspeak,
spacing and look-alike letters are undone before it counts a word.

It is a logistic model per protective category over the words and word
pairs of a message (optionally also the letter n-grams of each word). Both
categories' weights are kept in one table whose values are complex numbers,
``self_harm_risk`` in the real part and ``harm_to_others_risk`` in the
imaginary one, so a message costs one dictionary lookup per word and one per
word pair, summed at C speed.

It reports **concerns only**: a score in ``[0.3, 0.45]``, under the default
category threshold (0.5) and at or over the policy's ``concern_threshold``
(0.3), so what it finds blocks ending but never brings ``SUPPORT`` text, and
it never reports a terminable category.

Most messages hold no word the model weighs much: a model file may list
*trigger words* (``gate``, chosen by the training script from the model's
own weights and its training items), and a message with none of them is
passed over without being scored, so it costs one set lookup a word. The
words are those the lexicon detector split just before, when it read the
same normalized view (see :func:`~._words.last_split`).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

import attrs
from attrs import frozen

from .._errors import ConfigurationError
from .._findings import Evidence, Finding
from .._taxonomy import Category
from ._frozen import Frozen
from ._words import last_split

if TYPE_CHECKING:
    import os

    from ._normalized_text import NormalizedText
    from ._protocols import DetectionContext

__all__ = [
    "MODEL_FORMAT",
    "NgramDetector",
    "NgramModel",
    "features",
    "packaged_ngram_model",
    "words_of",
]

MODEL_FORMAT: Final = "convguard-ngram/1"
#: The two categories the model scores, in the order of a weight's parts.
CATEGORIES: Final = (str(Category.SELF_HARM_RISK), str(Category.HARM_TO_OTHERS_RISK))
#: The scores it gives: from the concern threshold up to under the category threshold.
LOWEST_SCORE: Final = 0.3
HIGHEST_SCORE: Final = 0.45
#: A message longer than this many words is read in windows of this many
#: words (each overlapping the next by half), and its best window is scored:
#: the model was fitted on short messages, and a long text's many small
#: weights would otherwise add up to noise.
WINDOW_WORDS: Final = 40
#: A message of fewer words is not scored: one word says too little for the
#: model ("myself" answers "who did it?" as often as it ends a disclosure),
#: and a disclosure sent in pieces is the lexicon window's to find.
MIN_WORDS: Final = 2

# Every ASCII character outside a word becomes a space; other characters are
# left in their words (a word of another script is simply unknown to the model).
_SPACES: Final = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
# The same for an ASCII text, as bytes: bytes.translate reads a flat table,
# several times faster than str.translate's mapping.
_ASCII_SPACES: Final = bytes(
    c if chr(c).isalnum() or not chr(c).isascii() else 32 for c in range(256)
)
# A packed weight's part for each category, in the order of CATEGORIES.
_PARTS: Final = (operator.attrgetter("real"), operator.attrgetter("imag"))
# The same words found in place, for evidence spans.
_WORD: Final = re.compile(r"(?:[^\x00-\x7f\s]|[a-zA-Z0-9])+")
# A sentence ends at . ! ? or ; before a space, and at a line break, as the
# lexicons' sentences do.
_SENTENCE_END: Final = re.compile(r"[.!?;]+(?=\s)|\n")
# Whether a text has any character that may end a sentence, in one C call.
_ANY_END: Final = re.compile(r"[.!?;\n]")
_TRAILING: Final = ".!?;\n \t\r"


def words_of(view: str) -> tuple[list[str], tuple[int, ...]]:
    """Return the words of a normalized view as the model reads them, and its sentences.

    Args:
        view: A normalized text (``normalize(text).text``).

    Returns:
        Its runs of letters and digits, in order, and the index of the first
        word of each sentence after the first (none for one sentence).
    """
    # Both translations keep every character's offset, so a sentence end
    # found in the view is at the same place in the flat text.
    flat = (
        view.encode().translate(_ASCII_SPACES).decode()
        if view.isascii()
        else view.translate(_SPACES)
    )
    inner = view.rstrip(_TRAILING)
    if not _ANY_END.search(inner):
        return flat.split(), ()
    words: list[str] = []
    starts: list[int] = []
    done = 0
    for end in [*(m.end() for m in _SENTENCE_END.finditer(inner)), len(flat)]:
        sentence = flat[done:end].split()
        done = end
        if sentence:
            if words:
                starts.append(len(words))
            words.extend(sentence)
    return words, tuple(starts)


def _letter_grams(word: str, sizes: Sequence[int]) -> list[str]:
    """Return the letter n-grams of a word marked at both ends (``<kill>``)."""
    marked = f"<{word}>"
    return [f"#{marked[i : i + n]}" for n in sizes for i in range(len(marked) - n + 1)]


def features(
    words: Sequence[str], starts: Sequence[int] = (), letters: Sequence[int] = ()
) -> list[str]:
    """Return the feature names of a message, as the training script counts them.

    Args:
        words: The message's words (:func:`words_of`).
        starts: Where its sentences after the first begin (:func:`words_of`).
        letters: Letter n-gram sizes to add (none by default).

    Returns:
        Each word, each pair of neighbouring words of one sentence joined by
        a space, and each word's letter n-grams (prefixed ``#``), with
        repeats.
    """
    cut = set(starts)
    found = list(words)
    found.extend(
        f"{a} {b}" for i, (a, b) in enumerate(itertools.pairwise(words), 1) if i not in cut
    )
    for word in words if letters else ():
        found.extend(_letter_grams(word, letters))
    return found


def _words(value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        msg = "the n-gram model's gate must be a list of words"
        raise TypeError(msg)
    return [str(word) for word in value]


def _checked_weights(value: object, what: str) -> dict[str, complex]:
    if not isinstance(value, Mapping):
        msg = f"the n-gram model's {what} must be a table of feature -> [w1, w2]"
        raise ConfigurationError(msg)
    try:
        return {str(k): complex(float(w[0]), float(w[1])) for k, w in value.items()}
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        msg = f"malformed weights in the n-gram model's {what}: {exc}"
        raise ConfigurationError(msg) from exc


@final
@frozen
class NgramModel:
    """The fitted weights, the cut-offs, and what training recorded.

    Attributes:
        weights: Feature -> weight, ``self_harm_risk`` in the real part and
            ``harm_to_others_risk`` in the imaginary part. A word is its own
            feature, a word pair is ``"a b"``, a letter n-gram is ``"#<ki"``.
        bias: The two intercepts, likewise packed.
        cutoffs: Per category, the logit from which a message is a concern.
        letters: Letter n-gram sizes the model reads (none for words only).
        pairs: Whether it reads word pairs (a words-only model costs about
            half as much a message).
        info: What the training script recorded (data, figures), as is.
        gate: The trigger words: a message with none of them is not scored
            (``None``: every message is).
    """

    weights: Mapping[str, complex] = attrs.field(repr=lambda w: f"<{len(w)} weights>")
    bias: complex
    cutoffs: tuple[float, float]
    letters: tuple[int, ...] = ()
    pairs: bool = True
    info: Mapping[str, object] = attrs.field(factory=dict, eq=False, repr=False)
    gate: frozenset[str] | None = attrs.field(default=None, repr=False)
    # The weights again, a word pair keyed by the tuple of its words: looking
    # up the pairs itertools.pairwise makes needs no joined string a pair.
    _table: Mapping[str | tuple[str, str], complex] = attrs.field(init=False, eq=False, repr=False)

    @_table.default
    def _split_pairs(self) -> dict[str | tuple[str, str], complex]:
        table: dict[str | tuple[str, str], complex] = {}
        for feature, weight in self.weights.items():
            first, space, second = feature.partition(" ")
            table[(first, second) if space and " " not in second else feature] = weight
        return table

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NgramModel:
        """Build a model from its JSON form (see ``data/ngram/model.json``).

        Args:
            data: The parsed JSON.

        Returns:
            The model.

        Raises:
            ConfigurationError: If the data is not a model of this format.
        """
        if not isinstance(data, Mapping) or data.get("format") != MODEL_FORMAT:
            msg = f"not a convguard n-gram model (format {MODEL_FORMAT!r})"
            raise ConfigurationError(msg)
        if list(data.get("categories", ())) != list(CATEGORIES):
            msg = f"an n-gram model scores {list(CATEGORIES)}, in that order"
            raise ConfigurationError(msg)
        try:
            real, imaginary = map(float, data["bias"])
            bias = complex(real, imaginary)
            low, high = map(float, data["cutoffs"])
            cutoffs = (low, high)
            letters = tuple(int(n) for n in data.get("letters", ()))
            pairs = data.get("pairs", True)
            gate = data.get("gate")
            gate = None if gate is None else frozenset(_words(gate))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            msg = f"malformed n-gram model: {type(exc).__name__}: {exc}"
            raise ConfigurationError(msg) from exc
        if (
            not all(math.isfinite(c) for c in cutoffs)
            or any(n < 1 for n in letters)
            or not isinstance(pairs, bool)
        ):
            msg = "an n-gram model needs finite cut-offs, letter sizes >= 1, pairs true or false"
            raise ConfigurationError(msg)
        return cls(
            weights=_checked_weights(data.get("weights"), "weights"),
            bias=bias,
            cutoffs=cutoffs,
            letters=letters,
            pairs=pairs,
            info=dict(data.get("info", {})),
            gate=gate,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NgramModel:
        """Read a model from a JSON file.

        Args:
            path: The file.

        Returns:
            The model.

        Raises:
            ConfigurationError: If the file cannot be read or is not a model.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            msg = f"cannot read the n-gram model {str(path)!r}: {exc}"
            raise ConfigurationError(msg) from exc
        return cls.from_dict(data)

    def logits(self, words: Sequence[str], starts: Sequence[int] = ()) -> tuple[complex, int, int]:
        """Return the packed logits of the best-scoring part of a message, and its bounds.

        Args:
            words: The message's words (:func:`words_of`).
            starts: Where its sentences after the first begin.

        Returns:
            The logits (real: ``self_harm_risk``, imaginary:
            ``harm_to_others_risk``) of the part (see :meth:`parts`) whose
            larger margin over its cut-off is greatest, and its first and
            one-past-last word.
        """
        if not starts and len(words) <= WINDOW_WORDS and not self.letters:
            # The common case, one short sentence: one part, summed at C speed.
            get = self._table.get
            zero = itertools.repeat(0j)
            total = sum(map(get, words, zero), self.bias)
            if self.pairs:
                total += sum(map(get, itertools.pairwise(words), zero))
            return total, 0, len(words)
        return max(self.parts(words, starts), key=lambda part: self.margin(part[0]))

    def parts(
        self, words: Sequence[str], starts: Sequence[int] = ()
    ) -> list[tuple[complex, int, int]]:
        """Return the packed logits of each part of a message a detector reads, with its bounds.

        A message is read whole, and each of its sentences on its own (so a
        harmless sentence put before a disclosure does not hide it); a part
        longer than :data:`WINDOW_WORDS` words is read in windows of that
        many, each overlapping the next by half.

        Args:
            words: The message's words (:func:`words_of`).
            starts: Where its sentences after the first begin.

        Returns:
            ``(logits, first word, one past the last)`` per part read.
        """
        get = self._table.get
        zero = itertools.repeat(0j)
        size = len(words)
        # Each word's weight plus that of the pair it ends (none across a
        # sentence end); a part's sum is read off running totals.
        pairs = [0j, *map(get, itertools.pairwise(words), zero)]
        if not self.pairs:
            pairs = [0j] * size
        for start in starts:
            pairs[start] = 0j
        per_word = list(map(complex.__add__, map(get, words, zero), pairs))
        if self.letters:
            for index, word in enumerate(words):
                per_word[index] += sum(map(get, _letter_grams(word, self.letters), zero))
        running = [0j, *itertools.accumulate(per_word)]
        bounds = [(0, size)]
        if starts:
            bounds.extend(itertools.pairwise([0, *starts, size]))
        found: list[tuple[complex, int, int]] = []
        step = WINDOW_WORDS // 2
        for begin, last in bounds:
            for start in range(begin, max(begin + 1, last - step), step):
                end = min(start + WINDOW_WORDS, last)
                # The first word's pair reaches out of the part: take it back.
                total = running[end] - running[start] - pairs[start] + self.bias
                found.append((total, start, end))
        return found

    def margin(self, logits: complex) -> float:
        """Return how far the nearer category is past (or short of) its cut-off."""
        return max(logits.real - self.cutoffs[0], logits.imag - self.cutoffs[1])


def _probability(logit: float) -> float:
    """Return the logistic of *logit* (numerically stable)."""
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    z = math.exp(logit)
    return z / (1.0 + z)


@functools.cache
def packaged_ngram_model() -> NgramModel:
    """Return the model convguard ships (``data/ngram/model.json``), read once.

    Returns:
        The model: English, trained by ``eval/ngram/train.py`` on
        project-authored and dev-set phrasings (see ``data/ngram/NOTICE.md``).
    """
    file = resources.files("convguard.detectors").joinpath("data/ngram/model.json")
    return NgramModel.from_dict(json.loads(file.read_text(encoding="utf-8")))


@final
class NgramDetector(Frozen):
    """Report protective *concerns* where a learned word model is fairly sure.

    Args:
        model: The model; the packaged one when omitted.
        name: The detector's name, shown in findings.

    Its finding scores ``0.3`` where the model's probability just reaches its
    cut-off, rising linearly to ``0.45`` at probability 1: always a concern,
    never a full finding. At most one finding a message, for the category
    whose cut-off is passed by the wider margin; its evidence is the word or
    word pair that weighed most for it.

    Raises:
        ConfigurationError: If *model* is not an :class:`NgramModel` or
            *name* is empty.
    """

    __slots__ = ("model", "name")
    model: NgramModel
    name: str

    def __init__(self, model: NgramModel | None = None, *, name: str = "ngram") -> None:
        """Keep the model."""
        model = packaged_ngram_model() if model is None else model
        if not isinstance(model, NgramModel):
            msg = f"model must be a convguard NgramModel, not {type(model).__name__}"
            raise ConfigurationError(msg)
        if not isinstance(name, str) or not name:
            msg = f"name must be a non-empty string, not {name!r}"
            raise ConfigurationError(msg)
        init = object.__setattr__
        init(self, "model", model)
        init(self, "name", name)

    def __reduce__(self) -> tuple[type[NgramDetector], tuple[NgramModel], dict[str, str]]:
        """Pickle as the model and the name (``__setattr__`` refuses the default way)."""
        return (NgramDetector, (self.model,), {"name": self.name})

    def __setstate__(self, state: Mapping[str, str]) -> None:
        """Restore the name after unpickling."""
        object.__setattr__(self, "name", state["name"])

    def __repr__(self) -> str:
        """Show the name and the model's size."""
        return f"NgramDetector({self.name!r}, {len(self.model.weights)} weights)"

    @property
    def categories(self) -> frozenset[str]:
        """The categories it reports."""
        return frozenset(CATEGORIES)

    def detect(self, text: str, context: DetectionContext) -> Sequence[Finding]:
        """Return a protective concern when the model passes its cut-off, else nothing.

        Args:
            text: The user's original text (the normalized view is read from
                *context*).
            context: The turn's context.

        Returns:
            At most one finding, scored in ``[0.3, 0.45]``.
        """
        del text
        normalized = context.normalized
        view = normalized.text
        model = self.model
        gate = model.gate
        starts: tuple[int, ...]
        shared = last_split(view)
        if gate is None or shared is None:
            words, starts = words_of(view)
            if gate is not None and gate.isdisjoint(words):
                return ()
        else:
            # The lexicon's words of this very view, split just before (the
            # same words as ours, an ASCII view's runs of letters and digits).
            if gate.isdisjoint(shared):
                return ()
            # Sentences matter only where one may end.
            words, starts = (
                words_of(view) if _ANY_END.search(view.rstrip(_TRAILING)) else (shared, ())
            )
        if len(words) < MIN_WORDS:
            return ()
        logits, first, last = model.logits(words, starts)
        if model.margin(logits) < 0:
            return ()
        # The category past its cut-off by the wider margin.
        which = 0 if logits.real - model.cutoffs[0] >= logits.imag - model.cutoffs[1] else 1
        logit = (logits.real, logits.imag)[which]
        cutoff = _probability(model.cutoffs[which])
        share = (_probability(logit) - cutoff) / (1.0 - cutoff) if cutoff < 1.0 else 0.0
        score = round(LOWEST_SCORE + (HIGHEST_SCORE - LOWEST_SCORE) * min(1.0, share), 4)
        score = min(HIGHEST_SCORE, max(LOWEST_SCORE, score))
        evidence = self._evidence(normalized, words, first, last, which, logit)
        return (Finding(CATEGORIES[which], score, self.name, evidence),)

    def _evidence(  # noqa: PLR0913 - the pieces of one finding
        self,
        normalized: NormalizedText,
        words: Sequence[str],
        first: int,
        last: int,
        which: int,
        logit: float,
    ) -> Evidence:
        """Return the span of the word or pair that weighed most, in the original text.

        The first of the heaviest (a word before the pair it starts).
        """
        get = self.model._table.get  # noqa: SLF001 - the model's own lookup table
        zero = itertools.repeat(0j)
        part = _PARTS[which]
        inside = words[first:last]
        singles = list(map(part, map(get, inside, zero)))
        pairs = (
            list(map(part, map(get, itertools.pairwise(inside), zero))) if self.model.pairs else []
        )
        best = max(singles + pairs)
        single = singles.index(best) if best in singles else len(singles)
        pair = pairs.index(best) if best in pairs else len(singles)
        start = first + min(single, pair)
        end = start + (1 if single <= pair else 2)
        found = list(itertools.islice(_WORD.finditer(normalized.text), end))
        if [m.group() for m in found[start:end]] != list(words[start:end]):  # pragma: no cover
            # Both readings split at the same characters (str.split and \s
            # agree on whitespace); kept in case a Python version differs.
            return Evidence(0, len(normalized.original), f"n-gram model, logit {logit:.2f}")
        begin, finish = normalized.span(found[start].start(), found[end - 1].end())
        term = " ".join(words[start:end])
        return Evidence(begin, finish, f"n-gram model, logit {logit:.2f}: {term}")
