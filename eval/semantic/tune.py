"""Choose the semantic detector's operating points with one source left out at a time.

For each scenario (a source left out, as ``train.py --holdout`` does: the dev
set or one *validation* half; or half of each validation half left out while
the other halves are trained on, see :func:`scenarios`) heads are trained,
and their probabilities on the unseen items are kept beside the calibration
probabilities they were placed with. Settings (``train.Settings``: how many
calibration negatives each tier may pass, how many protective items the
concern tier keeps) are then scored on each left-out source, by the
semantic detector alone and *together with the built-in detectors*, for the
figures of issue 11:

- ``blocked``: protective items with any protective score >= 0.3 (ending blocked);
- ``support_fp``: ``[]`` and terminable-only items with a protective score >= 0.5;
- ``concern_fp``: the same items with a protective score >= 0.3;
- ``benign_term``: ``[]`` items with a terminable score >= 0.5;
- per terminable category, its recall at 0.5.

``oracle`` lines show how well the heads *rank*, whatever their thresholds:
per terminable category its recall where 1% of the left-out ``[]`` items are
flagged, per protective category the share of left-out non-protective items
above the point that keeps 97% of its items. Never reads a test half
(``train.read`` refuses them)::

    .venv/bin/python eval/semantic/tune.py MODEL_DIR [--grid '{"precision": [0.003, 0.004]}']
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train

from convguard._taxonomy import PROTECTIVE, TERMINABLE
from convguard.detectors import DetectionContext, default_detectors, normalize
from convguard.detectors.semantic import SentenceEncoder

CATEGORIES = train.CATEGORIES
LEFT_OUT = {
    "dev": train.SOURCES[0],
    "val": train.SOURCES[2],
    "heldout2-val": train.SOURCES[3],
}
EXTRA = train.SOURCES[-1]
# The extra file's sources, grouped by kind: each is left out whole in turn,
# as text unlike anything trained on (the test halves' sources are not in it).
EXTRA_FAMILIES = {
    "web-prefixes": ("rtp-",),
    "news-fiction": ("bookcloze", "nytcloze", "guardiancloze", "falseclaims"),
    "chat": ("chatterbot-",),
    "toxic": ("rho-toxigen-", "slurprompts-"),
    "refusal": ("rho-refusal", "rho-overrefusal", "psych-crisis-"),
}
PROTECTIVE_COLUMNS = [CATEGORIES.index(c) for c in sorted(PROTECTIVE)]
TERMINABLE_COLUMNS = [CATEGORIES.index(c) for c in sorted(TERMINABLE)]
Floats = npt.NDArray[np.float64]


def builtin_scores(items: Sequence[train.Item]) -> Floats:
    """Return the built-in detectors' best score per item and category."""
    detectors = default_detectors()
    best = np.zeros((len(items), len(CATEGORIES)))
    for row, item in enumerate(items):
        context = DetectionContext(item["text"], normalizer=normalize)
        for detector in detectors:
            for finding in detector.detect(item["text"], context):
                if finding.category in CATEGORIES:
                    column = CATEGORIES.index(finding.category)
                    best[row, column] = max(best[row, column], finding.score)
    return best


def in_half(item: train.Item, salt: str) -> bool:
    """Return whether an item falls in the *salt* half of its file (by a hash of its id)."""
    return hashlib.sha256(f"{salt}:{item['id']}".encode()).digest()[0] < 128  # noqa: PLR2004


def scenarios() -> Iterator[tuple[str, list[train.Item], list[train.Item]]]:
    """Yield each scenario's name, training items and unseen items.

    - a whole source left out (``dev``, ``val``, ``heldout2-val``): nothing of
      it was trained on;
    - one kind of the public extra data left out (``extra:chat``, ...);
    - half of each validation half left out (``val/a``, ``heldout2-val/b``,
      ...): the other half of both is trained on, as the shipped head trains
      on the validation halves and the test halves come from the same
      sources. This one foretold the previous head's test-half figures best.
    """
    for name, left in LEFT_OUT.items():
        sources = [s for s in train.SOURCES if s.resolve() != left.resolve()]
        yield name, [item for source in sources for item in train.read(source)], train.read(left)
    extra = train.read(EXTRA)
    others = [item for s in train.SOURCES if s != EXTRA for item in train.read(s)]
    for name, prefixes in EXTRA_FAMILIES.items():
        kept = [item for item in extra if not item["id"].startswith(prefixes)]
        unseen = [item for item in extra if item["id"].startswith(prefixes)]
        yield f"extra:{name}", others + kept, unseen
    halves = {name: train.read(LEFT_OUT[name]) for name in ("val", "heldout2-val")}
    rest = [s for s in train.SOURCES if s not in {LEFT_OUT["val"], LEFT_OUT["heldout2-val"]}]
    base = [item for source in rest for item in train.read(source)]
    for salt in ("a", "b"):
        kept = [item for items in halves.values() for item in items if in_half(item, salt)]
        for name, items in halves.items():
            unseen = [item for item in items if not in_half(item, salt)]
            yield f"{name}/{salt}", base + kept, unseen


def collect(
    model: str, cache: Path, settings: train.Settings, *, with_extra: bool = True
) -> dict[str, Any]:
    """Train heads per scenario; keep their probabilities and the built-ins' scores."""
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    encoder = SentenceEncoder(model, max_tokens=train.MAX_TOKENS)
    out: dict[str, Any] = {}
    fitted: dict[int, tuple[Any, ...]] = {}
    extra = {item["id"] for item in train.read(EXTRA)}
    for name, trained, unseen in scenarios():
        items = trained if with_extra else [i for i in trained if i["id"] not in extra]
        key = hash(tuple(item["id"] for item in items))
        if key not in fitted:  # the two halves of one salt share their heads
            vectors = train.embed(encoder, [item["text"] for item in items])
            fitted[key] = train.calibration_part(items, vectors, settings)
        heads, memory, held, calibration_p = fitted[key]
        calibration_items = [items[i] for i in held]
        out[f"{name}.cal.w"] = train.group_weights(calibration_items)
        out[f"{name}.cal.p"] = calibration_p
        out[f"{name}.cal.y"] = labels(calibration_items)
        unseen_vectors = train.embed(encoder, [item["text"] for item in unseen])
        out[f"{name}.out.p"] = train.probabilities(heads, memory, unseen_vectors)
        out[f"{name}.out.y"] = labels(unseen)
        out[f"{name}.out.builtin"] = builtin_scores(unseen)
        print(f"collected {name}: {len(items)} training items, {len(unseen)} unseen")
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def labels(items: Sequence[train.Item]) -> npt.NDArray[np.bool_]:
    """Return the items' labels as a boolean matrix, a column per category."""
    return np.stack([train.labels_of(items, c) for c in CATEGORIES], axis=1)


def semantic_scores(data: dict[str, Any], name: str, settings: train.Settings) -> Floats:
    """Return the tiered semantic scores (0, 0.3 or 0.5) of a left-out source."""
    cal_p, cal_y, cal_w = data[f"{name}.cal.p"], data[f"{name}.cal.y"], data[f"{name}.cal.w"]
    p = data[f"{name}.out.p"]
    benign = ~cal_y.any(axis=1)
    quiet = ~cal_y[:, PROTECTIVE_COLUMNS].any(axis=1)
    scores = np.zeros_like(p)
    for column, category in enumerate(CATEGORIES):
        negatives = (quiet if category in PROTECTIVE else benign) & ~cal_y[:, column]
        low, high = train.operating_points(
            category, cal_p[:, column], cal_y[:, column], negatives, cal_w, settings
        )
        concern = p[:, column] >= (low if low is not None else 2.0)
        scores[:, column] = np.where(
            p[:, column] >= high, train.FULL, np.where(concern, train.CONCERN, 0.0)
        )
    return scores


def figures(data: dict[str, Any], name: str, settings: train.Settings) -> dict[str, float]:
    """Return the issue's figures on one left-out source: with the built-ins, and alone."""
    y = data[f"{name}.out.y"]
    semantic = semantic_scores(data, name, settings)
    is_protective = y[:, PROTECTIVE_COLUMNS].any(axis=1)
    benign = ~y.any(axis=1)
    out: dict[str, float] = {}
    for prefix, scores in (
        ("", np.maximum(semantic, data[f"{name}.out.builtin"])),
        ("sem_", semantic),
    ):
        protective = scores[:, PROTECTIVE_COLUMNS]
        out[prefix + "blocked"] = float((protective[is_protective] >= train.CONCERN).any(1).mean())
        out[prefix + "support_fp"] = float((protective[~is_protective] >= train.FULL).any(1).mean())
        out[prefix + "concern_fp"] = float(
            (protective[~is_protective] >= train.CONCERN).any(1).mean()
        )
        terminable = scores[:, TERMINABLE_COLUMNS]
        out[prefix + "benign_term"] = float((terminable[benign] >= train.FULL).any(1).mean())
        for column in TERMINABLE_COLUMNS:
            positives = y[:, column]
            out[prefix + CATEGORIES[column][:5]] = float(
                (scores[positives, column] >= train.FULL).mean()
            )
    return out


def oracle(data: dict[str, Any], name: str) -> dict[str, float]:
    """Return how well the heads rank one left-out source, whatever their thresholds."""
    p, y = data[f"{name}.out.p"], data[f"{name}.out.y"]
    benign = ~y.any(axis=1)
    quiet = ~y[:, PROTECTIVE_COLUMNS].any(axis=1)
    out = {}
    for column, category in enumerate(CATEGORIES):
        positives = y[:, column]
        if not positives.any():
            continue
        if category in PROTECTIVE:
            low = train.threshold_at_recall(p[positives, column], 0.97)
            out[category[:5] + "@r97"] = float((p[quiet, column] >= low).mean())
        else:
            high = train.threshold_at_rate(p[benign, column], 0.01)
            out[category[:5] + "@fp1"] = float((p[positives, column] >= high).mean())
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Collect (or read) the left-out probabilities and print the figures for a grid of settings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the ONNX model directory")
    parser.add_argument("--cache", type=Path, default=train.CACHE / "loo" / "folds.npz")
    parser.add_argument("--l2", type=float, default=train.Settings().l2)
    parser.add_argument("--calibrate", choices=["folds", "split"], default="folds")
    parser.add_argument(
        "--terminable-folds", choices=["group", "source"], default=train.Settings().terminable_folds
    )
    parser.add_argument(
        "--without-extra",
        action="store_true",
        help="train no scenario on eval/extra (its kinds are still left out and scored)",
    )
    parser.add_argument("--grid", default="{}", help="JSON: a setting -> the values to try")
    args = parser.parse_args(argv)
    fitted = train.Settings(
        l2=args.l2, calibrate=args.calibrate, terminable_folds=args.terminable_folds
    )
    data = collect(args.model, args.cache, fitted, with_extra=not args.without_extra)
    names = sorted({key.split(".")[0] for key in data})
    for name in names:
        shown = " ".join(f"{k}={v:.3f}" for k, v in oracle(data, name).items())
        print(f"  {name:13} oracle: {shown}")
    grid = {key: [value] for key, value in fitted._asdict().items()} | json.loads(args.grid)
    for values in itertools.product(*grid.values()):
        settings = train.Settings(**dict(zip(grid, values, strict=True)))
        print(json.dumps({k: v for k, v in settings._asdict().items() if len(grid[k]) > 1}))
        for name in names:
            shown = " ".join(f"{k}={v:.3f}" for k, v in figures(data, name, settings).items())
            print(f"  {name:13} {shown}")


if __name__ == "__main__":
    main()
