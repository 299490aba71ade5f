"""normalize: the de-obfuscated view detectors read, and the way back to offsets."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from convguard.detectors import NormalizedText, Normalizer, normalize
from convguard.detectors._fold import fold_char

VOCABULARY = ("kill", "bomb", "how", "to", "make", "a", "you", "stupid", "bot", "fuck", "myself")


@pytest.fixture
def small() -> Normalizer:
    """A normalizer with a tiny vocabulary, for exact expectations."""
    return Normalizer(VOCABULARY)


class TestCharacters:
    def test_case_and_nfkc_are_folded(self) -> None:
        """Fullwidth and upper-case letters read as plain lower case."""
        assert normalize("\uff22\uff2f\uff2d\uff22").text == "bomb"
        assert normalize("HELLO There").text == "hello there"

    def test_invisible_characters_are_removed(self) -> None:
        """Zero-width and bidi characters inside a word do not split it."""
        assert normalize("b\u200bo\u200dm\u202eb").text == "bomb"

    def test_homoglyphs_fold_to_ascii(self) -> None:
        """Cyrillic look-alike letters read as the Latin letters they imitate."""
        assert normalize("b\u043em\u0432").text.startswith("bom")
        assert normalize("\u0441\u0430t").text == "cat"

    def test_accents_are_stripped(self) -> None:
        """Accented letters read as their base letter."""
        assert normalize("st\u00fcpid").text == "stupid"

    def test_apostrophes_are_dropped(self) -> None:
        """Contractions read as one word, curly apostrophes too."""
        assert normalize("you're I\u2019m").text == "youre im"

    def test_dashes_and_spaces_are_unified(self) -> None:
        """Unicode dashes and spaces read as ASCII ones; newlines stay."""
        assert normalize("well\u2013known\u00a0fact\nok").text == "well-known fact\nok"

    def test_control_and_marks(self) -> None:
        """Control characters read as spaces and lone combining marks vanish."""
        assert fold_char("\x07") == " "
        assert fold_char("\u0301") == ""
        assert fold_char("\u2066") == ""


class TestWords:
    def test_leetspeak_folds_to_known_words(self, small: Normalizer) -> None:
        """Digits and symbols standing for letters are read as the letters."""
        assert small("h0w t0 m4ke a b0mb").text == "how to make a bomb"
        assert small("k1ll").text == "kill"
        assert small("$tupid").text == "stupid"

    def test_one_may_stand_for_l(self, small: Normalizer) -> None:
        """A ``1`` or ``|`` that only makes sense as ``l`` is read as ``l``."""
        assert small("ki11").text == "kill"
        assert small("ki||").text == "kill"

    def test_numbers_and_units_stay(self, small: Normalizer) -> None:
        """Numbers, ordinals and version-like tokens are not turned into letters."""
        assert small("in 2024 the 10th mp3").text == "in 2024 the 10th mp3"

    def test_known_tokens_are_kept(self) -> None:
        """A token that is itself a known word (``c4``, ``13yo``) is left alone."""
        assert normalize("c4 and 13yo").text == "c4 and 13yo"

    def test_leading_digits_keep_their_number(self) -> None:
        """An age glued to a leet unit keeps its number: ``13y0`` reads ``13yo``."""
        assert normalize("13y0").text == "13yo"

    def test_unknown_leet_still_folds(self, small: Normalizer) -> None:
        """An unknown word with leet inside is folded all the same."""
        assert small("pr0cess").text == "process"

    def test_masked_letters_resolve(self, small: Normalizer) -> None:
        """Asterisks masking letters are resolved to a known word."""
        assert small("f*ck you").text == "fuck you"
        assert small("b*mb").text == "bomb"
        assert small("qq*qq").text == "q"

    def test_stretched_letters_collapse(self, small: Normalizer) -> None:
        """Letters repeated for emphasis collapse to the known word."""
        assert small("kiiiilll").text == "kill"
        assert small("sooooo").text == "so"

    def test_trailing_punctuation_survives(self, small: Normalizer) -> None:
        """An exclamation mark after a word stays punctuation."""
        assert small("you!!").text == "you!!"
        assert small("st|_|pid!").text.endswith("!")

    def test_spaced_letters_join(self, small: Normalizer) -> None:
        """Letters spaced or dotted apart are joined into words."""
        assert small("k i l l").text == "kill"
        assert small("k.i.l.l").text == "kill"
        assert small("b 0 m b").text == "bomb"
        assert small("k*i*l*l").text == "kill"

    def test_spaced_run_splits_into_words(self, small: Normalizer) -> None:
        """A run of spaced letters is split back into the known words it holds."""
        assert small("k i l l m y s e l f").text == "kill myself"
        assert small("m a k e a b o m b").text == "make a bomb"

    def test_two_letters_join_only_into_a_word(self, small: Normalizer) -> None:
        """Two spaced letters join only when they spell a known word."""
        assert small("plan b i think").text == "plan b i think"
        assert small("t o").text == "to"

    def test_unknown_stretch_stays_whole(self, small: Normalizer) -> None:
        """An unknown word inside a spaced run is kept whole, not cut into letters."""
        assert small("m a k e q w e r t y").text == "make qwerty"

    def test_suffixes_of_known_words(self, small: Normalizer) -> None:
        """A known word with a common suffix is kept together."""
        assert small("k i l l e d").text == "killed"

    def test_long_spaced_run_is_joined(self, small: Normalizer) -> None:
        """A very long spaced run is joined without splitting."""
        run = " ".join("ab" * 130)
        assert small(run).text == "ab" * 130

    def test_spaced_symbols_that_are_not_letters(self, small: Normalizer) -> None:
        """A spaced run of digits that spell nothing stays as typed."""
        assert small("1 2 3").text == "1 2 3"
        assert small("@ 5 @").text == "@ 5 @"

    def test_numbers_inside_spaced_runs(self) -> None:
        """A number between spaced words stays a number when that reads better."""
        assert normalize("a n a k e d 9 y e a r old").text == "a naked 9 year old"


class TestOffsets:
    def test_clean_text_maps_to_itself(self) -> None:
        """A text that needs no change maps every offset to itself."""
        normalized = normalize("hello there")
        assert normalized.offsets == tuple(range(11))
        assert normalized.span(6, 11) == (6, 11)

    def test_span_maps_back_to_original(self) -> None:
        """A span of the normalized text maps back to where it came from."""
        original = "Please, K\u200bI\u200bL\u200bL it"
        normalized = normalize(original)
        start = normalized.text.index("kill")
        begin, end = normalized.span(start, start + 4)
        assert original[begin:end] == "K\u200bI\u200bL\u200bL"

    def test_span_over_a_rewritten_word(self) -> None:
        """A leet word maps back to the whole obfuscated word."""
        original = "make a b0mb now"
        normalized = normalize(original)
        start = normalized.text.index("bomb")
        assert normalized.span(start, start + 4) == (7, 11)

    def test_empty_and_out_of_range_spans(self) -> None:
        """Empty or out-of-range spans give an empty span, never an error."""
        normalized = normalize("abc")
        assert normalized.span(2, 2) == (2, 2)
        assert normalized.span(5, 9) == (3, 3)
        assert normalize("").span(0, 0) == (0, 0)

    def test_spans_agree_with_the_whole_map(self) -> None:
        """A span points where the full offset map says, whatever was folded."""
        texts = ("\ufb01ne b0mb", "it's k i l l", "\uff46ull \u00df x\u200by", "kiiill me", "plain")
        for text in texts:
            whole = normalize(text).offsets
            for index, offset in enumerate(whole):
                assert normalize(text).span(index, index + 1) == (offset, offset + 1)

    def test_given_offsets_are_kept(self) -> None:
        """A NormalizedText built with offsets uses them as given."""
        normalized = NormalizedText("ab", "xaxb", (1, 3))
        assert normalized.span(0, 2) == (1, 4)
        assert repr(normalized) == "NormalizedText('ab')"

    def test_equality(self) -> None:
        """Two normalizations of one text are equal and hash alike."""
        assert normalize("B0MB") == normalize("B0MB")
        assert hash(normalize("B0MB")) == hash(normalize("B0MB"))
        assert normalize("a") != normalize("b")
        assert normalize("a") != "a"

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=60))
    def test_offsets_cover_every_character(self, text: str) -> None:
        """Every normalized character maps to a valid, non-decreasing offset."""
        normalized = normalize(text)
        offsets = normalized.offsets
        assert len(offsets) == len(normalized.text)
        assert all(0 <= o < len(text) for o in offsets)
        assert list(offsets) == sorted(offsets)

    @settings(max_examples=100, deadline=None)
    @given(st.text(alphabet="ab01 .*!|$@kil", max_size=40))
    def test_obfuscation_alphabet(self, text: str) -> None:
        """Leet and spacing characters never break the offset map."""
        normalized = normalize(text)
        assert len(normalized.offsets) == len(normalized.text)


class TestNormalizer:
    def test_repr_and_vocabulary(self, small: Normalizer) -> None:
        """A normalizer tells its vocabulary size."""
        assert "kill" in small.vocabulary
        assert "words" in repr(small)

    def test_offsets_method(self, small: Normalizer) -> None:
        """``offsets()`` gives the same map as the normalized view."""
        text = "I'm gonna k1ll\u200b it"
        assert tuple(small.offsets(text)) == small(text).offsets

    def test_long_message_is_bounded(self) -> None:
        """A 5,000-character message is normalized in one pass."""
        text = ("k i l l " * 300) + ("b0mb " * 400)
        assert "bomb" in normalize(text).text


class TestNormalizedTextAsText:
    def test_in_and_str_read_the_normalized_text(self) -> None:
        """'x' in context.normalized and str(context.normalized) read the de-obfuscated text."""
        normalized = normalize("I W\u200bANT to k1ll")
        assert str(normalized) == normalized.text
        assert "kill" in normalized
        assert "k1ll" not in normalized  # the original's spelling is gone
        assert "k1ll" in normalized.original
        with pytest.raises(TypeError):
            assert 5 in normalized  # type: ignore[operator]
