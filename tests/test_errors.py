"""The error tree: one root, builtin bases where they fit, data on attributes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


class TestBoundaryErrors:
    """Bad input at the edges gets a ConvguardError naming the right thing (issue 12)."""

    @pytest.mark.parametrize("store", ["memory", "sqlite"])
    @pytest.mark.parametrize("bad", ["a\ud800b", "a\x00b"])
    def test_unstorable_ids_are_refused(self, store: str, bad: str, tmp_path: Path) -> None:
        """A lone surrogate or NUL in a conversation id or locale: refused, nothing stored."""
        backend = cg.MemoryStore() if store == "memory" else cg.SQLiteStore(tmp_path / "c.db")
        guard = cg.Guard(store=backend)
        with pytest.raises(cg.InvalidOperationError):
            guard.start(conversation_id=bad)
        with pytest.raises(cg.InvalidOperationError):
            guard.start(locale=bad)
        assert guard.conversations().ids == []
        with pytest.raises(cg.UnknownConversationError):
            guard.open(bad)
        conv = guard.start()
        conv.send("hello")
        with pytest.raises(cg.UnknownMessageError):
            conv.switch(bad)
        assert conv.export().messages  # export still works

    def test_a_non_str_message_id_is_a_type_error(self) -> None:
        """switch(5) says what is wrong with the argument."""
        conv = cg.Guard().start()
        with pytest.raises(cg.InvalidOperationError, match="must be a str, not int"):
            conv.switch(5)  # type: ignore[arg-type]

    def test_errors_name_the_argument(self) -> None:
        """reason=5, comment={} and an empty kind say which argument is wrong."""
        conv = cg.Guard().start()
        conv.send("hello")
        with pytest.raises(cg.InvalidMessageError, match="reason must be a str"):
            conv.request_end(by="user", reason=5)  # type: ignore[arg-type]
        with pytest.raises(cg.InvalidMessageError, match="comment must be a str"):
            conv.feedback("bug", comment={})  # type: ignore[arg-type]
        with pytest.raises(cg.InvalidMessageError, match="feedback kind is empty"):
            conv.feedback("")

    def test_invisible_text_is_empty(self) -> None:
        """A message of zero-width characters only is refused like an empty one."""
        conv = cg.Guard().start()
        with pytest.raises(cg.InvalidMessageError, match="invisible"):
            conv.send("\u200b\u200d\ufeff")
        assert conv.messages() == []

    def test_nothing_to_end_on_an_empty_branch(self) -> None:
        """request_end before any user message is refused: nothing stored, and why."""
        conv = cg.Guard().start(system="You are helpful.")
        verdict = conv.request_end(by="user", confirmed=True)
        assert verdict.message_id is None
        assert "nothing to end" in verdict.reasons[-1]
        assert len(conv.messages()) == 1
        assert not conv.ended()

    def test_deep_metadata_is_refused(self) -> None:
        """Metadata nested 5,000 deep: a clear error, not a RecursionError."""
        deep: dict[str, object] = {}
        node = deep
        for _ in range(5_000):
            node["x"] = {}
            node = node["x"]  # type: ignore[assignment]
        conv = cg.Guard().start()
        with pytest.raises(cg.InvalidMessageError, match="deeper than"):
            conv.send("hello", metadata=deep)

    def test_protective_cannot_be_emptied_by_accident(self) -> None:
        """PolicyConfig(protective=set()) removes the at-risk guarantee: say so."""
        with pytest.raises(cg.ConfigurationError, match="allow_no_protective"):
            cg.PolicyConfig(protective=set())
        assert not cg.PolicyConfig(protective=set(), allow_no_protective=True).protective


class TestDetectorResultsAtTheBoundary:
    @pytest.mark.parametrize(
        "finding",
        [
            cg.Finding("abuse", 1.0, 5),  # type: ignore[arg-type]
            cg.Finding("abuse", 1.0, ""),
            cg.Finding("abuse", 1.0, "x\ud800"),
            cg.Finding("", 1.0, "d"),
        ],
    )
    def test_an_unstorable_finding_fails_its_detector(self, finding: cg.Finding) -> None:
        """A finding no store could keep is that detector's failure; export still works."""

        class Bad:
            name = "bad"

            def detect(self, text: str, context: cg.DetectionContext) -> list[cg.Finding]:
                return [finding]

        conv = cg.Guard(detectors=[Bad()]).start()
        verdict = conv.send("hello")
        assert verdict.action is cg.Action.ALLOW
        assert verdict.errors[0].kind == "invalid"
        assert conv.export().messages

    def test_a_result_whose_iteration_raises(self) -> None:
        """A sequence that raises while read is recorded as an error."""

        class Exploding(list[cg.Finding]):
            def __iter__(self) -> Any:
                msg = "boom \ud800"
                raise RuntimeError(msg)

        class Bad:
            name = "bad"

            def detect(self, text: str, context: cg.DetectionContext) -> list[cg.Finding]:
                return Exploding()

        conv = cg.Guard(detectors=[Bad()]).start()
        verdict = conv.send("hello")
        assert verdict.errors[0].kind == "error"
        assert "boom" in verdict.errors[0].message
        assert conv.export().messages


class TestToolCallMetadata:
    def test_both_shapes_are_stored(self) -> None:
        """The OpenAI shape and the flat shape of tool_calls are accepted when stored."""
        conv = cg.Guard().start()
        conv.send("hi")
        openai_shape = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "end_conversation", "arguments": "{}"},
        }
        conv.add("assistant", "", metadata={"tool_calls": [openai_shape]})
        conv.add("tool", "refused", metadata={"tool_call_id": "call_1"})
        conv.add("assistant", "", metadata={"tool_calls": [{"id": "c2", "name": "x"}]})
        assert len(conv.messages()) == 4

    def test_another_shape_is_refused_when_stored(self) -> None:
        """A shape the writers cannot read is a FormatError at add(), nothing stored."""
        conv = cg.Guard().start()
        conv.send("hi")
        with pytest.raises(cg.FormatError, match="tool_calls"):
            conv.add("assistant", "", metadata={"tool_calls": [{"foo": 1}]})
        assert len(conv.messages()) == 1


class TestImportsAreChecked:
    def test_a_huge_integer_in_imported_metadata(self) -> None:
        """A 5,000-digit integer: FormatError from JSON, and from a dict, nothing stored."""
        text = (
            '{"id": "c1", "messages": [{"id": "m1", "role": "user", "content": "hi",'
            ' "metadata": {"n": ' + "9" * 5000 + "}}]}"
        )
        with pytest.raises(cg.FormatError):
            cg.ConversationRecord.from_json(text)
        huge = 10**4400  # built by arithmetic: str() of it is what fails
        record = cg.ConversationRecord.from_dict(
            {"id": "c1", "messages": [{"id": "m1", "role": "user", "content": "hi"}]}
        )
        message = record.messages[0].model_copy(update={"metadata": {"n": huge}})
        guard = cg.Guard()
        with pytest.raises(cg.FormatError, match="m1"):
            guard.import_record(record.model_copy(update={"messages": (message,)}))
        assert not guard.conversations().items

    def test_an_empty_user_message_is_not_imported(self) -> None:
        """Imports never store what send() would refuse."""
        record = cg.ConversationRecord.from_dict(
            {"id": "c1", "messages": [{"id": "m1", "role": "user", "content": "\u200b"}]}
        )
        guard = cg.Guard()
        with pytest.raises(cg.FormatError, match="empty"):
            guard.import_record(record)
        assert not guard.conversations().items
