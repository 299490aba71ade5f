"""The error tree: one root, builtin bases where they fit, data on attributes."""

from __future__ import annotations

import pytest

import convguard as cg


class TestTree:
    @pytest.mark.parametrize(
        ("error", "bases"),
        [
            (cg.ConversationEndedError, ()),
            (cg.UnknownConversationError, (LookupError,)),
            (cg.UnknownMessageError, (LookupError,)),
            (cg.InvalidMessageError, (ValueError,)),
            (cg.InvalidOperationError, (ValueError,)),
            (cg.ConfigurationError, (ValueError,)),
            (cg.FormatError, (ValueError,)),
            (cg.DetectorError, ()),
            (cg.StoreError, ()),
            (cg.StoreConflictError, (cg.StoreError,)),
            (cg.StoreUnavailableError, (cg.StoreError,)),
            (cg.StoreCorruptError, (cg.StoreError,)),
        ],
    )
    def test_every_error_is_a_convguard_error(
        self, error: type[Exception], bases: tuple[type[Exception], ...]
    ) -> None:
        """One except clause catches everything convguard raises."""
        assert issubclass(error, cg.ConvguardError)
        for base in bases:
            assert issubclass(error, base)

    def test_the_module_docstring_draws_every_error(self) -> None:
        """The tree in the docstring names every error class."""
        from convguard import _errors

        doc = _errors.__doc__ or ""
        for name in _errors.__all__:
            if name.endswith("Error"):
                assert name in doc


class TestData:
    def test_ended_error_carries_the_ways_forward(self) -> None:
        """A backend can show the user what they can still do."""
        error = cg.ConversationEndedError("c", "m")
        assert (error.conversation_id, error.message_id, error.closed) == ("c", "m", False)
        assert error.ways_forward == (
            cg.WayForward.NEW_CHAT,
            cg.WayForward.EDIT,
            cg.WayForward.FEEDBACK,
        )
        assert "edit an earlier message" in str(error)
        closed = cg.ConversationEndedError("c", None, closed=True)
        assert cg.WayForward.EDIT not in closed.ways_forward
        assert "closed" in str(closed)

    def test_lookup_errors_name_the_ids(self) -> None:
        """Unknown ids are on the error and in its message."""
        error = cg.UnknownMessageError("c", "m")
        assert (error.conversation_id, error.message_id) == ("c", "m")
        assert "'m'" in str(error)
        assert cg.UnknownConversationError("c").conversation_id == "c"

    def test_format_error_names_file_conversation_and_field(self) -> None:
        """A format error says where the problem is."""
        error = cg.FormatError("bad", path="x.json", conversation_id="c", field="mapping")
        assert str(error) == "file 'x.json', conversation 'c', field 'mapping': bad"
        assert str(cg.FormatError("bad")) == "bad"

    def test_other_errors_carry_their_data(self) -> None:
        """Each error keeps what a caller needs."""
        assert cg.InvalidMessageError("too long").reason == "too long"
        assert cg.ConfigurationError("bad").errors == ("bad",)
        assert cg.DetectorError("d", "boom").detector == "d"
        conflict = cg.StoreConflictError("c", "version 3")
        assert conflict.conversation_id == "c"
        assert "version 3" in str(conflict)
        assert str(cg.StoreConflictError("c")).endswith("another writer")
