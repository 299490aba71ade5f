"""Measure a static-embedding (model2vec-style) encoder against the transformer.

A static encoder looks each token up in a table and averages: no attention,
so it costs microseconds instead of milliseconds. The table is distilled from
the same ONNX model, as model2vec does: each vocabulary token is run alone
(``[CLS] token [SEP]``) and its output vector kept; rarer tokens (higher ids in
a WordPiece vocabulary, roughly) are weighted up, as model2vec's Zipf
weighting does. The head is trained and calibrated exactly as ``train.py``
does, and scored on a left-out validation half, beside the transformer::

    .venv/bin/python eval/semantic/static_trial.py MODEL_DIR --holdout build/heldout/val.jsonl

It prints both encoders' figures and their median time per message.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import train
from tokenizers import Tokenizer

from convguard.detectors import normalize
from convguard.detectors.semantic import SentenceEncoder

BATCH = 512
SPECIAL = 103  # WordPiece ids below this are [PAD], [unused..], [UNK], [CLS], [SEP], [MASK]


class StaticEncoder:
    """Average distilled token vectors; the interface train.py's ``embed`` needs."""

    def __init__(self, model_dir: Path) -> None:
        """Distil the table from the ONNX model in *model_dir* (cached under build/)."""
        self.directory = model_dir / "static"
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(train.MAX_TOKENS)
        cache = train.CACHE / "static-table.npy"
        if cache.exists():
            self.table = np.load(cache)
        else:
            self.table = self._distil(model_dir)
            train.CACHE.mkdir(parents=True, exist_ok=True)
            np.save(cache, self.table)
        size = len(self.table)
        # Zipf-style: a token's weight grows with the log of its rank (its id here).
        self.weights = np.log1p(np.arange(size, dtype=np.float32)) / np.log1p(size)

    def _distil(self, model_dir: Path) -> npt.NDArray[np.float32]:
        session = ort.InferenceSession(
            str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        cls_id, sep_id = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        size = self.tokenizer.get_vocab_size()
        rows = []
        for start in range(0, size, BATCH):
            ids = np.arange(start, min(start + BATCH, size), dtype=np.int64)
            batch = np.stack([np.full_like(ids, cls_id), ids, np.full_like(ids, sep_id)], axis=1)
            output = session.run(
                None,
                {
                    "input_ids": batch,
                    "attention_mask": np.ones_like(batch),
                    "token_type_ids": np.zeros_like(batch),
                },
            )[0]
            rows.append(output[:, 1, :])
        return np.concatenate(rows).astype(np.float32)

    def vector(self, text: str) -> npt.NDArray[np.float32]:
        """Return one text's unit vector."""
        ids = [i for i in self.tokenizer.encode(text).ids if i >= SPECIAL]
        if not ids:
            return np.zeros(self.table.shape[1], np.float32)
        vector = (self.table[ids] * self.weights[ids, None]).mean(axis=0)
        return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return the unit vectors of *texts*, one row each."""
        return np.stack([self.vector(text) for text in texts])


def median_ms(encode: object, texts: Sequence[str]) -> float:
    """Return the median time of one ``encode(text)`` call, in milliseconds."""
    times = []
    for text in texts:
        start = time.perf_counter()
        encode(text)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main(argv: Sequence[str] | None = None) -> None:
    """Train both heads, score the left-out half, time both encoders."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="the ONNX model directory")
    parser.add_argument("--holdout", type=Path, required=True, help="a validation half to score")
    args = parser.parse_args(argv)
    sources = [s for s in train.SOURCES if s.resolve() != args.holdout.resolve()]
    items = [item for source in sources for item in train.read(source)]
    unseen = train.read(args.holdout)
    sample = [normalize(item["text"]).text for item in unseen[:300]]
    encoders = {
        "transformer": SentenceEncoder(args.model, max_tokens=train.MAX_TOKENS),
        "static": StaticEncoder(args.model),
    }
    for name, encoder in encoders.items():
        vectors = train.embed(encoder, [item["text"] for item in items])  # type: ignore[arg-type]
        heads, memory, _ = train.train(
            items,
            vectors,
            train.Settings(precision=0.005, support_precision=0.005, calibrate="split"),
        )
        scores = train.score_items(
            heads,
            memory,
            train.embed(encoder, [item["text"] for item in unseen]),  # type: ignore[arg-type]
        )
        print(f"== {name}: {median_ms(encoder.vector, sample):.3f} ms a message (median)")
        for figure, value in train.report(unseen, scores).items():
            shown = " / ".join(f"{v:.3f}" for v in value) if isinstance(value, tuple) else value
            print(f"{figure}: {shown}")


if __name__ == "__main__":
    main()
