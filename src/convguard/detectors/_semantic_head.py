"""The semantic detector's head: a logistic classifier per category, and its file.

A head scores a message's sentence embedding per category (calibrated to
convguard's score scale), optionally backed by the nearest labelled
examples; it is read from a ``head.json`` file, and :func:`packaged_head`
returns one of those convguard ships (:data:`PACKAGED_HEADS`). numpy is
imported only when a head is read.
"""

from __future__ import annotations

import importlib
import itertools
import json
import math
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

import attrs
from attrs import frozen

from .._errors import ConfigurationError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import numpy as np
    import numpy.typing as npt


__all__ = [
    "HEAD_FORMAT",
    "PACKAGED_HEADS",
    "READS",
    "CategoryHead",
    "Neighbours",
    "SemanticHead",
    "packaged_head",
    "require",
]

HEAD_FORMAT: Final = "convguard-semantic-head/1"
PACKAGED_HEADS: Final = {
    "english": "data/semantic",
    "multilingual": "data/semantic/multilingual",
}
"""The heads convguard ships, by name: where each lives in the package."""
READS: Final = frozenset({"normalized", "original"})
_INSTALL: Final = "pip install 'convguard[semantic]'"


def require(module: str) -> Any:  # noqa: ANN401 - an untyped foreign module
    """Import one of the ``semantic`` extra's packages, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        msg = f"the semantic detector needs {module!r}, which is not installed: {_INSTALL}"
        raise ConfigurationError(msg) from exc


# -- the head ---------------------------------------------------------------------


def _knots(value: object) -> tuple[tuple[float, float], ...]:
    """Check a calibration curve: (probability, score) knots, both rising, 0..1."""
    try:
        knots = tuple((float(p), float(s)) for p, s in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        msg = f"calibration must be a list of [probability, score] pairs, not {value!r}"
        raise ConfigurationError(msg) from exc
    if len(knots) < 2 or knots[0][0] != 0.0 or knots[-1][0] != 1.0:  # noqa: PLR2004 - two ends
        msg = "calibration must run from probability 0 to probability 1"
        raise ConfigurationError(msg)
    for (p0, s0), (p1, s1) in itertools.pairwise(knots):
        if not (p0 < p1 and 0.0 <= s0 <= s1 <= 1.0):
            msg = f"calibration knots must rise within 0..1, not {knots!r}"
            raise ConfigurationError(msg)
    return knots


@final
@frozen
class CategoryHead:
    """One category's logistic head and the curve that calibrates its score.

    Attributes:
        category: The category it scores.
        weights: One weight per embedding dimension.
        bias: The intercept.
        calibration: ``(probability, score)`` knots, rising from probability
            0 to 1: the score is the piecewise-linear curve through them.
        neighbour_weight: The weight of the neighbour feature (how much
            closer the message is to the category's labelled examples than
            to the others), when the head has :class:`Neighbours`.
    """

    category: str
    weights: tuple[float, ...] = attrs.field(repr=lambda w: f"<{len(w)} weights>")
    bias: float
    calibration: tuple[tuple[float, float], ...] = attrs.field(converter=_knots)
    neighbour_weight: float = 0.0

    def probability(self, logit: float) -> float:
        """Return the head's probability for a logit (numerically stable)."""
        if logit >= 0:
            return 1.0 / (1.0 + math.exp(-logit))
        z = math.exp(logit)
        return z / (1.0 + z)

    def score(self, probability: float) -> float:
        """Map a probability onto the calibrated score, in 0..1.

        Args:
            probability: The head's probability.

        Returns:
            The score the finding carries.
        """
        for (p0, s0), (p1, s1) in itertools.pairwise(self.calibration):
            if probability <= p1:
                return s0 + (s1 - s0) * max(0.0, probability - p0) / (p1 - p0)
        return self.calibration[-1][1]


@final
@frozen
class Neighbours:
    """Labelled example vectors a head compares each message with.

    For each category the feature is the mean similarity of the ``k``
    closest examples labelled with it, less that of the ``k`` closest
    examples not labelled with it: a paraphrase of a training example is
    found even where the linear weights alone are unsure.

    Attributes:
        k: How many neighbours on each side.
        vectors: The examples' unit vectors, one row each (a numpy array).
        labels: For each example, a row of booleans in the head's category
            order (a numpy array).
    """

    k: int
    vectors: Any = attrs.field(eq=False, repr=lambda v: f"<{len(v)} vectors>")
    labels: Any = attrs.field(eq=False, repr=False)
    _sides: tuple[tuple[Any, Any], ...] = attrs.field(init=False, eq=False, repr=False)

    @_sides.default
    def _split(self) -> tuple[tuple[Any, Any], ...]:
        # Row numbers on each side, per category: indexing by them costs
        # far less per message than a boolean mask over a transposed view.
        np = require("numpy")
        return tuple((np.flatnonzero(c), np.flatnonzero(~c)) for c in self.labels.T)

    @classmethod
    def load(cls, file: Traversable, *, k: int, categories: int) -> Neighbours:
        """Read ``vectors`` and ``labels`` from an ``.npz`` file.

        Args:
            file: The file (a path or a package resource).
            k: How many neighbours on each side.
            categories: How many categories the head has.

        Returns:
            The neighbours.

        Raises:
            ConfigurationError: If numpy is missing or the file is malformed.
        """
        np = require("numpy")
        try:
            with file.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
                vectors = np.asarray(data["vectors"], dtype=np.float32)
                labels = np.asarray(data["labels"], dtype=bool)
        except (OSError, KeyError, ValueError) as exc:
            msg = f"cannot read the head's neighbours from {file.name!r}: {exc}"
            raise ConfigurationError(msg) from exc
        if (
            vectors.ndim != 2  # noqa: PLR2004 - a matrix
            or labels.shape != (len(vectors), categories)
            or not 1 <= k <= len(vectors)
        ):
            msg = f"the neighbours in {file.name!r} do not fit the head (or k={k})"
            raise ConfigurationError(msg)
        return cls(k, vectors, labels)

    def features(self, vector: npt.NDArray[np.float32]) -> list[float]:
        """Return each category's neighbour feature for one unit vector."""
        np = require("numpy")
        similarity = self.vectors @ vector
        return [
            _top_mean(np, similarity[near], self.k) - _top_mean(np, similarity[far], self.k)
            for near, far in self._sides
        ]


def _top_mean(np: Any, values: Any, k: int) -> float:  # noqa: ANN401 - numpy, imported lazily
    """Return the mean of the *k* largest *values* (of all, when fewer)."""
    if len(values) > k:
        values = np.partition(values, len(values) - k)[-k:]
    return float(values.mean()) if len(values) else 0.0


@final
@frozen
class SemanticHead:
    """The classifier head: what the detector adds on top of the embedding model.

    Attributes:
        model: The embedding model it was trained on (a model-hub name);
            it only fits that model's vectors.
        max_tokens: Messages are cut to this many tokens.
        categories: One head per category.
        neighbours: Labelled example vectors for the neighbour feature, or
            ``None`` for a purely linear head.
        info: What the training script recorded (data, figures), as is.
        reads: Which text the model reads: ``"normalized"``, the
            de-obfuscated view the lexicons read (it folds accents and
            look-alike letters; both packaged heads read it), or
            ``"original"``, the text as written (for a model whose
            languages that folding garbles, such as Russian or Thai).
    """

    model: str
    max_tokens: int
    categories: tuple[CategoryHead, ...]
    neighbours: Neighbours | None = None
    info: Mapping[str, object] = attrs.field(factory=dict, eq=False, repr=False)
    reads: str = attrs.field(default="normalized", kw_only=True)

    @property
    def dimensions(self) -> int:
        """The length of the embedding vectors it reads."""
        return len(self.categories[0].weights)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, directory: Traversable | None = None
    ) -> SemanticHead:
        """Build a head from its JSON form (see ``head.json``).

        Args:
            data: The parsed JSON.
            directory: Where its ``neighbours`` file is, when it names one.

        Returns:
            The head.

        Raises:
            ConfigurationError: If the data is not a head of this format.
        """
        if not isinstance(data, Mapping) or data.get("format") != HEAD_FORMAT:
            msg = f"not a convguard semantic head (format {HEAD_FORMAT!r})"
            raise ConfigurationError(msg)
        try:
            heads = tuple(
                CategoryHead(
                    category=str(category),
                    weights=tuple(float(w) for w in spec["weights"]),
                    bias=float(spec["bias"]),
                    calibration=spec["calibration"],
                    neighbour_weight=float(spec.get("neighbour_weight", 0.0)),
                )
                for category, spec in data["categories"].items()
            )
            head = cls(
                model=str(data["model"]),
                max_tokens=int(data["max_tokens"]),
                categories=heads,
                info=dict(data.get("info", {})),
                reads=str(data.get("reads", "normalized")),
            )
            spec = data.get("neighbours")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ConfigurationError):
                raise
            msg = f"malformed semantic head: {type(exc).__name__}: {exc}"
            raise ConfigurationError(msg) from exc
        if not heads or len({len(h.weights) for h in heads}) != 1 or head.max_tokens < 1:
            msg = "a semantic head needs categories with weights of one length, and max_tokens >= 1"
            raise ConfigurationError(msg)
        if head.reads not in READS:
            msg = f"a semantic head reads one of {sorted(READS)}, not {head.reads!r}"
            raise ConfigurationError(msg)
        if spec is None:
            return head
        if directory is None or not isinstance(spec, Mapping):
            msg = "neighbours must be {'k': ..., 'file': ...}, read from the head's directory"
            raise ConfigurationError(msg)
        neighbours = Neighbours.load(
            directory.joinpath(str(spec.get("file"))),
            k=int(spec.get("k", 0)),
            categories=len(heads),
        )
        if neighbours.vectors.shape[1] != head.dimensions:
            msg = "the head's neighbours and weights differ in width"
            raise ConfigurationError(msg)
        return attrs.evolve(head, neighbours=neighbours)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SemanticHead:
        """Read a head from a JSON file.

        Args:
            path: The file.

        Returns:
            The head.

        Raises:
            ConfigurationError: If the file cannot be read or is not a head.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            msg = f"cannot read the semantic head {str(path)!r}: {exc}"
            raise ConfigurationError(msg) from exc
        return cls.from_dict(data, directory=Path(path).parent)


def packaged_head(name: str = "english") -> SemanticHead:
    """Return a head convguard ships.

    Args:
        name: ``"english"`` (trained for all-MiniLM-L6-v2, English only) or
            ``"multilingual"`` (trained for Universal Sentence Encoder
            Multilingual v3, 16 languages); see ``docs/semantic.md``.

    Returns:
        The head; ``head.model`` names the embedding model it needs.

    Raises:
        ConfigurationError: If *name* is not a packaged head, or numpy (the
            ``semantic`` extra) is missing.
    """
    where = PACKAGED_HEADS.get(name) if isinstance(name, str) else None
    if where is None:
        msg = f"no packaged semantic head named {name!r}: choose one of {sorted(PACKAGED_HEADS)}"
        raise ConfigurationError(msg)
    directory = resources.files("convguard.detectors").joinpath(where)
    data = json.loads(directory.joinpath("head.json").read_text(encoding="utf-8"))
    return SemanticHead.from_dict(data, directory=directory)
