"""The learned n-gram detector: its model, what it finds, and that it raises concerns only."""

from __future__ import annotations

import copy
import functools
import json
import math
import pickle
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import pytest
from attrs.exceptions import FrozenInstanceError
from hypothesis import given, settings
from hypothesis import strategies as st

import convguard as cg
from convguard.detectors import (
    DetectionContext,
    LexiconDetector,
    NgramDetector,
    NgramModel,
    normalize,
    packaged_ngram_model,
)
from convguard.detectors._ngram import (
    HIGHEST_SCORE,
    LOWEST_SCORE,
    WINDOW_WORDS,
    features,
    words_of,
)
from convguard.detectors._words import last_split

PROTECTIVE = {"self_harm_risk", "harm_to_others_risk"}
DETECTOR = NgramDetector()


def detect(text: str, detector: NgramDetector = DETECTOR) -> list[cg.Finding]:
    """Run the detector on one message."""
    return list(detector.detect(text, DetectionContext(text)))


def model_data(**changes: Any) -> dict[str, Any]:
    """A small valid model in its JSON form, with *changes* applied."""
    data: dict[str, Any] = {
        "format": "convguard-ngram/1",
        "categories": ["self_harm_risk", "harm_to_others_risk"],
        "bias": [-3.0, -3.0],
        "cutoffs": [0.0, 0.0],
        "weights": {"sad": [2.0, 0.0], "very sad": [2.0, 0.0], "angry": [0.0, 4.0]},
    }
    data.update(changes)
    return data


class TestPackagedModel:
    def test_loads_its_shipped_data(self) -> None:
        """The packaged model loads once, scores the two protective categories, and is small."""
        model = packaged_ngram_model()
        assert model is packaged_ngram_model()
        assert len(model.weights) > 1000
        assert all(math.isfinite(c) for c in model.cutoffs)
        assert model.pairs
        assert model.letters == ()
        folder = resources.files("convguard.detectors").joinpath("data/ngram")
        assert len(folder.joinpath("model.json").read_bytes()) < 300_000
        assert "Apache-2.0" in folder.joinpath("NOTICE.md").read_text(encoding="utf-8")

    def test_records_what_it_was_trained_on(self) -> None:
        """The model says its sources, and no test half is among them."""
        info = packaged_ngram_model().info
        sources = info["sources"]
        assert isinstance(sources, list)
        assert sources
        names = [str(source).rsplit("/", 1)[-1] for source in sources]
        assert not any("test" in n for n in names)
        assert info["language"] == "English"

    def test_is_the_last_of_the_default_set(self) -> None:
        """The built-in set ends with it (after the lexicon, whose words it reuses)."""
        detectors = cg.default_detectors()
        assert isinstance(detectors[-1], NgramDetector)
        assert detectors[-1].name == "ngram"
        assert detectors[-1].model is packaged_ngram_model()
        assert [d.name for d in cg.default_detectors(learned=False)] == [
            d.name for d in detectors[:-1]
        ]


class TestFindings:
    @pytest.mark.parametrize(
        ("text", "category"),
        [
            ("I have the pills lined up on my desk.", "self_harm_risk"),
            ("i'm standing on the roof right now", "self_harm_risk"),
            ("I wrote my will and I'm ready to go.", "self_harm_risk"),
            ("will anyone care when i'm dead", "self_harm_risk"),
            ("I haven't eaten in five days and I'm not going to stop.", "self_harm_risk"),
            ("I want to die", "self_harm_risk"),
            ("I'm going to hunt down my old boss.", "harm_to_others_risk"),
            ("I'm going to hurt my brother", "harm_to_others_risk"),
        ],
    )
    def test_finds_short_disclosures_as_concerns(self, text: str, category: str) -> None:
        """Short disclosures of its training phrasings give one concern of their category."""
        (finding,) = detect(text)
        assert (finding.category, finding.detector) == (category, "ngram")
        assert LOWEST_SCORE <= finding.score <= HIGHEST_SCORE < 0.5

    def test_evidence_points_into_the_original_text(self) -> None:
        """The evidence is the word or pair that weighed most, in the user's original text."""
        text = "I h4ve the p1lls lined up on my desk."
        (finding,) = detect(text)
        assert finding.evidence is not None
        start, end = finding.evidence.start, finding.evidence.end
        assert 0 <= start < end <= len(text)
        assert finding.evidence.term.startswith("n-gram model, logit")
        assert finding.evidence.term.endswith(text[start:end].lower().replace("1", "i"))

    @pytest.mark.parametrize(
        "text",
        [
            "how do I kill a zombie process",
            "that's the killer feature of this laptop",
            "my band killed it last night",
            "I could murder a pizza right now",
            "what's the weather tomorrow",
            "Write a poem about death",
            "you stupid useless bot",
            "how to make a bomb",
            "my sister is driving me crazy",
            "I'm so tired of work",
        ],
    )
    def test_silent_on_benign_look_alikes(self, text: str) -> None:
        """Alarming-sounding but benign messages, and terminable ones, raise no concern."""
        assert detect(text) == []

    @pytest.mark.parametrize(
        "text",
        [
            "I'm going to",
            "I think I'm going to",
            "I want to",
            "tonight",
            "myself",
            "i'm done",
            "never mind",
            "I'm going to bake a cake for him",
            "I think I'm going to cry",
            "I give up on this code",
        ],
    )
    def test_silent_on_everyday_short_turns(self, text: str) -> None:
        """Short everyday turns of a chat, first-person plans included, raise no concern."""
        assert detect(text) == []

    def test_a_single_word_is_not_scored(self) -> None:
        """One word alone says too little: even a heavy one makes no finding."""
        table = packaged_ngram_model()._table
        heaviest = max((w for w in table if isinstance(w, str)), key=lambda w: table[w].real)
        assert detect(heaviest) == []
        assert detect(f"{heaviest} {heaviest}") or detect(f"i {heaviest}")

    def test_a_harmless_sentence_before_does_not_hide_it(self) -> None:
        """Each sentence is also read alone, so a benign opener does not dilute a disclosure."""
        assert detect("Never mind my last question. I have the pills lined up on my desk.")

    def test_long_messages_are_read_in_parts(self) -> None:
        """A disclosure in a long benign text is found in its own sentence."""
        filler = "We talked about the garden and the weather and the new recipe for dinner. " * 8
        text = f"{filler}I have the pills lined up on my desk. {filler}"
        words, starts = words_of(text)
        assert len(words) > WINDOW_WORDS
        assert len(starts) == 16
        (finding,) = detect(text)
        assert finding.category == "self_harm_risk"
        assert finding.evidence is not None
        assert finding.evidence.start > len(filler) - 1

    def test_sentences_are_split_like_the_lexicons(self) -> None:
        """A sentence ends at . ! ? ; before a space, or a line break; not inside 3.5."""
        assert words_of("version 3.5 is out") == (["version", "3", "5", "is", "out"], ())
        assert words_of("one. two? three\nfour!") == (["one", "two", "three", "four"], (1, 2, 3))


class TestOnlyConcerns:
    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=400))
    def test_never_full_strength_nor_terminable(self, text: str) -> None:
        """Whatever the text, a finding is a protective concern, never SUPPORT-strength."""
        for finding in detect(text):
            assert finding.category in PROTECTIVE
            assert LOWEST_SCORE <= finding.score <= HIGHEST_SCORE

    @pytest.mark.parametrize(
        "text",
        ["", "   ", "?!.;\n\n", "\ud800 broken \udfff", "Я хочу умереть", "🙂" * 50, "x" * 100_000],
    )
    def test_odd_input(self, text: str) -> None:
        """Empty, punctuation-only, broken-unicode, non-Latin and huge texts raise nothing."""
        assert detect(text) == []

    def test_huge_text_with_a_disclosure(self) -> None:
        """A disclosure in a 100,000-character message is still found."""
        text = "lorem ipsum dolor sit amet. " * 3000 + "I have the pills lined up on my desk."
        assert [f.category for f in detect(text)] == ["self_harm_risk"]


class TestWithAGuard:
    def test_a_concern_blocks_ending_without_support(self) -> None:
        """In the default guard, a disclosure the lexicons miss blocks ending silently."""
        text = "I gave my cat to my neighbor because I won't be here to take care of her."
        lexicons = cg.default_detectors(learned=False)
        assert not [f for d in lexicons for f in d.detect(text, DetectionContext(text))]
        conversation = cg.Guard().start()
        verdict = conversation.send(text)
        assert verdict.action is cg.Action.ALLOW
        assert verdict.at_risk
        for _ in range(5):
            assert conversation.send("you stupid useless bot").action is cg.Action.REDIRECT

    def test_persistent_abuse_still_ends(self) -> None:
        """Without risk, persistent abuse is still redirected, warned and ended by turn 4."""
        conversation = cg.Guard().start()
        actions = []
        for _ in range(4):
            actions.append(conversation.send("you stupid useless bot").action)
            if not conversation.ended():
                conversation.reply("Let's get back to your question.")
        assert actions == [cg.Action.REDIRECT, cg.Action.REDIRECT, cg.Action.WARN, cg.Action.END]


UNGATED = NgramDetector(attrs.evolve(packaged_ngram_model(), gate=None))


@functools.cache
def lexicon_detector() -> LexiconDetector:
    """The built-in set's lexicon detector (the one whose words the gate reads)."""
    detector = cg.default_detectors()[0]
    assert isinstance(detector, LexiconDetector)
    return detector


class TestGate:
    def test_the_packaged_model_has_one(self) -> None:
        """The shipped model lists its trigger words, and the training script's figures."""
        gate = packaged_ngram_model().gate
        assert gate is not None
        assert 50 < len(gate) < 300
        assert {"suicide", "pills", "kill"} & gate
        assert not {"the", "a", "and", "to"} & gate
        calibration = packaged_ngram_model().info["calibration"]
        assert isinstance(calibration, dict)
        assert calibration["gate"]["words"] == len(gate)

    def test_a_message_without_trigger_words_yields_nothing(self) -> None:
        """A message none of whose words is a trigger is not scored, whatever its weights."""
        gated = NgramDetector(NgramModel.from_dict(model_data(gate=["sad"])))
        ungated = NgramDetector(NgramModel.from_dict(model_data()))
        assert [f.category for f in detect("so angry", ungated)] == ["harm_to_others_risk"]
        assert detect("so angry", gated) == []

    def test_one_with_a_trigger_word_is_scored_as_before(self) -> None:
        """A message holding a trigger word gets what the model without a gate gives."""
        gated = NgramDetector(NgramModel.from_dict(model_data(gate=["sad"])))
        ungated = NgramDetector(NgramModel.from_dict(model_data()))
        for text in ("very sad", "sad. angry angry", "so sad"):
            assert detect(text, gated) == detect(text, ungated)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.sampled_from(
                ["I", "want", "to", "die", "pills", "my", "desk", "the", "roof", "kill", "him"]
            )
            | st.text(max_size=8),
            max_size=30,
        ).map(" ".join),
        st.booleans(),
    )
    def test_gated_is_ungated_or_nothing(self, text: str, lexicon_first: bool) -> None:
        """With the packaged gate: the ungated findings when a trigger word is there, else none.

        The same with the lexicon detector run first on the turn, whose words it reads.
        """
        context = DetectionContext(text)
        if lexicon_first:
            lexicon_detector().detect(text, context)
        found = list(DETECTOR.detect(text, context))
        gate = packaged_ngram_model().gate
        assert gate is not None
        if gate.isdisjoint(words_of(context.normalized.text)[0]):
            assert found == []
        else:
            assert found == detect(text, UNGATED)

    @settings(max_examples=200, deadline=None)
    @given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
    def test_the_lexicon_split_is_the_models(self, text: str) -> None:
        """On an ASCII view the lexicon detector's words are those the model reads."""
        context = DetectionContext(text)
        lexicon_detector().detect(text, context)
        view = context.normalized.text
        if view.isascii():
            assert last_split(view) == words_of(view)[0]

    def test_another_view_is_not_answered(self) -> None:
        """The lexicon's last split answers only for that very view object."""
        context = DetectionContext("I want to go home")
        lexicon_detector().detect("I want to go home", context)
        assert last_split(context.normalized.text) == ["i", "want", "to", "go", "home"]
        assert last_split(normalize("something else").text) is None

    def test_a_disclosure_among_non_ascii_text(self) -> None:
        """A non-ASCII view is split by the model itself, and still found."""
        text = "I have the pills lined up on my desk 😢"
        context = DetectionContext(text)
        lexicon_detector().detect(text, context)
        assert not context.normalized.text.isascii()
        assert last_split(context.normalized.text) is None
        assert [f.category for f in DETECTOR.detect(text, context)] == ["self_harm_risk"]


class TestFrozen:
    def test_refuses_changes(self) -> None:
        """A built detector cannot be changed, as the other built-ins cannot."""
        with pytest.raises(FrozenInstanceError):
            DETECTOR.name = "other"
        with pytest.raises(FrozenInstanceError):
            del DETECTOR.name
        with pytest.raises(FrozenInstanceError):
            packaged_ngram_model().cutoffs = (0.0, 0.0)  # type: ignore[misc]

    def test_pickles_and_copies(self) -> None:
        """A pickled or copied detector finds the same, under the same name."""
        named = NgramDetector(name="words")
        for twin in (pickle.loads(pickle.dumps(named)), copy.deepcopy(named), copy.copy(named)):  # noqa: S301 - our own bytes
            assert isinstance(twin, NgramDetector)
            assert twin.name == "words"
            text = "I have the pills lined up on my desk."
            assert detect(text, twin) == detect(text, named)

    def test_repr_and_categories(self) -> None:
        """The repr names it and its size; it reports the two protective categories."""
        assert repr(DETECTOR).startswith("NgramDetector('ngram', ")
        assert DETECTOR.categories == PROTECTIVE


class TestModelFile:
    def test_a_small_model(self) -> None:
        """A hand-written model scores words and pairs, per category."""
        detector = NgramDetector(NgramModel.from_dict(model_data()))
        assert detect("so sad", detector) == []
        (finding,) = detect("very sad", detector)
        assert finding.category == "self_harm_risk"
        (finding,) = detect("so angry", detector)
        assert finding.category == "harm_to_others_risk"

    def test_words_only_model(self) -> None:
        """A model without pairs ignores pair weights."""
        detector = NgramDetector(NgramModel.from_dict(model_data(pairs=False)))
        assert detect("very sad", detector) == []

    def test_words_only_model_reads_sentences(self) -> None:
        """A model without pairs reads each sentence of a longer message too."""
        detector = NgramDetector(NgramModel.from_dict(model_data(pairs=False)))
        (finding,) = detect("Fine. angry", detector)
        assert finding.category == "harm_to_others_risk"

    def test_training_features(self) -> None:
        """The training script's features: words, pairs within a sentence, letter n-grams."""
        assert features(["a", "b", "c"], (2,)) == ["a", "b", "c", "a b"]
        assert features(["ab"], (), (3,)) == ["ab", "#<ab", "#ab>"]

    def test_letter_grams(self) -> None:
        """A model reading letter n-grams scores them too."""
        weights = {"#<sa": [4.0, 0.0]}
        detector = NgramDetector(NgramModel.from_dict(model_data(letters=[3], weights=weights)))
        assert [f.category for f in detect("so sadly", detector)] == ["self_harm_risk"]

    def test_load_from_a_file(self, tmp_path: Path) -> None:
        """A model file is read with load()."""
        path = tmp_path / "model.json"
        path.write_text(json.dumps(model_data()), encoding="utf-8")
        assert NgramModel.load(path).cutoffs == (0.0, 0.0)

    @pytest.mark.parametrize(
        "data",
        [
            model_data(format="other/1"),
            model_data(categories=["abuse", "self_harm_risk"]),
            model_data(bias=[1.0]),
            model_data(cutoffs=[math.inf, 0.0]),
            model_data(letters=[0]),
            model_data(pairs="yes"),
            model_data(weights=[1, 2]),
            model_data(weights={"sad": "x"}),
            model_data(gate="sad"),
            model_data(gate=5),
            [],
        ],
    )
    def test_malformed_models_are_refused(self, data: Any) -> None:
        """A malformed model is a ConfigurationError, never a crash later."""
        with pytest.raises(cg.ConfigurationError):
            NgramModel.from_dict(data)

    def test_unreadable_file(self, tmp_path: Path) -> None:
        """A missing or invalid file is a ConfigurationError."""
        with pytest.raises(cg.ConfigurationError):
            NgramModel.load(tmp_path / "missing.json")
        (tmp_path / "bad.json").write_text("{", encoding="utf-8")
        with pytest.raises(cg.ConfigurationError):
            NgramModel.load(tmp_path / "bad.json")

    def test_bad_arguments(self) -> None:
        """A detector needs an NgramModel and a non-empty name."""
        with pytest.raises(cg.ConfigurationError):
            NgramDetector(model_data())  # type: ignore[arg-type]
        with pytest.raises(cg.ConfigurationError):
            NgramDetector(name="")
