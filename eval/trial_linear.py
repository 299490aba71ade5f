"""Would a fast learned model carry over where the lexicons do not? A trial.

Trains a linear model per category on the tuned sets and scores it on a
source it was not trained on, in both directions:

- trained on dev, probes and the first held-out set's validation half,
  scored on the second set's validation half;
- trained on dev, probes and the second validation half, scored on the first.

Two feature sets, both read from convguard's normalized text: words (one
and two word n-grams, present or not) and characters (3 to 5 letter
n-grams, tf-idf). For each category it prints recall at the thresholds that
flag 0.5%, 1% and 2% of the scored set's own ``[]`` items: thresholds picked
on the answers, so the best such a model could do there. Neither test half is
read.

It needs scikit-learn, which convguard does not depend on::

    .venv/bin/python -m pip install scikit-learn
    .venv/bin/python eval/trial_linear.py
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize as unit_rows
from split_heldout import half

from convguard._eval import EVAL_CATEGORIES
from convguard.detectors import normalize

HERE = Path(__file__).resolve().parent
DEV = HERE.parent.parent / "shared" / "eval" / "dev.jsonl"
FALSE_POSITIVE_RATES = (0.005, 0.01, 0.02)

Item = dict[str, Any]


def read(path: Path) -> list[Item]:
    """Return the items of a JSON Lines file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def validation_half(path: Path) -> list[Item]:
    """Return the items of a held-out file's validation half only."""
    return [item for item in read(path) if half(item["id"]) == "val"]


def words(text: str) -> list[str]:
    """Return the words and word pairs of a text's normalized view."""
    tokens = "".join(c if c.isalnum() else " " for c in normalize(text).text).split()
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def word_features(train: Sequence[str], scored: Sequence[str]) -> tuple[Any, Any]:
    """Return unit-length rows of word n-gram presence."""
    vectorizer = CountVectorizer(analyzer=words, binary=True)
    fitted = vectorizer.fit_transform(train).astype(float)
    return unit_rows(fitted), unit_rows(vectorizer.transform(scored).astype(float))


def char_features(train: Sequence[str], scored: Sequence[str]) -> tuple[Any, Any]:
    """Return tf-idf rows of character n-grams of the normalized view."""
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2
    )
    views = [normalize(text).text for text in train]
    return vectorizer.fit_transform(views), vectorizer.transform(
        [normalize(text).text for text in scored]
    )


def trial(
    train: Sequence[Item],
    scored: Sequence[Item],
    features: Callable[[Sequence[str], Sequence[str]], tuple[Any, Any]],
    c: float,
) -> dict[str, tuple[int, list[float]]]:
    """Return, per category, the positives scored and recall at each false-positive rate."""
    x_train, x_scored = features([i["text"] for i in train], [i["text"] for i in scored])
    negative = np.array([not item["labels"] for item in scored])
    out: dict[str, tuple[int, list[float]]] = {}
    for category in EVAL_CATEGORIES:
        y = np.array([category in item["labels"] for item in train])
        positive = np.array([category in item["labels"] for item in scored])
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        score = model.fit(x_train, y).decision_function(x_scored)
        recalls = [
            float((score[positive] > np.quantile(score[negative], 1 - rate)).mean())
            for rate in FALSE_POSITIVE_RATES
        ]
        out[category] = (int(positive.sum()), recalls)
    return out


def main(argv: Sequence[str]) -> None:
    """Print the trial's table."""
    del argv
    if not DEV.exists():
        sys.exit(f"the dev set is not beside the repository: {DEV}")
    tuned = read(DEV) + read(HERE / "probes.jsonl")
    first = validation_half(HERE / "heldout.jsonl")
    second = validation_half(HERE / "heldout2.jsonl")
    rates = " / ".join(f"{rate:.1%}" for rate in FALSE_POSITIVE_RATES)
    print(f"recall at {rates} of the scored set's [] items flagged")
    for label, features, c in (("words", word_features, 3.0), ("chars", char_features, 10.0)):
        for name, train, scored in (
            ("val 2, trained without it", tuned + first, second),
            ("val, trained without it", tuned + second, first),
        ):
            print(f"\n{label} -> {name}")
            for category, (count, recalls) in trial(train, scored, features, c).items():
                shown = " / ".join(f"{r:.2f}" for r in recalls)
                print(f"  {category:22}{count:>4}  {shown}")


if __name__ == "__main__":
    main(sys.argv)
