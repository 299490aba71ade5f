"""The semantic detector, on tiny models these tests build themselves.

The model is a real ONNX graph (an embedding table looked up per token,
masked) with a real ``tokenizers`` word-level tokenizer, written to a
temporary directory, so the loading code runs as it does for a real model
and no download is needed. Its four dimensions stand for four words:
``myself`` (self-harm), ``idiot`` (abuse), ``bomb`` (mass violence) and
``hello`` (nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

import convguard as cg
from convguard.detectors import DetectionContext, LexiconDetector
from convguard.detectors import semantic as sem
from convguard.detectors._semantic_head import HEAD_FORMAT
from convguard.detectors._semantic_unigram import UnigramTokenizer
from convguard.detectors.semantic import (
    PACKAGED_HEADS,
    SemanticDetector,
    SemanticHead,
    SentenceEncoder,
    default_stack,
    packaged_head,
)

VOCAB = {"[UNK]": 0, "hello": 1, "myself": 2, "idiot": 3, "bomb": 4}
TABLE = np.array(
    [
        [0.0, 0.0, 0.0, 1.0],  # [UNK] reads as nothing
        [0.0, 0.0, 0.0, 1.0],  # hello
        [1.0, 0.0, 0.0, 0.0],  # myself
        [0.0, 1.0, 0.0, 0.0],  # idiot
        [0.0, 0.0, 1.0, 0.0],  # bomb
    ],
    dtype=np.float32,
)
# Probability 0.2 scores 0.3 (a concern), 0.8 scores 0.5 (a full finding).
CURVE = [[0.0, 0.0], [0.2, 0.3], [0.8, 0.5], [1.0, 1.0]]


def write_model(directory: Path, *, pooled: bool = False, width: int = 4) -> Path:
    """Write model.onnx and tokenizer.json for the tiny model into *directory*."""
    directory.mkdir(parents=True, exist_ok=True)
    table = TABLE if width == 4 else np.ones((len(VOCAB), width), np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["vectors"]),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "last_axis"], ["mask3"]),
        helper.make_node("Mul", ["vectors", "mask3"], ["tokens" if pooled else "out"]),
    ]
    if pooled:
        nodes.append(helper.make_node("ReduceMean", ["tokens", "token_axis"], ["out"], keepdims=0))
    shape: list[str | int] = ["batch", width] if pooled else ["batch", "tokens", width]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)],
        [
            helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten().tolist()),
            helper.make_tensor("last_axis", TensorProto.INT64, [1], [2]),
            *([helper.make_tensor("token_axis", TensorProto.INT64, [1], [1])] if pooled else []),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, directory / "model.onnx")
    tokenizer = Tokenizer(models.WordLevel(VOCAB, unk_token="[UNK]"))  # noqa: S106 - not a password
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(directory / "tokenizer.json"))
    return directory


def head_dict(model: str = "acme/tiny", **overrides: Any) -> dict[str, Any]:
    """Return a head for the tiny model in its JSON form."""
    data: dict[str, Any] = {
        "format": HEAD_FORMAT,
        "model": model,
        "max_tokens": 16,
        "categories": {
            "self_harm_risk": {"weights": [12, 0, 0, -6], "bias": -2, "calibration": CURVE},
            "abuse": {"weights": [0, 12, 0, -6], "bias": -2, "calibration": CURVE},
            "mass_violence": {"weights": [0, 0, 12, -6], "bias": -2, "calibration": CURVE},
        },
    }
    data.update(overrides)
    return data


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model, written once for the module."""
    return write_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def head() -> SemanticHead:
    """The tiny model's head."""
    return SemanticHead.from_dict(head_dict())


@pytest.fixture(scope="module")
def detector(model_dir: Path, head: SemanticHead) -> SemanticDetector:
    """A detector over the tiny model."""
    return SemanticDetector(model_dir, head=head)


def detect(detector: SemanticDetector, text: str) -> dict[str, float]:
    """Return the categories *detector* finds in *text*, with their scores."""
    return {f.category: f.score for f in detector.detect(text, DetectionContext(text))}


class TestDetect:
    def test_finds_the_category_the_message_reads_as(self, detector: SemanticDetector) -> None:
        """A message close to a category's direction is a full finding of that category."""
        assert detect(detector, "myself") == {"self_harm_risk": pytest.approx(0.9999, abs=1e-4)}
        assert set(detect(detector, "idiot")) == {"abuse"}
        assert set(detect(detector, "bomb bomb")) == {"mass_violence"}

    def test_benign_message_has_no_findings(self, detector: SemanticDetector) -> None:
        """A message far from every category gets nothing."""
        assert detect(detector, "hello hello") == {}
        assert detect(detector, "   ") == {}

    def test_a_weak_signal_is_a_concern(self, detector: SemanticDetector) -> None:
        """A message partway to self-harm scores in the concern tier, between 0.3 and 0.5."""
        score = detect(detector, "myself myself hello hello hello")["self_harm_risk"]
        assert 0.3 <= score < 0.5

    def test_reads_the_normalized_view(self, detector: SemanticDetector) -> None:
        """Obfuscated words are read after de-obfuscation, as the lexicons read them."""
        assert set(detect(detector, "MYS3LF")) == {"self_harm_risk"}

    def test_a_head_that_reads_the_original_text(self, model_dir: Path) -> None:
        """A head made to read the text as written sees no de-obfuscation."""
        original = SemanticDetector(
            model_dir, head=SemanticHead.from_dict(head_dict(reads="original"))
        )
        assert original.head.reads == "original"
        assert detect(original, "MYS3LF") == {}
        assert set(detect(original, "myself")) == {"self_harm_risk"}

    def test_findings_strongest_first_and_named(self, detector: SemanticDetector) -> None:
        """Findings come strongest first and carry the detector's name."""
        findings = detector.detect("myself idiot idiot", DetectionContext("myself idiot idiot"))
        assert [f.category for f in findings] == ["abuse", "self_harm_risk"]
        assert {f.detector for f in findings} == {"semantic"}

    def test_min_score_leaves_out_weaker_findings(
        self, model_dir: Path, head: SemanticHead
    ) -> None:
        """Raising min_score to 0.5 leaves concerns out."""
        strict = SemanticDetector(model_dir, head=head, min_score=0.5, name="strict")
        assert detect(strict, "myself myself hello hello hello") == {}
        assert strict.min_score == 0.5
        assert strict.name == "strict"

    def test_truncates_to_max_tokens(self, model_dir: Path) -> None:
        """Words past the head's max_tokens are not read."""
        short = SemanticDetector(model_dir, head=SemanticHead.from_dict(head_dict(max_tokens=2)))
        assert detect(short, "hello hello myself myself myself") == {}

    def test_scores_every_category(self, detector: SemanticDetector) -> None:
        """scores() gives each of the head's categories a score in 0..1."""
        scores = detector.scores("hello")
        assert set(scores) == {"self_harm_risk", "abuse", "mass_violence"}
        assert all(0.0 <= s < 0.3 for s in scores.values())

    def test_in_a_guard_a_full_finding_gets_support(self, detector: SemanticDetector) -> None:
        """In a Guard, a full self-harm finding gets SUPPORT; a benign turn is allowed."""
        conv = cg.Guard(detectors=[detector]).start()
        assert conv.send("myself").action is cg.Action.SUPPORT
        assert conv.send("hello").action is cg.Action.ALLOW

    def test_in_a_guard_a_concern_blocks_ending_silently(self, detector: SemanticDetector) -> None:
        """A concern leaves the turn ALLOW, and later abuse is redirected but never ended."""
        guard = cg.Guard(detectors=[detector])
        at_risk = guard.start()
        assert at_risk.send("myself myself hello hello hello").action is cg.Action.ALLOW
        assert {at_risk.send("idiot").action for _ in range(5)} == {cg.Action.REDIRECT}
        abusive = guard.start()
        assert [abusive.send("idiot").action for _ in range(4)][-1] is cg.Action.END

    def test_repr(self, detector: SemanticDetector, model_dir: Path) -> None:
        """The repr names the detector, the model directory and the categories."""
        assert repr(detector) == (
            f"SemanticDetector('semantic', model={str(model_dir)!r}, "
            "categories=['abuse', 'mass_violence', 'self_harm_risk'])"
        )
        assert repr(detector.encoder) == f"SentenceEncoder({str(model_dir)!r})"
        assert detector.head.model == "acme/tiny"


class TestEncoder:
    def test_vectors_are_unit_length_means(self, model_dir: Path) -> None:
        """A text's vector is the mean of its tokens' vectors, scaled to length 1."""
        vectors = SentenceEncoder(model_dir).embed(["myself hello", "bomb"])
        assert vectors.shape == (2, 4)
        np.testing.assert_allclose(vectors[0], [0.7071068, 0, 0, 0.7071068], rtol=1e-6)
        np.testing.assert_allclose(vectors[1], [0, 0, 1, 0])

    def test_an_already_pooled_output_is_used_as_is(self, tmp_path: Path) -> None:
        """A graph that gives one vector per text needs no pooling."""
        encoder = SentenceEncoder(write_model(tmp_path, pooled=True))
        np.testing.assert_allclose(encoder.embed(["myself hello"])[0], [0.7071068, 0, 0, 0.7071068])

    def test_no_texts_no_rows(self, model_dir: Path) -> None:
        """Embedding nothing gives an empty matrix of the right width."""
        assert SentenceEncoder(model_dir).embed([]).shape == (0, 4)

    @pytest.mark.parametrize(("option", "value"), [("max_tokens", 0), ("threads", True)])
    def test_bad_options(self, model_dir: Path, option: str, value: object) -> None:
        """A non-positive token limit or thread count is refused."""
        options: dict[str, Any] = {option: value}
        with pytest.raises(cg.ConfigurationError, match=option):
            SentenceEncoder(model_dir, **options)


class TestLoading:
    def test_model_from_a_hub_name_in_the_offline_cache(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head: SemanticHead
    ) -> None:
        """A hub name is found in the hub's cache with outgoing traffic off."""
        from huggingface_hub import constants

        revision = "0123456789abcdef0123456789abcdef01234567"
        repo = tmp_path / "hub" / "models--acme--tiny"
        write_model(repo / "snapshots" / revision / "onnx")
        (repo / "snapshots" / revision / "onnx" / "tokenizer.json").rename(
            repo / "snapshots" / revision / "tokenizer.json"
        )
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(revision)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        found = SemanticDetector(head=head)  # the head names acme/tiny
        assert found.encoder.directory == repo / "snapshots" / revision
        assert set(detect(found, "bomb")) == {"mass_violence"}

    def test_hub_name_not_cached_offline(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head: SemanticHead
    ) -> None:
        """A hub name that is not in the cache, offline, is a clear configuration error."""
        from huggingface_hub import constants

        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        with pytest.raises(cg.ConfigurationError, match=r"'acme/missing'.*local directory"):
            SemanticDetector("acme/missing", head=head)

    @pytest.mark.parametrize("path", ["./no/such/dir", "/no/such/dir", "no-such-dir"])
    def test_missing_directory(self, path: str, head: SemanticHead) -> None:
        """A path that is not a directory is named in the error."""
        with pytest.raises(cg.ConfigurationError, match="no model directory") as caught:
            SemanticDetector(path, head=head)
        assert path in str(caught.value)

    def test_directory_without_the_model_files(self, tmp_path: Path, head: SemanticHead) -> None:
        """A directory lacking model.onnx or tokenizer.json says what it needs."""
        with pytest.raises(cg.ConfigurationError, match=r"model\.onnx.*tokenizer\.json"):
            SemanticDetector(tmp_path, head=head)

    def test_unreadable_model(self, tmp_path: Path, head: SemanticHead) -> None:
        """A file that is not an ONNX graph is a configuration error, not ONNX's own."""
        write_model(tmp_path)
        (tmp_path / "model.onnx").write_bytes(b"not a graph")
        with pytest.raises(cg.ConfigurationError, match="cannot load the model"):
            SemanticDetector(tmp_path, head=head)

    def test_model_that_does_not_fit_the_head(self, tmp_path: Path, head: SemanticHead) -> None:
        """A model whose vectors are not the head's width is refused."""
        with pytest.raises(cg.ConfigurationError, match=r"8-dimensional.*needs 4"):
            SemanticDetector(write_model(tmp_path, width=8), head=head)

    @pytest.mark.parametrize("module", ["onnxruntime", "tokenizers", "numpy"])
    def test_missing_extra_names_the_install(
        self, module: str, model_dir: Path, head: SemanticHead, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without the extra's packages the error says how to install them."""
        monkeypatch.setitem(sys.modules, module, None)
        with pytest.raises(cg.ConfigurationError, match=r"pip install 'convguard\[semantic\]'"):
            SemanticDetector(model_dir, head=head)

    def test_missing_hub_library_names_the_install(
        self, head: SemanticHead, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A hub name without huggingface_hub installed names the extra too."""
        monkeypatch.setitem(sys.modules, "huggingface_hub", None)
        with pytest.raises(cg.ConfigurationError, match=r"huggingface_hub.*convguard\[semantic\]"):
            SemanticDetector("acme/tiny", head=head)

    @pytest.mark.parametrize(
        ("option", "value"), [("name", ""), ("min_score", 1.5), ("min_score", True)]
    )
    def test_bad_options(
        self, option: str, value: object, model_dir: Path, head: SemanticHead
    ) -> None:
        """A bad name or min_score is refused before anything loads."""
        options: dict[str, Any] = {option: value}
        with pytest.raises(cg.ConfigurationError, match=option):
            SemanticDetector(model_dir, head=head, **options)

    def test_import_convguard_loads_none_of_the_extra(self) -> None:
        """import convguard (and its detectors) imports no model library."""
        code = (
            "import sys, convguard, convguard.detectors; "
            "print(sorted({'numpy', 'onnxruntime', 'tokenizers', 'huggingface_hub', 'torch'}"
            " & set(sys.modules)))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "[]"


class TestHead:
    def test_head_from_a_file(self, tmp_path: Path, model_dir: Path) -> None:
        """A head can be given as the path of its JSON file."""
        path = tmp_path / "head.json"
        path.write_text(json.dumps(head_dict()))
        assert set(detect(SemanticDetector(model_dir, head=path), "idiot")) == {"abuse"}

    def test_score_follows_the_calibration_curve(self, head: SemanticHead) -> None:
        """The knots map probability 0.2 to 0.3 and 0.8 to 0.5, linearly between."""
        category = head.categories[0]
        assert category.score(0.2) == pytest.approx(0.3)
        assert category.score(0.5) == pytest.approx(0.4)
        assert category.score(0.8) == pytest.approx(0.5)
        assert category.score(1.0) == pytest.approx(1.0)
        assert category.score(1.5) == 1.0  # past the last knot: its score
        assert category.probability(0.0) == 0.5
        assert category.probability(-800.0) == 0.0

    def test_repr_hides_the_weights(self, head: SemanticHead) -> None:
        """The repr of a category's head counts its weights instead of printing them."""
        assert "<4 weights>" in repr(head.categories[0])
        assert head.dimensions == 4

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"format": "other"}, "not a convguard semantic head"),
            ({"categories": {}}, "weights of one length"),
            ({"max_tokens": 0}, "max_tokens"),
            ({"reads": "folded"}, "reads one of"),
            ({"categories": {"abuse": {"weights": [1]}}}, "malformed.*bias"),
            ({"categories": {"abuse": {"weights": [1], "bias": 0, "calibration": 3}}}, "pairs"),
            (
                {"categories": {"abuse": {"weights": [1], "bias": 0, "calibration": [[0, 0]]}}},
                "from probability 0 to probability 1",
            ),
            (
                {
                    "categories": {
                        "abuse": {"weights": [1], "bias": 0, "calibration": [[0, 0.5], [1, 0.2]]}
                    }
                },
                "must rise",
            ),
        ],
    )
    def test_malformed_head(self, change: dict[str, Any], message: str) -> None:
        """A malformed head is refused with what is wrong."""
        with pytest.raises(cg.ConfigurationError, match=message):
            SemanticHead.from_dict(head_dict(**change))

    def test_unreadable_head_file(self, tmp_path: Path) -> None:
        """A head file that cannot be read or parsed is a configuration error."""
        (tmp_path / "bad.json").write_text("{")
        for path in (tmp_path / "bad.json", tmp_path / "missing.json"):
            with pytest.raises(cg.ConfigurationError, match="cannot read the semantic head"):
                SemanticHead.load(path)

    def test_packaged_head(self) -> None:
        """The packaged head scores the five acted-on categories for all-MiniLM-L6-v2."""
        head = packaged_head()
        assert head.model == "sentence-transformers/all-MiniLM-L6-v2"
        assert {c.category for c in head.categories} == {
            "mass_violence",
            "child_sexual_content",
            "abuse",
            "self_harm_risk",
            "harm_to_others_risk",
        }
        assert head.dimensions == 384
        assert head.neighbours is not None
        assert head.neighbours.vectors.shape[1] == 384
        for category in head.categories:
            knots = dict(category.calibration)
            assert knots[0.0] == 0.0
            assert knots[1.0] == 1.0
            assert 0.5 in knots.values()

    def test_packaged_protective_scores_reach_a_concern_before_support(self) -> None:
        """In the packaged head a protective score passes 0.3 (a concern) well before 0.5."""
        for category in packaged_head().categories:
            if category.category not in {"self_harm_risk", "harm_to_others_risk"}:
                continue
            by_score = {score: p for p, score in category.calibration}
            assert 0.3 in by_score
            assert by_score[0.3] < by_score[0.5]
            assert category.score(by_score[0.3]) == pytest.approx(0.3)
            assert category.score((by_score[0.3] + by_score[0.5]) / 2) < 0.5


def write_neighbours(directory: Path, **overrides: Any) -> Path:
    """Write a head whose only evidence is two labelled examples, and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {
        "vectors": np.array([[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]], np.float16),
        "labels": np.array([[True], [False], [False]]),
    }
    arrays.update(overrides)
    np.savez(directory / "near.npz", **arrays)
    flat = {"weights": [0, 0, 0, 0], "bias": -2, "calibration": CURVE, "neighbour_weight": 6}
    head = head_dict(categories={"mass_violence": flat}, neighbours={"k": 1, "file": "near.npz"})
    (directory / "head.json").write_text(json.dumps(head))
    return directory / "head.json"


class TestNeighbours:
    def test_closeness_to_labelled_examples_counts(self, model_dir: Path, tmp_path: Path) -> None:
        """With zero weights, being nearer a labelled example than the others is the finding."""
        near = SemanticDetector(model_dir, head=write_neighbours(tmp_path))
        assert set(detect(near, "bomb")) == {"mass_violence"}
        assert detect(near, "hello") == {}
        assert "<3 vectors>" in repr(near.head.neighbours)

    def test_the_same_head_without_neighbours_finds_nothing(self, model_dir: Path) -> None:
        """The linear part alone (zero weights) scores below the concern tier."""
        flat = {"weights": [0, 0, 0, 0], "bias": -2, "calibration": CURVE, "neighbour_weight": 6}
        head = SemanticHead.from_dict(head_dict(categories={"mass_violence": flat}))
        assert detect(SemanticDetector(model_dir, head=head), "bomb") == {}

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"labels": np.array([[True, False], [False, True], [True, True]])}, "do not fit"),
            ({"vectors": np.zeros((3, 3), np.float16)}, "differ in width"),
            ({"vectors": np.zeros(3, np.float16)}, "do not fit the head"),
        ],
    )
    def test_neighbours_that_do_not_fit(
        self, tmp_path: Path, overrides: dict[str, Any], message: str
    ) -> None:
        """Neighbours of the wrong shape are refused."""
        with pytest.raises(cg.ConfigurationError, match=message):
            SemanticHead.load(write_neighbours(tmp_path, **overrides))

    def test_unreadable_neighbours(self, tmp_path: Path) -> None:
        """A neighbours file that is missing or not an npz file is a configuration error."""
        path = write_neighbours(tmp_path)
        (tmp_path / "near.npz").write_bytes(b"not numpy")
        with pytest.raises(cg.ConfigurationError, match="cannot read the head's neighbours"):
            SemanticHead.load(path)
        (tmp_path / "near.npz").unlink()
        with pytest.raises(cg.ConfigurationError, match="cannot read the head's neighbours"):
            SemanticHead.load(path)

    def test_neighbours_need_a_directory(self) -> None:
        """A head dict naming a neighbours file cannot be read without its directory."""
        data = head_dict(neighbours={"k": 1, "file": "near.npz"})
        with pytest.raises(cg.ConfigurationError, match="head's directory"):
            SemanticHead.from_dict(data)


class TestDefaultStack:
    @pytest.fixture
    def packaged_shape(self, monkeypatch: pytest.MonkeyPatch, head: SemanticHead) -> None:
        """Make the packaged head the tiny one, so the tiny model fits it."""
        monkeypatch.setattr(sem, "packaged_head", lambda: head)

    @pytest.mark.usefixtures("packaged_shape")
    def test_built_ins_plus_semantic_from_the_environment(
        self, model_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """default_stack() is the built-in set plus a semantic detector on the env var's model."""
        monkeypatch.setenv(sem.ENV_VAR, str(model_dir))
        stack = default_stack()
        assert isinstance(stack[0], LexiconDetector)
        assert isinstance(stack[-1], SemanticDetector)
        assert stack[-1].encoder.directory == model_dir

    @pytest.mark.usefixtures("packaged_shape")
    def test_cli_eval_runs_the_stack(
        self,
        model_dir: Path,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """convguard eval scores built-ins plus semantic through --detectors module:callable."""
        from convguard._cli import main

        items = tmp_path / "items.jsonl"
        rows = [("hello", []), ("myself", ["self_harm_risk"]), ("bomb bomb", ["mass_violence"])]
        items.write_text(
            "\n".join(
                json.dumps({"id": f"i{n}", "text": text, "labels": labels})
                for n, (text, labels) in enumerate(rows)
            )
        )
        monkeypatch.setenv(sem.ENV_VAR, str(model_dir))
        spec = "convguard.detectors.semantic:default_stack"
        assert main(["eval", str(items), "--detectors", spec, "--summary", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["categories"]["self_harm_risk"]["recall"] == 1.0
        assert report["categories"]["mass_violence"]["recall"] == 1.0


def write_ids_only_model(directory: Path) -> Path:
    """Write a model shaped like the multilingual export: input_ids only, one vector per text.

    Its tokenizer is a SentencePiece-style Unigram model that marks word
    starts with ``▁`` and wraps the pieces in ``<s> … </s>``, as the
    multilingual encoder's tokenizer does; ``<s>`` and ``</s>`` read as
    nothing, so a text's vector comes from its words.
    """
    directory.mkdir(parents=True, exist_ok=True)
    pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0), ("▁hallo", -1.0), ("▁bombe", -1.0)]
    table = np.array(
        [[0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], np.float32
    )
    nodes = [
        helper.make_node("Squeeze", ["input_ids", "axis0"], ["ids"]),
        helper.make_node("Gather", ["table", "ids"], ["vectors"]),
        helper.make_node("ReduceSum", ["vectors", "axis0"], ["sentence_embedding"], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes,
        "ids-only",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "tokens"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, [1, 4])],
        [
            helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten().tolist()),
            helper.make_tensor("axis0", TensorProto.INT64, [1], [0]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, directory / "model.onnx")
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=0, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)]
    )
    tokenizer.save(str(directory / "tokenizer.json"))
    return directory


class TestModelChoice:
    def test_packaged_heads_by_name(self) -> None:
        """Both packaged heads load by name, each naming the model it was trained for."""
        assert set(PACKAGED_HEADS) == {"english", "multilingual"}
        assert packaged_head("english") == packaged_head()
        multilingual = packaged_head("multilingual")
        assert multilingual.model == "universal-sentence-encoder-multilingual-3"
        assert multilingual.dimensions == 512
        assert {c.category for c in multilingual.categories} == {
            c.category for c in packaged_head().categories
        }
        assert multilingual.neighbours is not None
        assert multilingual.neighbours.vectors.shape[1] == 512

    @pytest.mark.parametrize("name", ["german", "", "English"])
    def test_unknown_packaged_head(self, name: str) -> None:
        """A name that is not a packaged head is refused with the choices."""
        with pytest.raises(cg.ConfigurationError, match=r"no packaged semantic head.*multilingual"):
            packaged_head(name)

    def test_head_chosen_by_name(self, tmp_path: Path) -> None:
        """head="multilingual" takes the packaged multilingual head (for a 512-wide model)."""
        detector = SemanticDetector(write_model(tmp_path, width=512), head="multilingual")
        assert detector.head == packaged_head("multilingual")
        assert set(detector.scores("hello")) == {c.category for c in detector.head.categories}

    def test_head_name_does_not_fit_a_narrower_model(self, model_dir: Path) -> None:
        """The multilingual head on a model of another width is refused, naming its model."""
        with pytest.raises(cg.ConfigurationError, match=r"needs 512.*universal-sentence-encoder"):
            SemanticDetector(model_dir, head="multilingual")

    def test_model_on_no_hub_needs_a_directory(self) -> None:
        """Leaving the model out of a head whose model is on no hub says what to give."""
        with pytest.raises(cg.ConfigurationError, match=r"on no model hub.*export_use_onnx"):
            SemanticDetector(head="multilingual")

    def test_an_ids_only_model_with_a_sentencepiece_tokenizer(self, tmp_path: Path) -> None:
        """A graph reading input_ids alone, giving one vector per text, is scored as any other."""
        directory = write_ids_only_model(tmp_path)
        encoder = SentenceEncoder(directory)
        np.testing.assert_allclose(encoder.vector("hallo bombe"), [0, 0, 0.7071068, 0.7071068])
        detector = SemanticDetector(directory, head=SemanticHead.from_dict(head_dict()))
        assert set(detect(detector, "bombe bombe")) == {"mass_violence"}
        assert detect(detector, "hallo") == {}

    def test_default_stack_reads_the_head_from_the_environment(
        self, tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """CONVGUARD_SEMANTIC_HEAD picks the head: a packaged name or a head file."""
        head_file = tmp_path / "head.json"
        head_file.write_text(json.dumps(head_dict(model="acme/other")))
        monkeypatch.setenv(sem.ENV_VAR, str(model_dir))
        monkeypatch.setenv(sem.HEAD_ENV_VAR, str(head_file))
        stack = default_stack()
        assert isinstance(stack[-1], SemanticDetector)
        assert stack[-1].head.model == "acme/other"
        monkeypatch.setenv(sem.ENV_VAR, str(write_model(tmp_path / "wide", width=512)))
        monkeypatch.setenv(sem.HEAD_ENV_VAR, "multilingual")
        chosen = default_stack()[-1]
        assert isinstance(chosen, SemanticDetector)
        assert chosen.head.model == "universal-sentence-encoder-multilingual-3"


UNIGRAM_PIECES = [
    ("<unk>", 0.0),
    ("<s>", 0.0),
    ("</s>", 0.0),
    ("▁", -2.0),
    ("▁h", -3.0),
    ("a", -3.0),
    ("l", -3.0),
    ("o", -3.0),
    ("▁hallo", -4.0),
    ("▁hall", -2.5),
    ("lo", -2.0),
    ("b", -3.5),
    ("▁bo", -3.0),
    ("m", -3.2),
    ("be", -2.8),
    ("e", -3.1),
    ('"quoted"', -5.0),
    ("ß", -4.0),
    ("▁ß", -4.5),
    ("lo", -2.2),  # a repeated piece: its last id and score count, as in tokenizers
]


def unigram_tokenizer(**changes: Any) -> Tokenizer:
    """Return a SentencePiece-style Unigram tokenizer, as the multilingual export writes one."""
    tokenizer = Tokenizer(
        models.Unigram(UNIGRAM_PIECES, unk_id=0, byte_fallback=changes.get("byte_fallback", False))
    )
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " "), normalizers.Strip()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = changes.get(
        "post_processor",
        processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)]
        ),
    )
    return tokenizer


UNIGRAM_TEXTS = [
    "hallo",
    "hallo bombe",
    "  hallo   hallo  ",
    "hxyz hallo",  # unknown characters in a row fuse into one <unk>
    "\uff48\uff41\uff4c\uff4c\uff4f",  # fullwidth letters: NFKC first
    'say "quoted" ß ẞ',
    "日本 hallo 😀",
    "",
    "   ",
    "lo lo lo " * 40,  # cut to max_tokens
]


class TestUnigramTokenizer:
    @pytest.mark.parametrize("text", UNIGRAM_TEXTS)
    def test_same_ids_as_tokenizers(self, text: str) -> None:
        """The lean reader gives tokenizers' ids, truncation and fused unknowns included."""
        import tokenizers

        reference = unigram_tokenizer()
        reference.no_padding()
        reference.enable_truncation(16)
        lean = UnigramTokenizer.read(reference.to_str().encode(), tokenizers, max_tokens=16)
        assert lean is not None
        assert lean.encode(text) == reference.encode(text).ids

    def test_a_huge_word_is_cut_before_the_search(self) -> None:
        """A 100,000-character word still gives max_tokens ids, template included."""
        import tokenizers

        raw = unigram_tokenizer().to_str().encode()
        lean = UnigramTokenizer.read(raw, tokenizers, max_tokens=8)
        assert lean is not None
        ids = lean.encode("lo" * 50_000)
        assert len(ids) == 8
        assert (ids[0], ids[-1]) == (1, 2)

    def test_without_post_processor_or_normalizer(self) -> None:
        """A file with neither a template nor a normalizer is read as well."""
        import tokenizers

        reference = unigram_tokenizer(post_processor=None)
        data = json.loads(reference.to_str())
        data["normalizer"] = None
        data["pre_tokenizer"] = None
        reference = Tokenizer.from_str(json.dumps(data))
        lean = UnigramTokenizer.read(json.dumps(data).encode(), tokenizers, max_tokens=64)
        assert lean is not None
        for text in ("hallo", "▁hallo▁bombe", "xyz", ""):
            assert lean.encode(text) == reference.encode(text).ids

    @pytest.mark.parametrize(
        "change",
        [
            {"byte_fallback": True},
            {"post_processor": processors.BertProcessing(("</s>", 2), ("<s>", 1))},
        ],
    )
    def test_other_files_are_left_to_tokenizers(self, change: dict[str, Any]) -> None:
        """Byte fallback or another post-processor: the file is not read here."""
        import tokenizers

        raw = unigram_tokenizer(**change).to_str().encode()
        assert UnigramTokenizer.read(raw, tokenizers, max_tokens=16) is None

    @pytest.mark.parametrize(
        "change",
        [
            {"model": {"type": "Unigram", "unk_id": 0, "vocab": []}},
            {"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", "not a score"]]}},
            {"model": {"type": "Unigram", "unk_id": 7, "vocab": [["a", -1.0]]}},
            {"post_processor": {"type": "TemplateProcessing", "single": [], "special_tokens": {}}},
            {
                "post_processor": {
                    "type": "TemplateProcessing",
                    "single": [{"SpecialToken": {"id": "<x>"}}, {"Sequence": {"id": "A"}}],
                    "special_tokens": {},
                }
            },
            {
                "post_processor": {
                    "type": "TemplateProcessing",
                    "single": [{"Sequence": {"id": "A"}}, {"Sequence": {"id": "B"}}],
                    "special_tokens": {},
                }
            },
        ],
    )
    def test_unusual_layouts_are_left_to_tokenizers(self, change: dict[str, Any]) -> None:
        """An empty or odd vocabulary, or a template other than specials around the text."""
        import tokenizers

        data = {**json.loads(unigram_tokenizer().to_str()), **change}
        assert UnigramTokenizer.read(json.dumps(data).encode(), tokenizers, max_tokens=8) is None

    def test_added_tokens_and_other_models_are_left_to_tokenizers(self, tmp_path: Path) -> None:
        """Added tokens, or a model that is not Unigram, are left to tokenizers."""
        import tokenizers

        with_added = unigram_tokenizer()
        with_added.add_special_tokens(["<s>"])
        assert UnigramTokenizer.read(with_added.to_str().encode(), tokenizers, max_tokens=8) is None
        write_model(tmp_path)  # a WordLevel tokenizer
        raw = (tmp_path / "tokenizer.json").read_bytes()
        assert UnigramTokenizer.read(raw, tokenizers, max_tokens=8) is None

    def test_detector_reads_a_unigram_file_with_the_lean_reader(self, tmp_path: Path) -> None:
        """A model directory with a Unigram tokenizer.json gives the ids tokenizers gives."""
        directory = write_ids_only_model(tmp_path)
        encoder = SentenceEncoder(directory, max_tokens=3)  # <s>, one piece, </s>
        np.testing.assert_allclose(encoder.vector("bombe hallo"), [0, 0, 1, 0])

    def test_an_unreadable_normalizer_is_a_configuration_error(self, tmp_path: Path) -> None:
        """A Unigram file whose normalizer tokenizers cannot build is refused clearly."""
        directory = write_ids_only_model(tmp_path)
        data = json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))
        data["normalizer"] = {"type": "NoSuchNormalizer"}
        (directory / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(cg.ConfigurationError, match="cannot load the model"):
            SentenceEncoder(directory)
