"""A lean reader of SentencePiece-Unigram ``tokenizer.json`` files for the semantic detector.

``tokenizers`` keeps a Unigram vocabulary as a byte trie of hash maps: for
the multilingual model's 128,000 pieces that is about 125 MB resident, half
the detector's memory budget. :class:`UnigramTokenizer` gives the same token
ids from one dict of pieces (a few tens of MB): ``tokenizers`` still runs the
file's normalizer and pre-tokenizer, and the Viterbi search over each
pre-token is the one ``tokenizers`` runs (``Unigram::encode_optimized``),
unknown characters fused as it fuses them. Only what such a file can hold is
read here; a file with anything else (byte fallback, added tokens, another
post-processor) is left to ``tokenizers`` itself.

The ids were the same as ``tokenizers``' on every text of the project's
data (5,838 texts in six languages and several scripts). Where two
segmentations score the same to the last bit, as in a long run of one
repeated letter, a tie can fall the other way: the scores are parsed from
the file by Python here and by serde there, which may differ in the last bit.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Mapping
from typing import Any, Final, final

__all__ = ["UnigramTokenizer"]

_UNK_PENALTY: Final = 10.0  # tokenizers scores an unknown character at min(score) - 10
_PLACEHOLDER: Final = {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}
_VOCAB: Final = re.compile(rb'"model"\s*:\s*\{.*?"vocab"\s*:\s*\[', re.DOTALL)
_ENTRY: Final = re.compile(
    rb'\s*\[\s*"((?:[^"\\]|\\.)*)"\s*,\s*(-?[0-9][0-9.eE+-]*)\s*\]\s*(,?)', re.DOTALL
)
_END: Final = re.compile(rb"\s*\]")


def _pieces(raw: bytes) -> tuple[dict[str, int], array[float], bytes] | None:
    """Read the Unigram vocabulary straight from the file's bytes.

    Returns each piece's id and score, and the file with an empty vocabulary
    for :func:`json.loads` to read the rest from: parsing 128,000 ``[piece,
    score]`` pairs as JSON objects would cost several times the memory the
    pieces keep. ``None`` when the file is laid out otherwise.
    """
    found = _VOCAB.search(raw)
    if found is None:
        return None
    ids: dict[str, int] = {}
    scores = array("d")
    position = found.end()
    while (entry := _ENTRY.match(raw, position)) is not None:
        quoted, score, comma = entry.groups()
        piece = json.loads(b'"' + quoted + b'"') if b"\\" in quoted else quoted.decode()
        ids[piece] = len(scores)  # a repeated piece keeps its last id, as tokenizers does
        scores.append(float(score))
        position = entry.end()
        if not comma:
            break
    end = _END.match(raw, position)
    if end is None or not scores:
        return None
    return ids, scores, raw[: found.end()] + raw[end.start() :]


def _template(post: object) -> tuple[list[int], list[int]] | None:
    """Return the ids a TemplateProcessing post-processor puts before and after a text."""
    if post is None:
        return [], []
    if not isinstance(post, Mapping) or post.get("type") != "TemplateProcessing":
        return None
    specials = post.get("special_tokens") or {}
    before: list[int] = []
    after: list[int] = []
    seen = False
    for part in post.get("single") or ():
        if isinstance(part, Mapping) and "Sequence" in part and not seen:
            seen = True
        elif isinstance(part, Mapping) and "SpecialToken" in part:
            special = specials.get(part["SpecialToken"].get("id"))
            if not isinstance(special, Mapping):
                return None
            (after if seen else before).extend(int(i) for i in special.get("ids", ()))
        else:
            return None
    return (before, after) if seen else None


@final
class UnigramTokenizer:
    """The token ids of a SentencePiece-Unigram ``tokenizer.json``, as ``tokenizers`` gives them.

    Build it with :meth:`read`, which returns ``None`` for a file it does not
    cover.
    """

    __slots__ = (
        "_after",
        "_before",
        "_ids",
        "_longest",
        "_normalizer",
        "_pre_tokenizer",
        "_room",
        "_scores",
        "_unk_id",
        "_unk_score",
    )

    def __init__(
        self,
        *,
        front: Any,  # noqa: ANN401 - a tokenizers.Tokenizer, imported lazily
        vocabulary: tuple[dict[str, int], array[float]],
        unk_id: int,
        template: tuple[list[int], list[int]],
        max_tokens: int,
    ) -> None:
        """Keep the pieces (ids, scores); *front* gives the normalizer and the pre-tokenizer."""
        ids, scores = vocabulary
        self._ids = ids
        self._scores = scores
        self._longest = max(map(len, ids))
        self._unk_id = unk_id
        self._unk_score = min(scores) - _UNK_PENALTY
        self._normalizer = front.normalizer
        self._pre_tokenizer = front.pre_tokenizer
        self._before, self._after = template
        self._room = max(max_tokens - len(self._before) - len(self._after), 0)

    @classmethod
    def read(
        cls,
        raw: bytes,
        tokenizers: Any,  # noqa: ANN401 - the tokenizers module, imported lazily
        *,
        max_tokens: int,
    ) -> UnigramTokenizer | None:
        """Return a tokenizer for a ``tokenizer.json`` file, or ``None`` if it is not covered.

        Args:
            raw: The file's bytes.
            tokenizers: The ``tokenizers`` module.
            max_tokens: Token ids are cut to this many, the template's included.

        Returns:
            The tokenizer, or ``None`` for anything but a plain Unigram model
            (no byte fallback, no added tokens, a TemplateProcessing or no
            post-processor).

        Raises:
            ValueError: If the text is not JSON, or ``tokenizers`` cannot read
                its normalizer or pre-tokenizer.
        """
        vocabulary = _pieces(raw)
        if vocabulary is None:
            return None
        ids, scores, rest = vocabulary
        data = json.loads(rest)
        model = data.get("model") if isinstance(data, Mapping) else None
        if (
            not isinstance(model, Mapping)
            or model.get("type") != "Unigram"
            or model.get("byte_fallback")
            or not isinstance(model.get("unk_id"), int)
            or not 0 <= model["unk_id"] < len(scores)
            or data.get("added_tokens")
        ):
            return None
        template = _template(data.get("post_processor"))
        if template is None:
            return None
        shell = {
            **data,
            "model": _PLACEHOLDER,
            "post_processor": None,
            "truncation": None,
            "padding": None,
        }
        try:
            front = tokenizers.Tokenizer.from_str(json.dumps(shell))
        except Exception as exc:  # tokenizers' own error type
            raise ValueError(str(exc)) from exc
        return cls(
            front=front,
            vocabulary=(ids, scores),
            unk_id=model["unk_id"],
            template=template,
            max_tokens=max_tokens,
        )

    def encode(self, text: str) -> list[int]:
        """Return the token ids of *text*: normalized, split, searched, cut, wrapped."""
        if self._normalizer is not None:
            text = self._normalizer.normalize_str(text)
        words = (
            [word for word, _ in self._pre_tokenizer.pre_tokenize_str(text)]
            if self._pre_tokenizer is not None
            else [text]
        )
        ids: list[int] = []
        # The search costs a word's length times the longest piece. Only the
        # first tokens are kept, so a word far longer than they can span is
        # cut first (tokenizers searches it whole; ids could differ only near
        # the cut, well past the last token kept): a 100,000-character word
        # costs milliseconds, not a second.
        reach = 2 * max(self._room, 1) * self._longest
        for word in words:
            ids.extend(self._search(word[:reach]))
            if len(ids) >= self._room:
                break
        return [*self._before, *ids[: self._room], *self._after]

    def _search(self, word: str) -> list[int]:
        """Return the ids of the best segmentation of one pre-token (Viterbi)."""
        size = len(word)
        if not size:
            return []
        get, scores, longest = self._ids.get, self._scores, self._longest
        best = [0.0] * (size + 1)
        starts: list[int | None] = [None] * (size + 1)
        starts[0] = 0
        chosen = [self._unk_id] * (size + 1)
        for start in range(size):
            base = best[start]
            single = False
            for end in range(start + 1, min(size, start + longest) + 1):
                number = get(word[start:end])
                if number is None:
                    continue
                score = base + scores[number]
                if starts[end] is None or score > best[end]:
                    best[end], starts[end], chosen[end] = score, start, number
                single = single or end == start + 1
            if not single:
                score = base + self._unk_score
                if starts[start + 1] is None or score > best[start + 1]:
                    best[start + 1], starts[start + 1] = score, start
                    chosen[start + 1] = self._unk_id
        found: list[int] = []
        end = size
        while end > 0:
            back = starts[end]
            assert back is not None  # noqa: S101 - every position is reached
            number = chosen[end]
            # Consecutive unknown characters fuse into one token, as tokenizers fuses them.
            if not (number == self._unk_id and found and found[-1] == self._unk_id):
                found.append(number)
            end = back
        found.reverse()
        return found
