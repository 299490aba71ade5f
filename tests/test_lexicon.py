"""LexiconDetector and the lexicon data format: terms, rules, allowlists, patterns."""

from __future__ import annotations

import functools
import itertools
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from attrs.exceptions import FrozenInstanceError
from hypothesis import given, settings

import convguard as cg
from convguard.detectors import (
    DetectionContext,
    Lexicon,
    LexiconDetector,
    Rule,
    _lexicon,
    _words,
    check_pattern,
    packaged_lexicon,
)
from convguard.detectors._fold import piecewise
from convguard.detectors._lexicon import expand, words_of

FIXTURES = Path(__file__).parent / "fixtures" / "eval" / "items.jsonl"


def lexicon(**data: Any) -> Lexicon:
    """Build a one-file lexicon from keyword data."""
    return Lexicon.from_dict(data)


def detect(detector: LexiconDetector, text: str) -> list[cg.Finding]:
    """Run a detector on one text with a fresh context."""
    return list(detector.detect(text, DetectionContext(text)))


WIDGETS = {
    "category": "widgets",
    "allow": ["widget factory"],
    "lists": {
        "widget": {"terms": ["widget{,s}", {"term": "gizmo", "weight": 0.5}]},
        "verb": {"terms": ["break", "smash"]},
        "calm": {"terms": ["gently"]},
        "filler": {"terms": ["the", "big"]},
        "stop": {"terms": ["not"]},
    },
    "rules": [
        {"name": "widget alone", "all": ["widget"], "weight": 0.4},
        {"name": "breaking", "all": ["verb", "widget"], "window": 4, "unless": ["calm"]},
    ],
}


class TestTerms:
    def test_braces_expand(self) -> None:
        """Braces give alternatives and number ranges."""
        assert expand("bomb{,s}") == ["bomb", "bombs"]
        assert expand("{1..3} yo") == ["1 yo", "2 yo", "3 yo"]
        assert expand("{a,b}{c,d}") == ["ac", "ad", "bc", "bd"]

    def test_bad_braces(self) -> None:
        """Unbalanced braces and runaway expansions are refused."""
        with pytest.raises(cg.ConfigurationError, match="unbalanced"):
            expand("bomb{s")
        with pytest.raises(cg.ConfigurationError, match="more than"):
            expand("{1..3000}")

    def test_words_of(self) -> None:
        """Terms are split into words the way the normalized text is."""
        assert words_of("You're a BOT") == ("youre", "a", "bot")


class TestDetection:
    def test_single_list_rule_scores_by_term_weight(self) -> None:
        """A term's weight times the rule's weight is the score."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        (finding,) = detect(detector, "a gizmo")
        assert finding.category == "widgets"
        assert finding.score == pytest.approx(0.2)
        assert finding.evidence is not None
        assert finding.evidence.term == "gizmo"

    def test_co_occurrence_within_window(self) -> None:
        """Two lists within the window fire the stronger rule, with the span as evidence."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        text = "I will SMASH all the widgets"
        (finding,) = detect(detector, text)
        assert finding.score == pytest.approx(0.9)
        assert finding.evidence is not None
        assert text[finding.evidence.start : finding.evidence.end] == "SMASH all the widgets"
        assert finding.evidence.term == "breaking: smash + widgets"

    def test_outside_window(self) -> None:
        """Terms too far apart do not fire a co-occurrence rule."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        (finding,) = detect(detector, "smash one two three four five widgets")
        assert finding.score == pytest.approx(0.4)

    def test_unless_list_cancels(self) -> None:
        """A term of an ``unless`` list in the sentence of the match cancels the rule."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        (finding,) = detect(detector, "gently break the widget")
        assert finding.score == pytest.approx(0.4)
        (finding,) = detect(detector, "break the widget, gently, I said.")
        assert finding.score == pytest.approx(0.4)


class TestUnlessScope:
    """An ``unless`` term in another sentence leaves a match alone."""

    @pytest.mark.parametrize(
        "text",
        [
            "Gently. Break the widget.",
            "Break the widget! I said it gently",
            "gently?\nbreak the widget",
            "Gently; break the widget",
            "gently\nbreak the widget",
        ],
    )
    def test_other_sentence(self, text: str) -> None:
        """A sentence end (. ! ? ; before a space, or a line break) bounds the cancel."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        (finding,) = detect(detector, text)
        assert finding.evidence is not None
        assert finding.evidence.term == "breaking: break + widget"

    @pytest.mark.parametrize("text", ["gently.break the widget", "v2.gently break the widget"])
    def test_dot_inside_a_word_ends_nothing(self, text: str) -> None:
        """A dot with no space after it (a number, a name) does not end a sentence."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        (finding,) = detect(detector, text)
        assert finding.score == pytest.approx(0.4)

    def test_match_across_sentences(self) -> None:
        """A match spanning two sentences is cancelled by a term in either."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        assert detect(detector, "Gently break. The widget.")[0].score == pytest.approx(0.4)
        assert detect(detector, "Break. The widget, gently.")[0].score == pytest.approx(0.4)
        (finding,) = detect(detector, "Break. The widget. Gently.")
        assert finding.score == pytest.approx(0.9)

    def test_cancelled_sentence_between_the_terms(self) -> None:
        """A cancelling sentence between the matched terms cancels the match."""
        data = dict(WIDGETS, rules=[{"all": ["verb", "widget"], "window": 6, "unless": ["calm"]}])
        detector = LexiconDetector(lexicon(**data))
        assert detect(detector, "Break it. Gently. The widget.") == []
        assert detect(detector, "Break it. Now. The widget.") != []

    def test_long_message(self) -> None:
        """A planned long message keeps a match whose cancel is in another sentence."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        filler = "nothing to see here. " * 30
        text = f"Gently. {filler}Break the widget. {filler}"
        (finding,) = detect(detector, text)
        assert finding.evidence is not None
        assert finding.evidence.term == "breaking: break + widget"
        (finding,) = detect(detector, f"{filler}Break the widget gently. {filler}")
        assert finding.score == pytest.approx(0.4)

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.sampled_from(list("ab .!?;,)_\n\t-é3")), max_size=60))
    def test_sentences_match_a_plain_reading(self, text: str) -> None:
        """Two words share a sentence exactly when no sentence end lies between them."""
        pieces = re.split(r"[.!?;](?=[\W_]|$)|\n", text)
        flat = piecewise(text, _words.flat_words, _words.flat_words)  # as detect() reads it
        expected = [n for n, piece in enumerate(pieces) for _ in _words.flat_words(piece).split()]
        sentence = _words.sentences(flat) or [0] * len(flat.split())
        assert len(sentence) == len(expected) == len(flat.split())
        same = [a == b for a, b in itertools.pairwise(sentence)]
        assert same == [a == b for a, b in itertools.pairwise(expected)]

    def test_allowlist_cancels_overlapping_terms(self) -> None:
        """An allowlist phrase cancels the terms inside it."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        assert detect(detector, "tour the widget factory") == []

    def test_non_ascii_words(self) -> None:
        """Words of other scripts are read as words too, next to the ASCII ones."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        (finding,) = detect(detector, "\u0436\u0443\u043a smash \u4e2d\u6587 widget")
        assert finding.score == pytest.approx(0.9)

    def test_nothing_found(self) -> None:
        """A text with no terms gives no findings."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        assert detect(detector, "hello there") == []
        assert detect(detector, "") == []

    def test_obfuscated_text_matches(self) -> None:
        """Terms match the normalized view: leet and spacing do not hide them."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        (finding,) = detect(detector, "s m a s h the widg3t")
        assert finding.score == pytest.approx(0.9)

    def test_ordered_rules(self) -> None:
        """An ordered rule needs its lists in order."""
        data = dict(WIDGETS, rules=[{"all": ["verb", "widget"], "ordered": True}])
        detector = LexiconDetector(lexicon(**data))
        assert detect(detector, "widget smash") == []
        assert len(detect(detector, "smash widget")) == 1

    def test_fillers(self) -> None:
        """With fillers, only filler words may stand between the terms."""
        data = dict(WIDGETS, rules=[{"all": ["verb", "widget"], "fillers": "filler"}])
        detector = LexiconDetector(lexicon(**data))
        assert len(detect(detector, "smash the big widget")) == 1
        assert detect(detector, "smash my widget") == []
        assert len(detect(detector, "smash widget")) == 1

    def test_breaks(self) -> None:
        """A ``breaks`` term between the matched terms cancels the rule."""
        data = dict(WIDGETS, rules=[{"all": ["verb", "widget"], "breaks": ["stop"]}])
        detector = LexiconDetector(lexicon(**data))
        assert detect(detector, "smash not widget") == []
        assert len(detect(detector, "smash a widget")) == 1

    def test_min_coverage(self) -> None:
        """A coverage rule fires only when its terms are most of the message."""
        data = dict(WIDGETS, rules=[{"all": ["widget"], "min_coverage": 0.6}])
        detector = LexiconDetector(lexicon(**data))
        assert len(detect(detector, "widget widget")) == 1
        assert detect(detector, "I like my widget a lot") == []

    def test_repeated_terms_are_bounded(self) -> None:
        """A message repeating terms thousands of times is still judged, with one finding."""
        detector = LexiconDetector(lexicon(**WIDGETS))
        findings = detect(detector, "smash widget " * 2000)
        assert [f.category for f in findings] == ["widgets"]
        data = dict(WIDGETS, rules=[{"all": ["verb", "widget", "verb"], "ordered": True}])
        spam = LexiconDetector(lexicon(**data))
        assert len(detect(spam, "widget smash " * 500)) == 1

    def test_min_score(self) -> None:
        """Findings below ``min_score`` are left out."""
        detector = LexiconDetector(lexicon(**WIDGETS), min_score=0.5)
        assert detect(detector, "a gizmo") == []

    def test_categories_filter(self) -> None:
        """Only the asked categories are reported; unknown ones are refused."""
        merged = lexicon(**WIDGETS).merge(
            lexicon(category="other", lists={"x": {"terms": ["xyzzy"]}}, rules=[{"all": ["x"]}])
        )
        detector = LexiconDetector(merged, categories=["other"])
        assert detect(detector, "xyzzy widget")[0].category == "other"
        assert detector.categories == frozenset({"other"})
        with pytest.raises(cg.ConfigurationError, match="no rules"):
            LexiconDetector(merged, categories=["nope"])

    def test_repr_and_properties(self) -> None:
        """A detector shows its name and categories."""
        detector = LexiconDetector(lexicon(**WIDGETS), name="widgets")
        assert repr(detector) == "LexiconDetector('widgets', categories=['widgets'])"
        assert detector.lexicon.categories == frozenset({"widgets"})
        assert isinstance(detector, cg.Detector)

    def test_frozen_once_built(self) -> None:
        """A detector cannot be changed once built: no attribute is set or deleted."""
        detector = LexiconDetector(lexicon(**WIDGETS), name="widgets")
        with pytest.raises(FrozenInstanceError):
            detector.min_score = 0.5
        with pytest.raises(FrozenInstanceError):
            detector.name = "other"
        with pytest.raises(FrozenInstanceError):
            del detector.name
        assert (detector.name, detector.min_score) == ("widgets", 0.0)

    def test_usable_in_a_guard(self) -> None:
        """A lexicon detector plugs into a guard like any detector."""
        data = dict(WIDGETS, category="abuse")
        guard = cg.Guard(detectors=[LexiconDetector(lexicon(**data))])
        assert guard.start().send("smash the widget").action is cg.Action.REDIRECT


class TestIndex:
    """Terms are indexed under their rarest word; the words before it are checked."""

    DATA: dict[str, Any] = {  # noqa: RUF012 - read only
        "category": "widgets",
        "lists": {
            "thing": {"terms": ["the widget", "is it a gizmo", "how to"]},
            "verb": {"terms": ["smash"]},
        },
        "rules": [{"all": ["thing"]}, {"name": "smashing", "all": ["verb", "thing"]}],
    }

    @pytest.mark.parametrize(
        ("text", "span"),
        [
            ("the widget", "the widget"),
            ("oh, the widget", "the widget"),
            ("so is it a gizmo?", "is it a gizmo"),
            ("How to", "How to"),
        ],
    )
    def test_term_found_whole(self, text: str, span: str) -> None:
        """A term is found from its first word to its last, even at the start."""
        (finding,) = detect(LexiconDetector(lexicon(**self.DATA)), text)
        assert finding.evidence is not None
        assert text[finding.evidence.start : finding.evidence.end] == span

    @pytest.mark.parametrize("text", ["a widget", "widget", "it a gizmo", "was it a gizmo"])
    def test_words_before_the_anchor_must_match(self, text: str) -> None:
        """The rare word alone, or with other words before it, is no hit."""
        assert detect(LexiconDetector(lexicon(**self.DATA)), text) == []

    def test_ties_go_to_the_rule_with_more_lists(self) -> None:
        """Of two rules scoring the same, the one matching more lists gives the evidence."""
        (finding,) = detect(LexiconDetector(lexicon(**self.DATA)), "smash the widget")
        assert finding.evidence is not None
        assert finding.evidence.term == "smashing: smash + the widget"

    @pytest.mark.parametrize("text", ["a widget smash", "smash a widget"])
    def test_ties_between_equal_rules_go_to_the_first(self, text: str) -> None:
        """Of two equal rules, the first in the lexicon gives the evidence, wherever it matched."""
        for first, second in (("verb", "widget"), ("widget", "verb")):
            data = dict(WIDGETS, rules=[{"all": [first]}, {"all": [second]}])
            (finding,) = detect(LexiconDetector(lexicon(**data)), text)
            assert finding.evidence is not None
            assert finding.evidence.term == {"verb": "smash", "widget": "widget"}[first]

    def test_findings_in_text_order(self) -> None:
        """Findings of several categories come in the order of their evidence."""
        merged = lexicon(**WIDGETS).merge(
            lexicon(category="other", lists={"x": {"terms": ["xyzzy"]}}, rules=[{"all": ["x"]}])
        )
        detector = LexiconDetector(merged)
        assert [f.category for f in detect(detector, "xyzzy widget")] == ["other", "widgets"]
        assert [f.category for f in detect(detector, "widget xyzzy")] == ["widgets", "other"]


@functools.cache
def _built_in() -> LexiconDetector:
    """The default lexicon detector, built once: a build takes about a second."""
    detector = cg.default_detectors()[0]
    assert isinstance(detector, LexiconDetector)
    return detector


class TestLongMessages:
    """A long message is read whole: what each part finds, the whole finds."""

    def test_fixture_messages_joined(self) -> None:
        """Labelled messages joined line by line keep every category each finds alone.

        Abuse is left out: its "nothing but insults" rule needs the insults
        to cover most of the message, which twelve messages never are.
        """
        with FIXTURES.open(encoding="utf-8") as handle:
            texts = [json.loads(line)["text"] for line in handle if line.strip()]
        detector = _built_in()

        def found(text: str) -> set[str]:
            return {f.category for f in detect(detector, text) if f.score >= 0.5}

        alone = [found(text) for text in texts]
        for start in range(len(texts)):
            expected = set().union(*alone[start : start + 12]) - {"abuse"}
            joined = "\n".join(texts[start : start + 12])
            assert expected <= found(joined), joined

    @settings(max_examples=150, deadline=None)
    @given(
        st.lists(
            st.sampled_from(
                sorted(packaged_lexicon().vocabulary()) + ["x"] * 50 + [".", "?", "\n"] * 10
            ),
            min_size=60,
            max_size=400,
        )
    )
    def test_random_lexicon_words(self, words: list[str]) -> None:
        """Any mix of lexicon words and sentence ends gives evidence inside the text."""
        text = " ".join(words)
        for finding in detect(_built_in(), text):
            assert finding.evidence is not None
            assert 0 <= finding.evidence.start < finding.evidence.end <= len(text)

    def test_long_message_without_candidates(self) -> None:
        """A long message whose words fit no rule gives nothing."""
        data = dict(WIDGETS, rules=[{"all": ["verb", "widget"], "unless": ["stop"]}])
        detector = LexiconDetector(lexicon(**data))
        assert detect(detector, "widget not " * 60) == []
        assert detect(detector, "gizmo " * 60 + "smash") != []


class TestPatterns:
    def test_safe_pattern_matches(self) -> None:
        """A list's regular expression finds terms the word lists cannot spell."""
        data = {
            "category": "codes",
            "lists": {"code": {"terms": [], "patterns": [r"\bzx-?\d{3}\b"]}},
            "rules": [{"all": ["code"]}],
        }
        detector = LexiconDetector(lexicon(**data))
        text = "order ZX-123 now"
        (finding,) = detect(detector, text)
        assert finding.evidence is not None
        assert finding.evidence.term == "zx-123"
        assert text[finding.evidence.start : finding.evidence.end] == "ZX-123"
        assert detect(detector, "nothing here") == []

    def test_empty_pattern_matches_are_ignored(self) -> None:
        """A pattern that can match nothing never makes a finding of nothing."""
        data = {
            "category": "codes",
            "lists": {"code": {"terms": [], "patterns": [r"q?"]}},
            "rules": [{"all": ["code"]}],
        }
        assert detect(LexiconDetector(lexicon(**data)), "abc") == []

    @pytest.mark.parametrize(
        ("pattern", "reason"),
        [
            (r"(a+)+$", "nests quantifiers"),
            (r"(?:a*b*)*c", "nests quantifiers"),
            (r"(a|ab)*c", "repeats an alternation"),
            (r"(a)\1", "backreference"),
            (r"(?P<x>a)(?(x)b|c)", "backreference"),
            (r"(a", "not a valid"),
            ("", "non-empty"),
            ("a" * 600, "longer than"),
        ],
    )
    def test_risky_patterns_are_refused(self, pattern: str, reason: str) -> None:
        """Patterns that could backtrack catastrophically get a clear ConfigurationError."""
        with pytest.raises(cg.ConfigurationError, match=reason):
            check_pattern(pattern)

    def test_bounded_patterns_are_accepted(self) -> None:
        """Plain repeats, lookarounds and alternations outside repeats are fine."""
        for pattern in (r"\bab+c\b", r"(?<=x)y", r"(?!z)w", r"(red|blue) car", r"x(?:ab){2}"):
            assert check_pattern(pattern).pattern == pattern


class TestFormat:
    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"nonsense": 1}, "unknown top-level"),
            ({"category": 3}, "'category' must be a string"),
            ({"lists": []}, "'lists' must be a table"),
            ({"lists": {"a": []}}, "must be a table with 'terms'"),
            ({"lists": {"a": {"terms": [], "colour": 1}}}, "unknown keys"),
            ({"lists": {"a": {"terms": [3]}}}, "neither a string nor a table"),
            ({"lists": {"a": {"terms": ["!!"]}}}, "has no words"),
            ({"lists": {"a": {"terms": ["x"], "weight": 2}}}, "within 0.0..1.0"),
            ({"rules": {}}, "array of tables"),
            ({"rules": ["x"]}, "must be a table"),
            ({"category": "c", "rules": [{"all": []}]}, "at least one list"),
            ({"category": "c", "rules": [{"all": "a", "window": 0}]}, "positive integer"),
            ({"category": "c", "rules": [{"all": [1]}]}, "list of list names"),
            ({"category": "c", "rules": [{"all": ["a"], "speed": 1}]}, "unknown keys"),
            ({"category": "c", "rules": [{"all": ["a"], "fillers": ["a"]}]}, "name of one list"),
            ({"rules": [{"all": ["a"]}]}, "no category"),
            ({"allow": "x"}, "list of phrases"),
            ({"allow": ["x"]}, "needs the file's 'category'"),
        ],
    )
    def test_malformed_data_is_refused(self, data: dict[str, Any], message: str) -> None:
        """Each malformed lexicon gets a ConfigurationError saying what is wrong."""
        with pytest.raises(cg.ConfigurationError, match=message):
            Lexicon.from_dict(data)

    def test_not_a_table(self) -> None:
        """A lexicon that is not a table is refused."""
        with pytest.raises(cg.ConfigurationError, match="must be a table"):
            Lexicon.from_dict([])  # type: ignore[arg-type]

    def test_unknown_list_in_rule(self) -> None:
        """A rule naming a list nobody defined is refused when the detector is built."""
        bad = lexicon(category="c", rules=[{"all": ["ghost"], "unless": ["spook"]}])
        with pytest.raises(cg.ConfigurationError, match="ghost") as caught:
            LexiconDetector(bad)
        assert len(caught.value.errors) == 2

    def test_bad_detector_arguments(self) -> None:
        """A detector needs a Lexicon and a non-empty name."""
        with pytest.raises(cg.ConfigurationError, match="Lexicon"):
            LexiconDetector({"lists": {}})  # type: ignore[arg-type]
        with pytest.raises(cg.ConfigurationError, match="name"):
            LexiconDetector(lexicon(**WIDGETS), name="")
        with pytest.raises(cg.ConfigurationError, match="min_score"):
            LexiconDetector(lexicon(**WIDGETS), min_score=2)

    def test_toml_files(self, tmp_path: Path) -> None:
        """A lexicon is read from TOML; unreadable files get a ConfigurationError."""
        path = tmp_path / "extra.toml"
        path.write_text(
            'category = "abuse"\n'
            'allow = ["you muppet fan"]\n'
            "[lists.muppet]\n"
            'terms = ["muppet"]\n'
            "[[rules]]\n"
            'all = ["you", "muppet"]\n'
            "window = 3\n",
            encoding="utf-8",
        )
        extra = Lexicon.from_toml(path)
        detector = LexiconDetector(packaged_lexicon().merge(extra))
        assert detect(detector, "you muppet")[0].category == "abuse"
        assert not [f for f in detect(detector, "you muppet fan") if f.score >= 0.5]
        broken = tmp_path / "broken.toml"
        broken.write_text("[lists\n", encoding="utf-8")
        with pytest.raises(cg.ConfigurationError, match="cannot read"):
            Lexicon.from_toml(broken)
        with pytest.raises(cg.ConfigurationError, match="cannot read"):
            Lexicon.from_toml(tmp_path / "missing.toml")

    def test_merge_extends_lists(self) -> None:
        """Merging adds terms to a list of the same name, and rules and allowlists."""
        base = lexicon(**WIDGETS)
        more = lexicon(
            category="widgets", allow=["widget museum"], lists={"widget": {"terms": ["doohickey"]}}
        )
        merged = base.merge(more)
        assert "doohickey" in merged.terms("widget")
        assert "widget museum" in merged.allow["widgets"]
        assert len(merged.rules) == 2
        assert "lists=5" in repr(merged)
        with pytest.raises(cg.ConfigurationError, match="no list"):
            merged.terms("nope")

    def test_packaged_lexicon(self) -> None:
        """The packaged lexicon covers the five acted-on categories and its words."""
        packaged = packaged_lexicon()
        assert packaged.categories == {
            "mass_violence",
            "child_sexual_content",
            "abuse",
            "self_harm_risk",
            "harm_to_others_risk",
        }
        assert "bomb" in packaged.vocabulary()
        assert "weapon" in packaged.list_names()
        assert all(isinstance(rule, Rule) for rule in packaged.rules)

    def test_packaged_files_name_each_list_once(self) -> None:
        """No two packaged files define a list of the same name.

        Same-named lists merge, which a user's file may want; between the
        packaged files it would silently widen another category's rules.
        """
        folder = Path(_lexicon.__file__).parent / "data"
        owners: dict[str, list[str]] = {}
        for path in sorted(folder.glob("*.toml")):
            with path.open("rb") as handle:
                for name in tomllib.load(handle).get("lists", {}):
                    owners.setdefault(name, []).append(path.name)
        assert {name: files for name, files in owners.items() if len(files) > 1} == {}
