"""Train, calibrate and write the semantic detector's classifier head.

Reproducible: the same files and model give the same head. It reads only

- the dev set, ``../shared/eval/dev.jsonl``;
- the blind probes, ``eval/probes.jsonl``;
- the *validation* halves of the held-out sets, ``build/heldout/val.jsonl``
  and ``build/heldout/heldout2-val.jsonl`` (``python eval/split_heldout.py
  build/heldout`` writes them);
- the project-authored data of ``eval/semantic/authored.jsonl``
  (``eval/semantic/build_authored.py`` writes it);
- the public extra data of ``eval/extra/extra.jsonl`` (news, fiction,
  everyday chat, toxic web text and refusal-benchmark questions, labelled
  for convguard; ``eval/extra/build_extra.py`` writes it),

and refuses any file whose name says *test*. It fits one L2-regularised,
class-balanced logistic head per category (on the sentence vector and a
neighbour feature) and places each category's operating points on
probabilities the heads placing them never saw (``--calibrate``):

- ``folds`` (the default): items go to 5 folds by a hash of their group (an
  authored item's phrase family, else its id), each fold is scored by heads
  fitted on the other four, the points are placed on those out-of-fold
  probabilities of every item, and the written heads are fitted on all items;
  the terminable categories' points are placed on a second round of folds
  that keeps each public source file whole (``--terminable-folds source``),
  so a ``[]`` item is scored by heads that never saw its kind of text;
- ``split``: 70% of the groups fit the written heads, the other 30% (the
  calibration part) place the points.

Each calibration item weighs one over its group's size, so a phrase family
counts as one message. The points (:class:`Settings`):

- terminable categories: the score reaches 0.5 where at most ``--precision``
  (or the category's own rate in ``Settings.category_precision``) of the
  ``[]`` items would be flagged;
- protective categories: 0.5 where at most ``--support-precision`` of the
  ``[]`` and terminable-only items would be (SUPPORT must stay precise), and
  0.3, the concern tier, at the probability that keeps ``--recall`` of the
  category's items.

``eval/semantic/tune.py`` scores settings with sources left out, to choose them.

Usage (the model directory comes from ``eval/semantic/export_onnx.py`` for
the English head, ``eval/semantic/export_use_onnx.py`` for the multilingual
one)::

    .venv/bin/python eval/semantic/train.py MODEL_DIR [--head english|multilingual] [--out HEAD.json]
    .venv/bin/python eval/semantic/train.py MODEL_DIR --holdout build/heldout/val.jsonl [--out DIR/head.json]

``--head`` picks the packaged head to write (and the model name it records):
``english`` (all-MiniLM-L6-v2, the default) or ``multilingual`` (Universal
Sentence Encoder Multilingual v3). ``--holdout FILE`` leaves one of the
validation halves (or the dev set) out of training and calibration and prints
the figures on it: an unseen source to compare data and heads on; with
``--out`` that left-out head is written too, for ``convguard eval`` to score.
Without ``--holdout`` the head is written (by default into the package). Either way the language
probes (``multilingual_probes.jsonl``, never trained on) are scored last, per
language.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from convguard._taxonomy import PROTECTIVE, TERMINABLE
from convguard.detectors import DetectionContext, default_detectors, normalize
from convguard.detectors._semantic_head import HEAD_FORMAT
from convguard.detectors.semantic import SentenceEncoder

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SOURCES = (
    ROOT.parent / "shared" / "eval" / "dev.jsonl",
    ROOT / "eval" / "probes.jsonl",
    ROOT / "build" / "heldout" / "val.jsonl",
    ROOT / "build" / "heldout" / "heldout2-val.jsonl",
    HERE / "authored.jsonl",
    HERE.parent / "extra" / "extra.jsonl",
)
MEMORY_FILE = "neighbours.npz"
PACKAGE_DATA = ROOT / "src" / "convguard" / "detectors" / "data" / "semantic"
PROBES = HERE / "multilingual_probes.jsonl"
CACHE = ROOT / "build" / "semantic"
CATEGORIES = (
    "mass_violence",
    "child_sexual_content",
    "abuse",
    "self_harm_risk",
    "harm_to_others_risk",
)
# The packaged heads: the model name each records, where it is written, and
# which text its model reads (the de-obfuscated view, or the text as written).
HEADS = {
    "english": ("sentence-transformers/all-MiniLM-L6-v2", PACKAGE_DATA / "head.json", "normalized"),
    "multilingual": (
        "universal-sentence-encoder-multilingual-3",
        PACKAGE_DATA / "multilingual" / "head.json",
        "normalized",  # measured against "original" in docs/semantic.md
    ),
}
MAX_TOKENS = 128
CONCERN, FULL = 0.3, 0.5
CALIBRATION_SHARE = 0.3
NEIGHBOURS = 3  # k: the closest examples on each side of the neighbour feature
FEATURE_SCALE = 10.0  # puts the neighbour feature on the weights' scale for the L2 penalty
EDGE = 1e-6  # keeps the knots strictly inside 0..1, and ends Newton's method

Item = dict[str, Any]
Matrix = npt.NDArray[np.float32]


def read(path: Path) -> list[Item]:
    """Return the items of a JSON Lines file; refuse a test half."""
    if "test" in path.name:
        sys.exit(f"refusing to read {path}: test halves are scored only with convguard eval")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def group(item: Item) -> str:
    """Return what keeps an item's near-copies on one side of the split."""
    return str(item.get("group") or item["id"])


def in_calibration(item: Item) -> bool:
    """Say whether an item belongs to the calibration part (30%, by group hash)."""
    digest = hashlib.sha256(("calibration:" + group(item)).encode()).digest()
    return digest[0] < CALIBRATION_SHARE * 256


def embed(encoder: SentenceEncoder, texts: Sequence[str], *, reads: str = "normalized") -> Matrix:
    """Return the vectors of *texts* as the detector prepares them, cached by text under build/.

    *reads* is the head's: ``normalized`` embeds the de-obfuscated view,
    ``original`` the text as written.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(str(encoder.directory.resolve()).encode()).hexdigest()[:12]
    cache_file = CACHE / f"vectors-{tag}.npz"
    cached: dict[str, Matrix] = {}
    if cache_file.exists():
        with np.load(cache_file) as data:
            cached = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    prepared = [normalize(text).text if reads == "normalized" else text for text in texts]
    missing = sorted({p for p in prepared if p not in cached})
    if missing:
        for text, vector in zip(missing, encoder.embed(missing), strict=True):
            cached[text] = vector
        keys = sorted(cached)
        np.savez(cache_file, keys=np.array(keys), vectors=np.stack([cached[k] for k in keys]))
    return np.stack([cached[p] for p in prepared])


def fit_logistic(x: Matrix, y: npt.NDArray[np.bool_], l2: float) -> tuple[Matrix, float]:
    """Fit a class-balanced logistic regression with an L2 penalty by Newton's method."""
    rows, dims = x.shape
    design = np.hstack([x, np.ones((rows, 1), np.float32)]).astype(np.float64)
    positives = max(int(y.sum()), 1)
    sample = np.where(y, rows / (2 * positives), rows / (2 * max(rows - positives, 1)))
    penalty = np.full(dims + 1, l2)
    penalty[-1] = 0.0  # the bias goes unpenalised
    theta = np.zeros(dims + 1)
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ theta))
        gradient = design.T @ (sample * (p - y)) + penalty * theta
        hessian = (design * (sample * p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < EDGE:
            break
    return theta[:-1].astype(np.float32), float(theta[-1])


def probability(x: Matrix, weights: Matrix, bias: float) -> npt.NDArray[np.float64]:
    """Return the head's probabilities for the rows of *x*."""
    return 1 / (1 + np.exp(-(x.astype(np.float64) @ weights + bias)))


def neighbour_features(
    similarity: Matrix, labels: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Return, per row, the mean of the k best similarities to *labels* rows less the others'.

    The same feature as ``Neighbours.features`` in the detector, for many rows
    at once; a similarity of -2 hides a memory row (the row's own group).
    """
    hidden = -2.0
    near = np.sort(np.where(labels[None, :], similarity, hidden), axis=1)[:, -NEIGHBOURS:]
    far = np.sort(np.where(~labels[None, :], similarity, hidden), axis=1)[:, -NEIGHBOURS:]
    return near.mean(axis=1) - far.mean(axis=1)


def threshold_at_rate(
    negatives: npt.NDArray[np.float64],
    rate: float,
    weights: npt.NDArray[np.float64] | None = None,
) -> float:
    """Return the lowest probability that at most *rate* of *negatives* reach.

    With *weights* (each negative's share of the count, such as one over the
    size of its phrase family, so that ten framings of one benign phrase
    weigh as one message), the rate is of the total weight.
    """
    if weights is None:
        weights = np.ones(len(negatives))
    order = np.argsort(-negatives, kind="stable")
    ranked, cumulative = negatives[order], np.cumsum(weights[order])
    allowed = rate * float(cumulative[-1]) if len(cumulative) else 0.0
    # The first negative past the allowance stays just below the threshold.
    first = int(np.searchsorted(cumulative, allowed * (1 + 1e-9) + 1e-12, side="right"))
    return float(min(np.nextafter(ranked[first], 1.0), 1 - 1e-9)) if first < len(ranked) else 0.0


def group_weights(items: Sequence[Item]) -> npt.NDArray[np.float64]:
    """Return one over the size of each item's group among *items*: a family weighs as one."""
    sizes: dict[str, int] = {}
    for item in items:
        sizes[group(item)] = sizes.get(group(item), 0) + 1
    return np.array([1.0 / sizes[group(item)] for item in items])


class Settings(NamedTuple):
    """How the heads are fitted and where their operating points are placed.

    Rates are shares of the calibration items' weight (see
    :func:`group_weights`):

    - ``precision``: the share of ``[]`` items a terminable category may
      flag (score 0.5), unless ``category_precision`` names it;
    - ``support_precision``: the share of ``[]`` and terminable-only items
      a protective category may raise to SUPPORT (score 0.5);
    - ``recall``: the share of a protective category's items kept at the
      concern tier (0.3);
    - ``calibrate``: ``"folds"``, every item calibrated on by heads fitted
      on the other folds (group-wise) while the shipped heads are fitted
      on all items, or ``"split"``, the shipped heads fitted on 70% of the
      groups and calibrated on the other 30%.
    """

    # 3 rather than 1 since the extra data: with source folds, as much found
    # and no more flagged in tune.py's scenarios, more mass violence on the
    # second validation half (docs/semantic.md).
    l2: float = 3.0
    precision: float = 0.003
    support_precision: float = 0.001
    # Per terminable category, where it differs from ``precision``: measured
    # with tune.py, abuse's false findings on [] items came at the lowest
    # rates, mass violence's only at the highest. Each rate is the strictest
    # that tune.py showed finding more than the previous head at no more
    # false findings, in every scenario (the test halves flagged more than
    # the validation halves foretold, so this leaves a margin).
    category_precision: tuple[tuple[str, float], ...] = (
        ("mass_violence", 0.005),
        ("abuse", 0.002),
    )
    recall: float = 0.95
    calibrate: str = "folds"
    folds: int = 5
    weighted: bool = True  # False counts every calibration item as one (the previous heads)
    # "source": the terminable points are placed on probabilities from heads
    # that never saw the item's whole source file (see fold_of), as a new
    # kind of text meets the shipped head; "group": by phrase family only,
    # which placed them where the test halves' [] items were flagged 2.3% and
    # 1.4% against 0.0-0.4% foretold (docs/semantic.md).
    terminable_folds: str = "source"


class Points(NamedTuple):
    """One category's operating points, as probabilities."""

    low: float | None  # the concern tier (protective categories)
    high: float  # the full finding


def operating_points(  # noqa: PLR0913 - the calibration items' columns for one category
    category: str,
    p: npt.NDArray[np.float64],
    positives: npt.NDArray[np.bool_],
    negatives: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.float64],
    settings: Settings,
) -> Points:
    """Place one category's operating points on the calibration items."""
    protective = category in PROTECTIVE
    if not settings.weighted:
        weights = np.ones_like(weights)
    rate = (
        settings.support_precision
        if protective
        else dict(settings.category_precision).get(category, settings.precision)
    )
    high = threshold_at_rate(p[negatives], rate, weights[negatives])
    low = threshold_at_recall(p[positives], settings.recall) if protective else None
    return Points(low, high)


def threshold_at_recall(positives: npt.NDArray[np.float64], recall: float) -> float:
    """Return the highest probability that keeps *recall* of *positives* at or above it."""
    ranked = np.sort(positives)[::-1]
    keep = max(int(np.ceil(recall * len(ranked))), 1)
    return float(ranked[keep - 1])


def calibration_curve(low: float | None, high: float) -> list[list[float]]:
    """Return the knots: probability *low* scores 0.3 (if given) and *high* scores 0.5."""
    high = min(max(high, EDGE), 1 - EDGE)
    knots = [[0.0, 0.0]]
    if low is not None and 0.0 < low < high:
        knots.append([low, CONCERN])
    knots += [[high, FULL], [1.0, 1.0]]
    return knots


def labels_of(items: Iterable[Item], category: str) -> npt.NDArray[np.bool_]:
    """Return whether each item carries *category*."""
    return np.array([category in item["labels"] for item in items])


def fold_of(item: Item, folds: int, *, by_source: bool = False) -> int:
    """Return the cross-fitting fold of an item (by group hash, like the split).

    *by_source* keeps each public source file in one fold (the project's own
    authored items still go by phrase family), so the fold's heads have seen
    nothing of that kind of text.
    """
    key = group(item)
    if by_source and not str(item.get("source", "")).startswith("convguard"):
        key = "source:" + str(item["source"])
    digest = hashlib.sha256(("fold:" + key).encode()).digest()
    return int.from_bytes(digest[:4], "big") % folds


def fit_heads(
    items: Sequence[Item], vectors: Matrix, l2: float
) -> tuple[dict[str, dict[str, Any]], Memory]:
    """Fit one logistic head per category on *items*; return them and their memory.

    A row's neighbour feature leaves its own group out, as a new message's
    would be.
    """
    groups = np.array([group(item) for item in items])
    memory = Memory(vectors, np.stack([labels_of(items, c) for c in CATEGORIES], 1))
    own = groups[:, None] == groups[None, :]
    similarity = np.where(own, -2.0, vectors @ vectors.T).astype(np.float32)
    heads: dict[str, dict[str, Any]] = {}
    for column, category in enumerate(CATEGORIES):
        feature = neighbour_features(similarity, memory.labels[:, column])
        design = np.hstack([vectors, FEATURE_SCALE * feature[:, None]]).astype(np.float32)
        theta, bias = fit_logistic(design, memory.labels[:, column], l2)
        heads[category] = {
            "weights": [round(float(w), 6) for w in theta[:-1]],
            "bias": round(bias, 6),
            "neighbour_weight": round(float(theta[-1]) * FEATURE_SCALE, 6),
        }
    return heads, memory


def probabilities(
    heads: dict[str, dict[str, Any]], memory: Memory, vectors: Matrix
) -> npt.NDArray[np.float64]:
    """Return every category's probabilities for unseen *vectors*, a column each."""
    return np.stack(
        [head_probability(heads[c], memory, vectors, j) for j, c in enumerate(CATEGORIES)], 1
    )


def calibration_part(
    items: list[Item], vectors: Matrix, settings: Settings
) -> tuple[dict[str, dict[str, Any]], Memory, list[int], npt.NDArray[np.float64]]:
    """Return the shipped heads, their memory, and unseen probabilities to calibrate on.

    ``split``: the heads are fitted on 70% of the groups and the other 30%
    are the calibration part. ``folds``: the heads are fitted on every item,
    and each item's calibration probability comes from heads fitted on the
    other folds (group-wise), so every item is calibrated on, unseen.
    """
    if settings.calibrate == "split":
        held = [i for i, item in enumerate(items) if in_calibration(item)]
        fit = [i for i, item in enumerate(items) if not in_calibration(item)]
        heads, memory = fit_heads([items[i] for i in fit], vectors[fit], settings.l2)
        return heads, memory, held, probabilities(heads, memory, vectors[held])
    p = out_of_fold(items, vectors, settings, by_source=False)
    if settings.terminable_folds == "source":
        terminable = [CATEGORIES.index(c) for c in CATEGORIES if c in TERMINABLE]
        p[:, terminable] = out_of_fold(items, vectors, settings, by_source=True)[:, terminable]
    heads, memory = fit_heads(items, vectors, settings.l2)
    return heads, memory, list(range(len(items))), p


def out_of_fold(
    items: list[Item], vectors: Matrix, settings: Settings, *, by_source: bool
) -> npt.NDArray[np.float64]:
    """Return every item's probabilities from heads fitted on the other folds."""
    folds = np.array([fold_of(item, settings.folds, by_source=by_source) for item in items])
    p = np.zeros((len(items), len(CATEGORIES)))
    for fold in range(settings.folds):
        rest = np.flatnonzero(folds != fold)
        heads, memory = fit_heads([items[i] for i in rest], vectors[rest], settings.l2)
        p[folds == fold] = probabilities(heads, memory, vectors[folds == fold])
    return p


def train(
    items: list[Item], vectors: Matrix, settings: Settings
) -> tuple[dict[str, Any], Memory, dict[str, Any]]:
    """Fit and calibrate every category's head; return the heads, their memory and the figures."""
    heads, memory, held, p_all = calibration_part(items, vectors, settings)
    calibration_items = [items[i] for i in held]
    weights = group_weights(calibration_items)
    benign = np.array([not item["labels"] for item in calibration_items])
    not_protective = np.array([not set(item["labels"]) & PROTECTIVE for item in calibration_items])
    figures: dict[str, Any] = {}
    for column, category in enumerate(CATEGORIES):
        head = heads[category]
        p = p_all[:, column]
        yc = labels_of(calibration_items, category)
        protective = category in PROTECTIVE
        negatives = (not_protective if protective else benign) & ~yc
        low, high = operating_points(category, p, yc, negatives, weights, settings)
        head["calibration"] = [[round(a, 8), b] for a, b in calibration_curve(low, high)]
        figures[category] = {
            "calibration_positives": int(yc.sum()),
            "calibration_negatives": int(negatives.sum()),
            "recall_at_full": round(float((p[yc] >= high).mean()), 3),
            "recall_at_concern": round(float((p[yc] >= (low or high)).mean()), 3)
            if protective
            else None,
            "negatives_at_concern": round(float((p[negatives] >= (low or high)).mean()), 3)
            if protective
            else None,
        }
    return heads, memory, figures


class Memory(NamedTuple):
    """The labelled example vectors the neighbour feature compares with."""

    vectors: Matrix
    labels: npt.NDArray[np.bool_]


def head_probability(
    head: dict[str, Any], memory: Memory, vectors: Matrix, column: int
) -> npt.NDArray[np.float64]:
    """Return one category's head probabilities for unseen *vectors* (none in the memory)."""
    feature = neighbour_features(vectors @ memory.vectors.T, memory.labels[:, column])
    logits = (
        vectors.astype(np.float64) @ np.asarray(head["weights"])
        + head["bias"]
        + head["neighbour_weight"] * feature
    )
    return 1 / (1 + np.exp(-logits))


def score_items(
    heads: dict[str, Any], memory: Memory, vectors: Matrix
) -> dict[str, npt.NDArray[np.float64]]:
    """Return each category's calibrated scores for the rows of *vectors*."""
    scores = {}
    for column, (category, head) in enumerate(heads.items()):
        knots = np.asarray(head["calibration"])
        p = head_probability(head, memory, vectors, column)
        scores[category] = np.interp(p, knots[:, 0], knots[:, 1])
    return scores


def report(items: list[Item], scores: dict[str, npt.NDArray[np.float64]]) -> dict[str, float]:
    """Return the issue's figures for the semantic detector, alone and with the lexicons."""
    lexicon = default_detectors()
    best_lexicon: list[dict[str, float]] = []
    for item in items:
        found: dict[str, float] = {}
        for detector in lexicon:
            for finding in detector.detect(item["text"], DetectionContext(item["text"])):
                found[finding.category] = max(found.get(finding.category, 0.0), finding.score)
        best_lexicon.append(found)
    figures: dict[str, float] = {}
    benign = [i for i, item in enumerate(items) if not item["labels"]]
    quiet = [i for i, item in enumerate(items) if not set(item["labels"]) & PROTECTIVE]
    for category in CATEGORIES:
        positives = [i for i, item in enumerate(items) if category in item["labels"]]
        if positives:
            semantic = np.mean([scores[category][i] >= FULL for i in positives])
            both = np.mean(
                [
                    scores[category][i] >= FULL or best_lexicon[i].get(category, 0) >= FULL
                    for i in positives
                ]
            )
            figures[f"{category} recall semantic / with lexicon"] = (float(semantic), float(both))
    protective_items = [i for i, item in enumerate(items) if set(item["labels"]) & PROTECTIVE]

    def blocked(i: int, *, lexicon_too: bool) -> bool:
        sem = any(scores[c][i] >= CONCERN for c in PROTECTIVE)
        lex = any(best_lexicon[i].get(c, 0) >= CONCERN for c in PROTECTIVE)
        return sem or (lexicon_too and lex)

    figures["ending blocked lexicon / with semantic"] = (
        float(
            np.mean(
                [
                    any(best_lexicon[i].get(c, 0) >= CONCERN for c in PROTECTIVE)
                    for i in protective_items
                ]
            )
        ),
        float(np.mean([blocked(i, lexicon_too=True) for i in protective_items])),
    )
    figures["ending blocked semantic alone"] = float(
        np.mean([blocked(i, lexicon_too=False) for i in protective_items])
    )
    figures["[] flagged terminable semantic / with lexicon"] = (
        float(np.mean([any(scores[c][i] >= FULL for c in TERMINABLE) for i in benign])),
        float(
            np.mean(
                [
                    any(
                        scores[c][i] >= FULL or best_lexicon[i].get(c, 0) >= FULL
                        for c in TERMINABLE
                    )
                    for i in benign
                ]
            )
        ),
    )
    figures["SUPPORT on []/terminable-only semantic / with lexicon"] = (
        float(np.mean([any(scores[c][i] >= FULL for c in PROTECTIVE) for i in quiet])),
        float(
            np.mean(
                [
                    any(
                        scores[c][i] >= FULL or best_lexicon[i].get(c, 0) >= FULL
                        for c in PROTECTIVE
                    )
                    for i in quiet
                ]
            )
        ),
    )
    figures["concern on []/terminable-only semantic"] = float(
        np.mean([blocked(i, lexicon_too=False) for i in quiet])
    )
    return figures


def language_report(
    items: list[Item], scores: dict[str, npt.NDArray[np.float64]]
) -> dict[str, dict[str, float]]:
    """Return the probe figures per language: what is found, and what is flagged wrongly.

    - *ending blocked*: protective items with a protective score >= 0.3;
    - *support*: protective items with a protective score >= 0.5;
    - *terminable recall*: terminable items whose own category scores >= 0.5;
    - *detected*: harmful items of any kind found at their category's tier
      (0.3 for a protective category, 0.5 for a terminable one);
    - *benign flagged*: ``[]`` items with a terminable or protective score >= 0.5;
    - *benign concern*: ``[]`` items with a protective score >= 0.3.
    """

    def found(i: int, category: str) -> bool:
        return bool(scores[category][i] >= (CONCERN if category in PROTECTIVE else FULL))

    table: dict[str, dict[str, float]] = {}
    for lang in sorted({str(item.get("lang", "?")) for item in items}):
        rows = [i for i, item in enumerate(items) if item.get("lang", "?") == lang]
        protective = [i for i in rows if set(items[i]["labels"]) & PROTECTIVE]
        terminable = [i for i in rows if set(items[i]["labels"]) & TERMINABLE]
        harmful = [i for i in rows if items[i]["labels"]]
        benign = [i for i in rows if not items[i]["labels"]]
        table[lang] = {
            "items": len(rows),
            "ending blocked": float(
                np.mean([any(scores[c][i] >= CONCERN for c in PROTECTIVE) for i in protective])
            ),
            "support": float(
                np.mean([any(scores[c][i] >= FULL for c in PROTECTIVE) for i in protective])
            ),
            "terminable recall": float(
                np.mean(
                    [
                        any(scores[c][i] >= FULL for c in set(items[i]["labels"]) & TERMINABLE)
                        for i in terminable
                    ]
                )
            ),
            "detected": float(
                np.mean([any(found(i, c) for c in items[i]["labels"]) for i in harmful])
            ),
            "benign flagged": float(
                np.mean([any(scores[c][i] >= FULL for c in CATEGORIES) for i in benign])
            ),
            "benign concern": float(
                np.mean([any(scores[c][i] >= CONCERN for c in PROTECTIVE) for i in benign])
            ),
        }
    return table


def show(figures: dict[str, Any]) -> None:
    """Print a report's figures, pairs as ``a / b``."""
    for name, value in figures.items():
        shown = (
            " / ".join(f"{v:.3f}" for v in value) if isinstance(value, tuple) else f"{value:.3f}"
        )
        print(f"{name}: {shown}")


def show_languages(table: dict[str, dict[str, float]]) -> None:
    """Print the per-language probe figures as a table."""
    columns = list(next(iter(table.values())))
    print("lang  " + "  ".join(f"{c:>17}" for c in columns))
    for lang, row in table.items():
        print(f"{lang:5} " + "  ".join(f"{row[c]:17.3f}" for c in columns))


def arguments() -> argparse.ArgumentParser:
    """Return the command line's parser."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the ONNX model directory (or a hub name)")
    parser.add_argument(
        "--head", choices=sorted(HEADS), default="english", help="which packaged head to train"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the head (default: the package; with --holdout, only if given)",
    )
    parser.add_argument("--holdout", type=Path, help="a validation half to leave out and score")
    parser.add_argument(
        "--probes", type=Path, default=PROBES, help="language probes to score (never trained on)"
    )
    parser.add_argument("--figures", type=Path, help="also write the printed figures as JSON")
    parser.add_argument(
        "--reads",
        choices=["normalized", "original"],
        help="which text the model reads (default: the head's own choice)",
    )
    defaults = Settings()
    parser.add_argument("--l2", type=float, default=defaults.l2, help="the L2 penalty")
    parser.add_argument(
        "--precision", type=float, default=defaults.precision, help="[] items flagged terminable"
    )
    parser.add_argument(
        "--support-precision",
        type=float,
        default=defaults.support_precision,
        help="[] and terminable-only items given a full protective score (SUPPORT)",
    )
    parser.add_argument(
        "--recall", type=float, default=defaults.recall, help="protective items kept at 0.3"
    )
    parser.add_argument(
        "--calibrate",
        choices=["folds", "split"],
        default=defaults.calibrate,
        help="calibrate on out-of-fold scores (heads fitted on every item) or a 30%% split",
    )
    parser.add_argument(
        "--terminable-folds",
        choices=["source", "group"],
        default=defaults.terminable_folds,
        help="place the terminable points on heads that never saw the item's source, or its group",
    )
    parser.add_argument("--no-authored", action="store_true", help="leave the authored data out")
    parser.add_argument(
        "--no-extra", action="store_true", help="leave the public extra data (eval/extra) out"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Train the head; write it, or score a left-out validation half."""
    parser = arguments()
    args = parser.parse_args(argv)
    model_name, default_out, default_reads = HEADS[args.head]
    reads: str = args.reads or default_reads
    out: Path = args.out or default_out
    sources = [
        s
        for s in SOURCES
        if not (args.no_authored and s.name == "authored.jsonl")
        and not (args.no_extra and s.name == "extra.jsonl")
    ]
    if args.holdout is not None:
        sources = [s for s in sources if s.resolve() != args.holdout.resolve()]
    if args.probes.resolve() in {s.resolve() for s in sources}:
        sys.exit("the language probes are for measuring only: they cannot be a training source")
    items = [item for source in sources for item in read(source)]
    encoder = SentenceEncoder(args.model, max_tokens=MAX_TOKENS)
    vectors = embed(encoder, [item["text"] for item in items], reads=reads)
    settings = Settings(
        l2=args.l2,
        precision=args.precision,
        support_precision=args.support_precision,
        recall=args.recall,
        calibrate=args.calibrate,
        terminable_folds=args.terminable_folds,
    )
    heads, memory, figures = train(items, vectors, settings)
    print(json.dumps(figures, indent=1))
    record: dict[str, Any] = {"head": args.head, "reads": reads, "calibration": figures}
    if args.holdout is not None:
        unseen = read(args.holdout)
        scores = score_items(
            heads,
            memory,
            embed(encoder, [item["text"] for item in unseen], reads=reads),
        )
        print(f"-- left out: {args.holdout}")
        record["holdout"] = {"file": str(args.holdout), "figures": report(unseen, scores)}
        show(record["holdout"]["figures"])
    if args.probes.exists():
        probes = read(args.probes)
        scores = score_items(
            heads, memory, embed(encoder, [item["text"] for item in probes], reads=reads)
        )
        print(f"-- language probes: {args.probes}")
        record["probes"] = language_report(probes, scores)
        show_languages(record["probes"])
    if args.figures is not None:
        args.figures.parent.mkdir(parents=True, exist_ok=True)
        args.figures.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    if args.holdout is not None and args.out is None:
        return  # a left-out head is written only where asked, never into the package
    head = {
        "format": HEAD_FORMAT,
        "model": model_name,
        "max_tokens": MAX_TOKENS,
        "reads": reads,
        "categories": heads,
        "neighbours": {"k": NEIGHBOURS, "file": MEMORY_FILE},
        "info": {
            "trained_by": "eval/semantic/train.py",
            "head": args.head,
            "sources": [str(s.relative_to(ROOT.parent)) for s in sources],
            "items": len(items),
            "settings": settings._asdict(),
            "calibration": figures,
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(head, separators=(",", ":")) + "\n", encoding="utf-8")
    np.savez(
        out.parent / MEMORY_FILE,
        vectors=memory.vectors.astype(np.float16),
        labels=memory.labels,
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
