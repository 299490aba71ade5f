"""A learned detector: a small sentence-embedding model and a classifier head.

Word lists find what they list; :class:`SemanticDetector` finds what reads
*like* a harmful message. It embeds the message with a small sentence-embedding
model run by ONNX Runtime on the CPU (no PyTorch at run time), and scores each
category with a logistic head that convguard trains and ships in the package.
Two heads ship (:data:`PACKAGED_HEADS`): ``"english"``, the default, for
all-MiniLM-L6-v2, and ``"multilingual"``, for Universal Sentence Encoder
Multilingual v3 (trained on 16 languages; ``docs/semantic.md`` says which
were measured). The model itself is not shipped: point the
detector at a local directory holding ``model.onnx`` and ``tokenizer.json``,
or at a model-hub name resolved through ``huggingface_hub`` (its cache, so
``HF_HUB_OFFLINE=1`` works). ``eval/semantic/export_onnx.py`` makes such a
directory from a safetensors checkpoint, ``eval/semantic/export_use_onnx.py``
from the multilingual encoder's weights.

Scores are calibrated for the policy's two tiers: a protective category
reaches ``0.3`` (a *concern*, which blocks ending silently) at a high-recall
operating point and ``0.5`` (a full finding: SUPPORT) only at high precision;
a terminable category reaches ``0.5`` only at high precision. The operating
points were chosen on a calibration split the head never trained on.

Needs the ``semantic`` extra (``pip install 'convguard[semantic]'``);
``import convguard`` imports none of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

from .._errors import ConfigurationError
from .._findings import Finding
from ._builtin import default_detectors
from ._semantic_head import (
    PACKAGED_HEADS,
    CategoryHead,
    Neighbours,
    SemanticHead,
    packaged_head,
    require,
)
from ._semantic_unigram import UnigramTokenizer

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ._protocols import DetectionContext, Detector

__all__ = [
    "ENV_VAR",
    "HEAD_ENV_VAR",
    "PACKAGED_HEADS",
    "CategoryHead",
    "Neighbours",
    "SemanticDetector",
    "SemanticHead",
    "SentenceEncoder",
    "default_stack",
    "packaged_head",
]

# The head's classes are part of this module's API: reprs and docs say so.
for _obj in (CategoryHead, Neighbours, SemanticHead, packaged_head):
    _obj.__module__ = __name__
del _obj

ENV_VAR: Final = "CONVGUARD_SEMANTIC_MODEL"
"""The environment variable :func:`default_stack` reads the model from."""

HEAD_ENV_VAR: Final = "CONVGUARD_SEMANTIC_HEAD"
"""The environment variable :func:`default_stack` reads the head from (a name or a file)."""

_MODEL_FILES: Final = ("model.onnx", "onnx/model.onnx")
_TOKENIZER: Final = "tokenizer.json"
_HUB_FILES: Final = (
    "tokenizer.json",
    "model.onnx",
    "model.onnx_data",  # the weights, where a graph keeps them beside itself
    "onnx/model.onnx",
    "onnx/model.onnx_data",
)
_TOKEN_VECTORS: Final = 3  # rank of a (batch, tokens, dimensions) output: mean-pool it


# -- the model --------------------------------------------------------------------


def _looks_like_hub_name(name: str) -> bool:
    """Tell ``org/model`` from a path: one slash, no leading dot, tilde or slash."""
    parts = name.split("/")
    return (
        len(parts) == 2  # noqa: PLR2004 - owner and name
        and all(parts)
        and not name.startswith((".", "~"))
        and os.sep not in name.replace("/", "")
    )


def _resolve(model: str | os.PathLike[str]) -> Path:
    """Return the local directory of *model*: a path, or a hub name in the hub's cache."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    name = os.fspath(model)
    if not _looks_like_hub_name(name):
        msg = (
            f"no model directory at {name!r}: give a directory with model.onnx and "
            "tokenizer.json (eval/semantic/export_onnx.py makes one) or a model-hub name"
        )
        raise ConfigurationError(msg)
    hub = require("huggingface_hub")
    try:
        return Path(hub.snapshot_download(name, allow_patterns=list(_HUB_FILES)))
    except Exception as exc:  # the hub's own errors: offline, not cached, not found
        msg = (
            f"cannot load the model {name!r} from the model hub or its cache "
            f"({type(exc).__name__}: {exc}); give a local directory instead"
        )
        raise ConfigurationError(msg) from exc


def _files(directory: Path) -> tuple[Path, Path]:
    """Return the ONNX graph and the tokenizer file of a model directory."""
    graph = next((directory / f for f in _MODEL_FILES if (directory / f).is_file()), None)
    tokenizer = directory / _TOKENIZER
    if graph is None or not tokenizer.is_file():
        msg = (
            f"{str(directory)!r} needs model.onnx (or onnx/model.onnx) and tokenizer.json; "
            "eval/semantic/export_onnx.py makes them from a safetensors checkpoint"
        )
        raise ConfigurationError(msg)
    return graph, tokenizer


def _tokenizer(
    tokenizers: Any,  # noqa: ANN401 - the tokenizers module, imported lazily
    file: Path,
    max_tokens: int,
) -> Callable[[str], list[int]]:
    """Return the function that gives a text's token ids, cut to *max_tokens*.

    A SentencePiece-Unigram file is read by :class:`UnigramTokenizer`, the
    same ids in a fraction of the memory ``tokenizers`` takes for a large
    vocabulary; any other file by ``tokenizers`` itself.
    """
    raw = file.read_bytes()
    lean = UnigramTokenizer.read(raw, tokenizers, max_tokens=max_tokens)
    if lean is not None:
        return lean.encode
    tokenizer = tokenizers.Tokenizer.from_str(raw.decode("utf-8"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return lambda text: tokenizer.encode(text).ids


@final
class SentenceEncoder:
    """The embedding half: a tokenizer and an ONNX graph, run on the CPU.

    The graph reads ``input_ids`` and, where it asks for them,
    ``attention_mask`` and ``token_type_ids``, for one text at a time. Token
    vectors are mean-pooled over the message's tokens and scaled to
    unit length, as sentence-transformers does for all-MiniLM-L6-v2; a graph
    whose output is already one vector per text is used as it is.

    Args:
        model: A directory with ``model.onnx`` (or ``onnx/model.onnx``) and
            ``tokenizer.json``, or a model-hub name found through
            ``huggingface_hub`` (its cache; ``HF_HUB_OFFLINE=1`` is honoured).
        max_tokens: Texts are cut to this many tokens.
        threads: The CPU threads ONNX Runtime uses for one text.

    Raises:
        ConfigurationError: If the ``semantic`` extra is missing or the model
            cannot be found or loaded.
    """

    __slots__ = ("_np", "_rank", "_session", "_tokenizer", "_wants", "dimensions", "directory")

    def __init__(
        self, model: str | os.PathLike[str], *, max_tokens: int = 128, threads: int = 1
    ) -> None:
        """Load the tokenizer and the ONNX graph."""
        for value, what in ((max_tokens, "max_tokens"), (threads, "threads")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"{what} must be a positive int, not {value!r}"
                raise ConfigurationError(msg)
        ort = require("onnxruntime")
        tokenizers = require("tokenizers")
        self._np = require("numpy")
        self.directory = _resolve(model)
        graph, tokenizer_file = _files(self.directory)
        try:
            tokenizer = _tokenizer(tokenizers, tokenizer_file, max_tokens)
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(
                str(graph), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # tokenizers' and ONNX Runtime's own errors
            msg = f"cannot load the model in {str(self.directory)!r}: {exc}"
            raise ConfigurationError(msg) from exc
        self._tokenizer = tokenizer
        self._session = session
        self._wants = tuple(i.name for i in session.get_inputs())
        output = session.get_outputs()[0]
        self._rank = len(output.shape)
        width = output.shape[-1]
        self.dimensions: int | None = width if isinstance(width, int) else None

    def __repr__(self) -> str:
        """Show the model directory."""
        return f"SentenceEncoder({str(self.directory)!r})"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return the unit-length sentence vectors of *texts*, one row each.

        Args:
            texts: The texts, read as given.

        Returns:
            An array of shape ``(len(texts), dimensions)``.
        """
        np = self._np
        rows = [self.vector(text) for text in texts]
        return np.stack(rows) if rows else np.zeros((0, self.dimensions or 0), np.float32)  # type: ignore[no-any-return]

    def vector(self, text: str) -> npt.NDArray[np.float32]:
        """Return the unit-length sentence vector of one text.

        Args:
            text: The text, read as given.

        Returns:
            An array of shape ``(dimensions,)``.
        """
        np = self._np
        ids = np.asarray([self._tokenizer(text)], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),  # one text, never padded
            "token_type_ids": np.zeros_like(ids),
        }
        output = self._session.run(None, {name: feeds[name] for name in self._wants})[0][0]
        vector = output.mean(axis=0) if self._rank == _TOKEN_VECTORS else output
        norm = float(np.linalg.norm(vector))
        return (vector / norm if norm > 0 else vector).astype(np.float32)  # type: ignore[no-any-return]


@final
class SemanticDetector:
    """Score the five acted-on categories with an embedding model and a trained head.

    The model reads the text its head was trained on (``head.reads``): the
    normalized (de-obfuscated) view of the message, as both packaged heads
    do, or the message as written; cut to the head's ``max_tokens``. Each
    category's head turns the sentence vector into a calibrated score. A
    finding is reported for every category scoring at least ``min_score``.

    Args:
        model: A directory with ``model.onnx`` (or ``onnx/model.onnx``) and
            ``tokenizer.json``, or a model-hub name found through
            ``huggingface_hub`` (its cache; ``HF_HUB_OFFLINE=1`` is honoured).
            The head's ``model`` when omitted (a hub name; a head whose model
            is on no hub needs a directory).
        head: The classifier head, the name of a packaged head (``"english"``,
            the default, or ``"multilingual"``; see :data:`PACKAGED_HEADS`),
            or the path of a head's JSON file. It must be the one trained for
            *model*.
        name: The detector's name, shown in findings.
        min_score: Leave out findings scoring below this (the default is the
            policy's default ``concern_threshold``).
        threads: The CPU threads ONNX Runtime uses for one message.

    Raises:
        ConfigurationError: If the ``semantic`` extra is missing, the model
            cannot be found or loaded, or it does not fit the head.
    """

    __slots__ = (
        "_bias",
        "_encoder",
        "_head",
        "_matrix",
        "_min_score",
        "_neighbour_weights",
        "name",
    )

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        head: SemanticHead | str | os.PathLike[str] | None = None,
        name: str = "semantic",
        min_score: float = 0.3,
        threads: int = 1,
    ) -> None:
        """Load the head, the tokenizer and the ONNX graph."""
        if not isinstance(name, str) or not name:
            msg = f"name must be a non-empty string, not {name!r}"
            raise ConfigurationError(msg)
        if isinstance(min_score, bool) or not (
            isinstance(min_score, int | float) and 0.0 <= min_score <= 1.0
        ):
            msg = f"min_score must be a number within 0..1, not {min_score!r}"
            raise ConfigurationError(msg)
        if head is None:
            head = packaged_head()
        elif isinstance(head, str) and head in PACKAGED_HEADS:
            head = packaged_head(head)
        elif not isinstance(head, SemanticHead):
            head = SemanticHead.load(head)
        if model is None and not _looks_like_hub_name(head.model):
            msg = (
                f"the head's model {head.model!r} is on no model hub: give the directory "
                "that eval/semantic/export_use_onnx.py writes (see docs/semantic.md)"
            )
            raise ConfigurationError(msg)
        encoder = SentenceEncoder(
            head.model if model is None else model, max_tokens=head.max_tokens, threads=threads
        )
        if encoder.dimensions not in {None, head.dimensions}:
            msg = (
                f"the model in {str(encoder.directory)!r} gives {encoder.dimensions}-dimensional "
                f"vectors; the head needs {head.dimensions} (it was trained on {head.model!r})"
            )
            raise ConfigurationError(msg)
        np = require("numpy")
        self.name = name
        self._head = head
        self._encoder = encoder
        self._min_score = float(min_score)
        self._matrix = np.asarray([h.weights for h in head.categories], dtype=np.float32).T
        self._bias = np.asarray([h.bias for h in head.categories], dtype=np.float32)
        self._neighbour_weights = np.asarray(
            [h.neighbour_weight for h in head.categories], dtype=np.float32
        )

    def __repr__(self) -> str:
        """Show the name, the model directory and the categories."""
        return (
            f"SemanticDetector({self.name!r}, model={str(self._encoder.directory)!r}, "
            f"categories={sorted(h.category for h in self._head.categories)})"
        )

    @property
    def head(self) -> SemanticHead:
        """The classifier head."""
        return self._head

    @property
    def encoder(self) -> SentenceEncoder:
        """The embedding model."""
        return self._encoder

    @property
    def min_score(self) -> float:
        """The lowest score reported as a finding."""
        return self._min_score

    def scores(self, text: str) -> dict[str, float]:
        """Return every category's calibrated score for a text read as given.

        Args:
            text: The text as the model should read it (``detect`` passes the
                normalized view).

        Returns:
            Each category of the head and its score in 0..1.
        """
        vector = self._encoder.vector(text)
        logits = vector @ self._matrix + self._bias
        neighbours = self._head.neighbours
        if neighbours is not None:
            logits += self._neighbour_weights * neighbours.features(vector)
        return {
            head.category: head.score(head.probability(float(logit)))
            for head, logit in zip(self._head.categories, logits, strict=True)
        }

    def detect(self, text: str, context: DetectionContext) -> list[Finding]:
        """Return a finding for each category scoring at least ``min_score``.

        Args:
            text: The user's original text.
            context: The turn's context (its normalized view is read unless
                the head reads the original).

        Returns:
            The findings, strongest first.
        """
        prepared = text if self._head.reads == "original" else context.normalized.text
        if not prepared.strip():
            return []
        found = [
            Finding(category, round(score, 4), self.name)
            for category, score in self.scores(prepared).items()
            if score >= self._min_score
        ]
        return sorted(found, key=lambda finding: -finding.score)


def default_stack() -> list[Detector]:
    """Return the built-in detectors plus a :class:`SemanticDetector`.

    The model comes from the ``CONVGUARD_SEMANTIC_MODEL`` environment
    variable (a directory or a hub name), else the head's model; the head from
    ``CONVGUARD_SEMANTIC_HEAD`` (a packaged head's name, such as
    ``multilingual``, or a head file), else the English one. Made for
    ``convguard eval FILE --detectors convguard.detectors.semantic:default_stack``.

    Returns:
        A new list: the built-in set, then the semantic detector.

    Raises:
        ConfigurationError: If the semantic detector cannot be loaded.
    """
    semantic = SemanticDetector(
        os.environ.get(ENV_VAR) or None, head=os.environ.get(HEAD_ENV_VAR) or None
    )
    return [*default_detectors(), semantic]


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
