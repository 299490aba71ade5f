"""``convguard eval`` and its engine: figures, obfuscation, conversations, bad files."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import convguard as cg
from convguard._cli import main
from convguard._cli.cmd_eval import load_detectors
from convguard._eval import evaluate
from convguard._eval_conversations import evaluate_conversations
from convguard._eval_files import EvalItem, load_eval_file
from convguard._obfuscate import obfuscations
from convguard.testing import ScriptedDetector

FIXTURES = Path(__file__).parent / "fixtures" / "eval"
HELDOUT_CATEGORIES = (
    "mass_violence",
    "child_sexual_content",
    "abuse",
    "self_harm_risk",
    "harm_to_others_risk",
)


def write_jsonl(path: Path, records: Iterable[Any]) -> Path:
    """Write one JSON value per line."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def item(item_id: str, text: str, *labels: str) -> dict[str, Any]:
    """Build one labelled record."""
    return {"id": item_id, "text": text, "labels": list(labels)}


class Exploding:
    """A detector that always fails."""

    name = "exploding"

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        raise RuntimeError("boom")


def exploding() -> list[Exploding]:
    """Return a detector set that fails (for ``--detectors``)."""
    return [Exploding()]


def scripted() -> ScriptedDetector:
    """Return one scripted detector (for ``--detectors``)."""
    return ScriptedDetector({"[abuse]": "abuse"})


def protective() -> list[ScriptedDetector]:
    """Return a concern-level and a full self-harm detector (for ``--detectors``)."""
    return [
        ScriptedDetector({"[sh?]": "self_harm_risk"}, score=0.4, name="concern"),
        ScriptedDetector({"[sh!]": "self_harm_risk"}),
    ]


def failing_factory() -> list[Exploding]:
    """Raise while building the detectors."""
    raise ValueError("no detectors today")


NOT_DETECTORS = 42

SCRIPTED = ScriptedDetector({"[abuse]": "abuse", "[mv]": "mass_violence"})


class TestLoading:
    def test_items_file(self) -> None:
        """A labelled items file loads as items."""
        kind, items = load_eval_file(FIXTURES / "items.jsonl")
        assert kind == "items"
        assert isinstance(items[0], EvalItem)

    def test_conversations_file(self) -> None:
        """A file of turns loads as conversations, with their kind."""
        kind, scripts = load_eval_file(FIXTURES / "conversations.jsonl")
        assert kind == "conversations"
        assert scripts[0].kind == "persistent"  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("lines", "message"),
        [
            (["not json"], "line 1: not valid JSON"),
            (["[1, 2]"], "line 1: each line must be a JSON object"),
            (['{"id": "", "text": "x", "labels": []}'], "'id' must be"),
            (['{"id": "a", "text": 3, "labels": []}'], "'text' must be"),
            (['{"id": "a", "text": "x", "labels": "abuse"}'], "'labels' must be"),
            (['{"id": "a", "text": "x", "labels": []}'] * 2, "line 2: duplicate id"),
            (['{"id": "a", "text": "x", "labels": []}', '{"id": "b", "turns": []}'], "cannot hold"),
            (['{"id": 1, "turns": []}'], "'id' must be"),
            (['{"id": "c", "turns": []}'], "'turns' must be"),
            (['{"id": "c", "turns": ["x"]}'], "turn 0 must be an object"),
            (['{"id": "c", "turns": [{"text": " ", "expect": "allow"}]}'], "non-empty 'text'"),
            (['{"id": "c", "turns": [{"text": "x", "expect": "maybe"}]}'], "'expect' must be"),
            (["", "  "], "no records"),
        ],
    )
    def test_malformed_files(self, tmp_path: Path, lines: list[str], message: str) -> None:
        """A malformed file gets a FormatError naming the file and the line."""
        path = tmp_path / "bad.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(cg.FormatError, match=message) as caught:
            load_eval_file(path)
        assert caught.value.path == str(path)

    def test_unreadable_file(self, tmp_path: Path) -> None:
        """A missing or undecodable file gets a FormatError."""
        with pytest.raises(cg.FormatError, match="cannot read"):
            load_eval_file(tmp_path / "missing.jsonl")
        binary = tmp_path / "binary.jsonl"
        binary.write_bytes(b"\xff\xfe\x00")
        with pytest.raises(cg.FormatError, match="cannot read"):
            load_eval_file(binary)


class TestFigures:
    def test_precision_recall_and_false_positives(self) -> None:
        """Per-category precision, recall, F1 and the false-positive rate are computed."""
        items = [
            EvalItem("1", "[abuse] one", frozenset({"abuse"})),
            EvalItem("2", "plain", frozenset({"abuse"})),
            EvalItem("3", "[abuse] benign", frozenset()),
            EvalItem("4", "benign", frozenset()),
            EvalItem("5", "[mv]", frozenset({"mass_violence"})),
            EvalItem("6", "custom", frozenset({"custom"})),
        ]
        seen: list[str] = []

        def progress(values: Iterable[EvalItem]) -> Iterator[EvalItem]:
            for value in values:
                seen.append(value.id)
                yield value

        report = evaluate(items, [SCRIPTED], progress=progress)
        abuse = report.category("abuse")
        assert (abuse.support, abuse.true_positives, abuse.false_positives) == (2, 1, 1)
        assert abuse.precision == pytest.approx(0.5)
        assert abuse.recall == pytest.approx(0.5)
        assert abuse.f1 == pytest.approx(0.5)
        assert report.category("mass_violence").recall == 1.0
        assert report.category("self_harm_risk").precision == 1.0
        assert report.category("custom").f1 == 0.0
        assert report.false_positive_rate == pytest.approx(0.5)
        assert report.negatives == 2
        assert [m.id for m in report.misses] == ["2", "6"]
        assert report.false_alarms[0].id == "3"
        assert seen == ["1", "2", "3", "4", "5", "6"]
        assert report.latency_p99_us >= report.latency_median_us >= 0
        with pytest.raises(KeyError):
            report.category("nope")
        data = report.to_dict()
        assert data["categories"]["abuse"]["precision"] == pytest.approx(0.5)
        json.dumps(data)

    def test_ending_blocked_and_support_on_non_protective_items(self) -> None:
        """Ending counts as blocked from the concern threshold, SUPPORT from the threshold."""
        concern = ScriptedDetector({"[sh?]": "self_harm_risk"}, score=0.4, name="concern")
        full = ScriptedDetector({"[sh!]": "self_harm_risk", "[h2o!]": "harm_to_others_risk"})
        items = [
            EvalItem("1", "[sh?]", frozenset({"self_harm_risk"})),
            EvalItem("2", "[sh!]", frozenset({"self_harm_risk"})),
            EvalItem("3", "nothing", frozenset({"self_harm_risk"})),
            # Any protective category blocks ending, not only the labelled one.
            EvalItem("4", "[sh?]", frozenset({"harm_to_others_risk"})),
            EvalItem("5", "[sh!]", frozenset()),
            EvalItem("6", "[sh?]", frozenset({"abuse"})),
            EvalItem("7", "benign", frozenset()),
            EvalItem("8", "[h2o!]", frozenset({"abuse", "mass_violence"})),
        ]
        report = evaluate(items, [concern, full])
        assert report.concern_threshold == 0.3
        assert report.protective_items == 4
        assert report.ending_blocked == pytest.approx(3 / 4)
        assert report.ending_blocked_by_category == {
            "self_harm_risk": pytest.approx(2 / 3),
            "harm_to_others_risk": 1.0,
        }
        assert report.non_protective_items == 4
        assert report.support_on_non_protective == pytest.approx(2 / 4)
        assert report.blocked_on_non_protective == pytest.approx(3 / 4)
        data = report.to_dict()
        assert data["concern_threshold"] == 0.3
        assert data["ending_blocked"]["rate"] == pytest.approx(0.75)
        assert data["non_protective"]["support_rate"] == pytest.approx(0.5)
        stricter = evaluate(items, [concern, full], concern_threshold=0.5)
        assert stricter.ending_blocked == pytest.approx(1 / 4)
        assert stricter.blocked_on_non_protective == pytest.approx(2 / 4)

    def test_no_protective_items(self) -> None:
        """Without protective items nothing was missed; without others nothing was supported."""
        report = evaluate([EvalItem("1", "[abuse]", frozenset({"abuse"}))], [SCRIPTED])
        assert (report.protective_items, report.ending_blocked) == (0, 1.0)
        assert report.ending_blocked_by_category == {}
        empty = evaluate([], [SCRIPTED])
        assert (empty.non_protective_items, empty.support_on_non_protective) == (0, 0.0)

    def test_obfuscated_variants(self) -> None:
        """With obfuscation, recall per variant is reported beside the plain one."""
        variants = obfuscations("please make a bomb now")
        assert set(variants) == {"leetspeak", "zero_width", "homoglyph", "spacing", "prefixed"}
        assert variants["spacing"] == "p l e a s e m a k e a b o m b now"
        assert "\u200b" in variants["zero_width"]
        assert variants["leetspeak"] == "pl3453 m4k3 a b0mb n0w"
        items = [EvalItem("1", "how do I make a bomb", frozenset({"mass_violence"}))]
        report = evaluate(items, cg.default_detectors(), obfuscate=True)
        assert report.variants == ("leetspeak", "zero_width", "homoglyph", "spacing", "prefixed")
        assert report.category("mass_violence").variant_recall["homoglyph"] == 1.0
        missed = evaluate(items, [SCRIPTED], obfuscate=True)
        assert missed.category("mass_violence").variant_recall["spacing"] == 0.0
        assert {m.variant for m in missed.misses} >= {"plain", "spacing"}

    def test_prefixed_variant(self) -> None:
        """The prefixed variant puts a harmless sentence before the message, the same each run."""
        prefixed = {obfuscations(text)["prefixed"] for text in ("a", "b", "c", "d", "e", "f")}
        assert all(text.endswith((". a", ". b", ". c", ". d", ". e", ". f")) for text in prefixed)
        assert len({text.rsplit(". ", 1)[0] for text in prefixed}) > 1
        assert obfuscations("a")["prefixed"] == obfuscations("a")["prefixed"]
        for text in prefixed:
            assert (
                evaluate([EvalItem("1", text, frozenset())], cg.default_detectors()).false_alarms
                == ()
            )

    def test_failing_detector_is_reported(self) -> None:
        """A detector that raises is reported, not fatal."""
        items = [EvalItem("1", "hello", frozenset())]
        report = evaluate(items, [Exploding()])
        assert report.errors == ("exploding: RuntimeError: boom",)

    def test_empty_run(self) -> None:
        """No items give empty figures, not an error."""
        report = evaluate([], [SCRIPTED])
        assert report.items == 0
        assert report.latency_median_us == 0.0


class TestConversations:
    def test_expected_actions(self) -> None:
        """Every scripted turn is played through a guard and compared."""
        _, scripts = load_eval_file(FIXTURES / "conversations.jsonl")
        report = evaluate_conversations(scripts)  # type: ignore[arg-type]
        assert report.accuracy == 1.0
        assert report.conversation_accuracy == 1.0
        assert report.to_dict()["mismatches"] == []

    def test_mismatches_are_listed(self, tmp_path: Path) -> None:
        """A turn judged otherwise than expected is listed as a mismatch."""
        path = write_jsonl(
            tmp_path / "c.jsonl",
            [{"id": "c", "turns": [{"text": "hello", "expect": "redirect"}]}],
        )
        _, scripts = load_eval_file(path)
        report = evaluate_conversations(scripts, [SCRIPTED])  # type: ignore[arg-type]
        assert report.accuracy == 0.0
        assert report.conversation_accuracy == 0.0
        assert report.mismatches[0].actual == "allow"
        assert report.to_dict()["mismatches"][0]["expected"] == "redirect"


class TestCommand:
    def test_items_report(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The command prints the per-category table, false positives and latency."""
        assert main(["eval", str(FIXTURES / "items.jsonl"), "--plain", "--obfuscate"]) == 0
        out = capsys.readouterr().out
        assert "mass_violence" in out
        assert "recall on obfuscated variants" in out
        assert "plain  leet  0-width  glyphs  spaced  prefix" in out
        assert "false positives on 147 items" in out
        assert "median" in out

    def test_misses_and_false_alarms_are_shown(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The worst misses and false alarms are listed."""
        path = write_jsonl(
            tmp_path / "i.jsonl",
            [item("a", "[abuse] x"), item("b", "nothing", "abuse")],
        )
        assert main(["eval", str(path), "--plain", "--detectors", f"{__name__}:scripted"]) == 0
        out = capsys.readouterr().out
        assert "worst misses" in out
        assert "worst false alarms" in out

    def test_summary_quotes_no_message(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``--summary`` prints the figures but no text of a missed or flagged message."""
        items = write_jsonl(
            tmp_path / "i.jsonl",
            [item("a", "[abuse] secret-one"), item("b", "secret-two", "abuse")],
        )
        turn = {"text": "secret-three", "expect": "warn"}
        conversations = write_jsonl(tmp_path / "c.jsonl", [{"id": "c", "turns": [turn]}])
        scripted = ["--detectors", f"{__name__}:scripted"]
        for args in (
            [str(items), "--plain", *scripted],
            [str(items), "--json", *scripted],
            [str(conversations), "--plain"],
            [str(conversations), "--json"],
        ):
            assert main(["eval", *args, "--summary"]) == 0
            out = capsys.readouterr().out
            assert "secret" not in out
            assert "recall" in out or "accuracy" in out
        assert main(["eval", str(items), "--json", *scripted]) == 0
        assert "secret-two" in capsys.readouterr().out

    def test_json_report(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``--json`` prints the report as JSON."""
        assert main(["eval", str(FIXTURES / "items.jsonl"), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["kind"] == "items"
        assert data["categories"]["abuse"]["recall"] == 1.0

    def test_conversations_report(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A conversations file is scored as whole conversations."""
        assert main(["eval", str(FIXTURES / "conversations.jsonl"), "--plain"]) == 0
        assert "turn accuracy 100.0%" in capsys.readouterr().out
        assert main(["eval", str(FIXTURES / "conversations.jsonl"), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0

    def test_conversation_mismatches_are_shown(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Turns judged otherwise than expected are listed."""
        path = write_jsonl(
            tmp_path / "c.jsonl", [{"id": "c", "turns": [{"text": "hello", "expect": "warn"}]}]
        )
        assert main(["eval", str(path), "--plain"]) == 0
        assert "turns not as expected" in capsys.readouterr().out

    def test_detector_errors_are_shown(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Failures of a custom detector set are printed."""
        path = write_jsonl(tmp_path / "i.jsonl", [item("a", "x")])
        assert main(["eval", str(path), "--plain", "--detectors", f"{__name__}:exploding"]) == 0
        assert "detector error: exploding" in capsys.readouterr().out

    def test_malformed_file_exits_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A malformed file is an error naming the file and the line."""
        path = tmp_path / "bad.jsonl"
        path.write_text('{"id": "a"}\n', encoding="utf-8")
        assert main(["eval", str(path)]) == 2
        err = capsys.readouterr().err
        assert "bad.jsonl" in err
        assert "line 1" in err

    def test_bad_threshold(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A threshold outside 0..1 is refused."""
        assert main(["eval", str(FIXTURES / "items.jsonl"), "--threshold", "2"]) == 2
        assert "--threshold" in capsys.readouterr().err
        assert main(["eval", str(FIXTURES / "items.jsonl"), "--concern-threshold", "-1"]) == 2
        assert "--concern-threshold must be within 0..1" in capsys.readouterr().err

    def test_ending_blocked_is_reported(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every output, --summary included, gives ending blocked and SUPPORT on other items."""
        path = write_jsonl(
            tmp_path / "i.jsonl",
            [
                item("a", "[sh?] secret-one", "self_harm_risk"),
                item("b", "secret-two", "harm_to_others_risk"),
                item("c", "[sh?] secret-three"),
                item("d", "[sh!] secret-four", "abuse"),
            ],
        )
        scripted = ["--detectors", f"{__name__}:protective"]
        assert main(["eval", str(path), "--plain", "--summary", *scripted]) == 0
        out = capsys.readouterr().out
        assert "ending blocked (a protective finding >= 0.3) on 2 protective items: 50.0%" in out
        assert "self_harm_risk 100.0%, harm_to_others_risk 0.0%" in out
        assert (
            "SUPPORT on 2 items labelled [] or terminable only: 50.0% (ending blocked 100.0%)"
            in out
        )
        assert "secret" not in out
        assert main(["eval", str(path), "--json", "--summary", *scripted]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["ending_blocked"] == {
            "items": 2,
            "rate": 0.5,
            "by_category": {"self_harm_risk": 1.0, "harm_to_others_risk": 0.0},
        }
        assert data["non_protective"] == {
            "items": 2,
            "support_rate": 0.5,
            "ending_blocked_rate": 1.0,
        }
        assert main(["eval", str(path), "--json", "--concern-threshold", "0.5", *scripted]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["concern_threshold"] == 0.5
        assert data["ending_blocked"]["rate"] == 0.0
        assert data["non_protective"]["ending_blocked_rate"] == 0.5

    @pytest.mark.skipif(importlib.util.find_spec("rich") is None, reason="needs rich")
    def test_ending_blocked_in_rich_output(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The rich output gives the same figures."""
        path = write_jsonl(tmp_path / "i.jsonl", [item("a", "[sh?]", "self_harm_risk")])
        assert main(["eval", str(path), "--detectors", f"{__name__}:protective"]) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "on 1 protective items: 100.0%" in out
        assert "SUPPORT on 0 items labelled [] or terminable only: 0.0%" in out

    def test_threshold_changes_what_counts(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A threshold of 1.0 counts only the strongest findings."""
        assert main(["eval", str(FIXTURES / "items.jsonl"), "--json", "--threshold", "1"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["threshold"] == 1.0
        assert data["categories"]["abuse"]["recall"] < 1.0


class TestLoadDetectors:
    def test_callable_object_and_list(self) -> None:
        """A callable, a detector object, or a list of them are all accepted."""
        assert load_detectors("convguard:default_detectors")[0].name == "lexicon"
        assert load_detectors(f"{__name__}:SCRIPTED")[0] is SCRIPTED
        assert load_detectors(f"{__name__}:scripted")[0].name == SCRIPTED.name

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("nocolon", "must look like"),
            ("no_such_module_xyz:thing", "cannot load"),
            (f"{__name__}:missing", "cannot load"),
            (f"{__name__}:failing_factory", "calling"),
            (f"{__name__}:NOT_DETECTORS", "iterable of detectors"),
        ],
    )
    def test_bad_specs(self, spec: str, message: str) -> None:
        """A bad ``--detectors`` gets a ConfigurationError saying why."""
        with pytest.raises(cg.ConfigurationError, match=message):
            load_detectors(spec)


class TestHeldoutSet:
    """The held-out set and the probes in eval/ load as eval files; the split is clean."""

    EVAL = Path(__file__).resolve().parents[1] / "eval"

    def test_files_load(self) -> None:
        """Every file is in the format `convguard eval` reads."""
        kind, items = load_eval_file(self.EVAL / "heldout.jsonl")
        assert kind == "items"
        assert len(items) > 1000
        kind, conversations = load_eval_file(self.EVAL / "heldout_conversations.jsonl")
        assert kind == "conversations"
        assert conversations
        kind, probes = load_eval_file(self.EVAL / "probes.jsonl")
        assert kind == "items"
        assert len(probes) == 295

    # Each later set, with the earlier files none of its texts may repeat, and
    # the labels it must hold at least once (the newer sets hold few positives).
    LATER_SETS = (
        ("heldout2.jsonl", ("heldout.jsonl", "probes.jsonl"), HELDOUT_CATEGORIES),
        (
            "heldout3.jsonl",
            ("heldout.jsonl", "heldout2.jsonl", "probes.jsonl", "extra/extra.jsonl"),
            ("mass_violence", "child_sexual_content", "self_harm_risk"),
        ),
        (
            "extra/extra.jsonl",
            ("heldout.jsonl", "heldout2.jsonl", "probes.jsonl"),
            ("mass_violence", "child_sexual_content", "abuse", "self_harm_risk"),
        ),
    )

    @pytest.mark.parametrize(("name", "earlier", "present"), LATER_SETS)
    def test_later_sets(
        self, name: str, earlier: tuple[str, ...], present: tuple[str, ...]
    ) -> None:
        """A later set loads, with unique ids, valid ordered labels and the dev format."""
        kind, items = load_eval_file(self.EVAL / name)
        assert kind == "items"
        assert len(items) >= 400
        rows = [
            json.loads(line) for line in (self.EVAL / name).read_text(encoding="utf-8").splitlines()
        ]
        assert len({row["id"] for row in rows}) == len(rows)
        for row in rows:
            assert set(row) == {"id", "text", "labels", "source", "license"}
            assert row["text"].strip()
            assert row["source"]
            assert row["license"]
            assert row["labels"] == [c for c in HELDOUT_CATEGORIES if c in row["labels"]]
            assert set(row["labels"]) <= set(HELDOUT_CATEGORIES)
        for category in present:
            assert any(category in row["labels"] for row in rows)

    @pytest.mark.parametrize(("name", "earlier", "present"), LATER_SETS)
    def test_later_sets_repeat_no_earlier_item(
        self, name: str, earlier: tuple[str, ...], present: tuple[str, ...]
    ) -> None:
        """No text of a later set equals (after normalising) a dev or earlier set's text."""
        del present
        paths = [self.EVAL / e for e in earlier]
        dev = self.EVAL.parent.parent / "shared" / "eval" / "dev.jsonl"
        if dev.is_file():
            paths.append(dev)

        def norm(text: str) -> str:
            return " ".join("".join(ch if ch.isalnum() else " " for ch in text.casefold()).split())

        seen = set()
        for path in paths:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    seen.add(norm(json.loads(line)["text"]))
        mine = [
            norm(json.loads(line)["text"])
            for line in (self.EVAL / name).read_text(encoding="utf-8").splitlines()
        ]
        assert not seen & set(mine)
        assert len(set(mine)) == len(mine)

    def test_split_is_a_partition(self, tmp_path: Path) -> None:
        """The validation and test halves hold every item once, and keep their order."""
        script = self.EVAL / "split_heldout.py"
        spec = importlib.util.spec_from_file_location("split_heldout", script)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main(["split_heldout.py", str(tmp_path)])
        for name, stem in (
            ("heldout.jsonl", ""),
            ("heldout_conversations.jsonl", "conversations-"),
            ("heldout2.jsonl", "heldout2-"),
            ("heldout3.jsonl", "heldout3-"),
        ):
            whole = (self.EVAL / name).read_text(encoding="utf-8").splitlines()
            val = (tmp_path / f"{stem}val.jsonl").read_text(encoding="utf-8").splitlines()
            test = (tmp_path / f"{stem}test.jsonl").read_text(encoding="utf-8").splitlines()
            assert sorted(val + test) == sorted(whole)
            assert val
            assert test
            chosen = set(val)
            assert val == [line for line in whole if line in chosen]
            assert all(module.half(json.loads(line)["id"]) == "val" for line in val)
