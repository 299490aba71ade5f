"""The ChatGPT export reader, and the helpers every format shares."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

import convguard as cg
from convguard.formats import chatgpt
from convguard.formats._common import (
    Fields,
    Loaded,
)
from convguard.formats._sources import (
    expand,
    open_text,
    open_write,
    write_text,
)

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
TRIP = "6650a1b2-0000-4000-8000-00000000000a"
CODE = "6650a1b2-0000-4000-8000-00000000000b"


def leaves(record: cg.ConversationRecord) -> set[str]:
    """Return the ids of the record's leaves (one per branch)."""
    parents = {m.parent_id for m in record.messages}
    return {m.id for m in record.messages if m.id not in parents}


def by_id(record: cg.ConversationRecord) -> dict[str, cg.MessageRecord]:
    """Return the record's messages by id."""
    return {m.id: m for m in record.messages}


def node(
    node_id: str, parent: str | None, role: str | None = "user", text: str = "Hi"
) -> dict[str, Any]:
    """Return a mapping node; role None makes a structural node."""
    message = None
    if role is not None:
        message = {
            "id": node_id,
            "author": {"role": role},
            "content": {"content_type": "text", "parts": [text]},
        }
    return {"id": node_id, "message": message, "parent": parent, "children": []}


def conversation(*nodes: dict[str, Any], current: str | None = None) -> dict[str, Any]:
    """Return a minimal export conversation holding *nodes*."""
    return {
        "id": "c-1",
        "title": "t",
        "mapping": {n["id"]: n for n in nodes},
        "current_node": current,
    }


@pytest.fixture(scope="module")
def export() -> Loaded:
    """The two conversations of the fixture export."""
    return chatgpt.load(FIXTURES / "chatgpt_conversations.json")


class TestLoad:
    """Reading a real-shaped conversations.json."""

    def test_every_conversation_and_branch(self, export: Loaded) -> None:
        """Both conversations load, with every regeneration and edit as a branch."""
        assert [r.id for r in export] == [TRIP, CODE]
        assert leaves(export[0]) == {"a-1b", "a-2", "a-3"}
        assert export.skipped == []

    def test_active_tip_is_current_node(self, export: Loaded) -> None:
        """current_node becomes the active tip."""
        assert export[0].active_tip_id == "a-3"
        assert export[1].active_tip_id == "c-a2"

    def test_structural_nodes_are_dropped(self, export: Loaded) -> None:
        """Nodes with a null message vanish; their children hang from the nearest real ancestor."""
        trip, code = by_id(export[0]), by_id(export[1])
        assert "client-created-root" not in trip
        assert trip["sys-1"].parent_id is None
        assert trip["u-1"].parent_id == "sys-1"
        assert code["c-u1"].parent_id is None
        assert code["c-a2"].parent_id == "c-t1"

    def test_hidden_system_node_is_kept_and_marked(self, export: Loaded) -> None:
        """A hidden system message is kept with metadata hidden=True."""
        system = by_id(export[0])["sys-1"]
        assert system.role == "system"
        assert system.metadata["hidden"] is True

    def test_multimodal_parts(self, export: Loaded) -> None:
        """An image part becomes [image] in the text; the part is kept in metadata."""
        message = by_id(export[0])["u-2"]
        assert message.content == "[image]\nSomewhere like this beach."
        extra = message.metadata["chatgpt"]
        assert extra["content_type"] == "multimodal_text"
        assert extra["attachments"][0]["asset_pointer"] == "file-service://file-abc123"

    def test_times_titles_and_status(self, export: Loaded) -> None:
        """Float times become UTC datetimes; null times and titles stay None; status is kept."""
        trip, code = export
        assert trip.created_at == datetime.fromtimestamp(1700000000.25, tz=UTC)
        assert by_id(trip)["a-2"].created_at is None
        assert by_id(trip)["a-1"].metadata["chatgpt"]["status"] == "finished_successfully"
        assert "status" not in by_id(trip)["a-1b"].metadata["chatgpt"]
        assert by_id(trip)["a-1"].metadata["chatgpt"]["model"] == "gpt-4o"
        assert code.title is None
        assert code.created_at is None
        assert trip.metadata["source"] == "chatgpt"

    def test_code_and_tool_messages(self, export: Loaded) -> None:
        """Code sent to a tool is a tool call; its output answers it; the tool's name is kept."""
        code = by_id(export[1])
        assert code["c-a1"].content == ""
        (call,) = code["c-a1"].metadata["tool_calls"]
        assert call["name"] == "python"
        assert json.loads(call["arguments"]) == {"input": "print(2 + 2)"}
        assert code["c-a1"].metadata["chatgpt"]["recipient"] == "python"
        assert code["c-t1"].metadata["tool_call_id"] == call["id"]
        assert code["c-t1"].role == "tool"
        assert code["c-t1"].content == "4"
        assert code["c-t1"].metadata["chatgpt"]["name"] == "python"

    def test_split_files_and_directories(self, export: Loaded) -> None:
        """The split conversations-000.json files read the same, as a directory or a list."""
        split = FIXTURES / "chatgpt_split"
        from_dir = chatgpt.load(split)
        from_list = chatgpt.load(sorted(split.glob("*.json")))
        assert from_dir == from_list == list(export)

    def test_open_files(self, export: Loaded) -> None:
        """Open binary and text files are read and left open."""
        data = (FIXTURES / "chatgpt_conversations.json").read_bytes()
        binary = io.BytesIO(b"\xef\xbb\xbf" + data)
        text = io.StringIO(data.decode())
        assert chatgpt.load(binary) == list(export)
        assert chatgpt.load(text) == list(export)
        assert not binary.closed
        assert not text.closed

    def test_through_the_package(self, export: Loaded) -> None:
        """cg.formats.load tells the format from the content."""
        path = FIXTURES / "chatgpt_conversations.json"
        assert cg.formats.detect(path) == "chatgpt"
        assert cg.formats.load(path) == list(export)
        assert cg.formats.load(path, format="chatgpt") == list(export)

    def test_replay_sees_every_branch(self, export: Loaded, guard: cg.Guard) -> None:
        """A loaded export replays: one result per branch."""
        replay = guard.replay(export[0])
        assert {b.leaf_id for b in replay.branches} == {"a-1b", "a-2", "a-3"}

    def test_current_node_on_a_structural_node(self) -> None:
        """A current_node without a message falls back to its nearest real ancestor."""
        data = conversation(
            node("u", None), node("gap", "u", role=None), node("a", "gap"), current="gap"
        )
        (record,) = chatgpt.from_data(data)
        assert record.active_tip_id == "u"
        assert by_id(record)["a"].parent_id == "u"

    def test_null_current_node_and_odd_content(self) -> None:
        """Null content and empty parts are no turns: kept in the record's metadata."""
        first, second, third = node("u", None), node("a", "u"), node("b", "u")
        first["message"]["content"] = None
        second["message"]["content"] = {"content_type": "thoughts", "thoughts": []}
        third["message"]["content"] = {"content_type": "text", "parts": None}
        (record,) = chatgpt.from_data({"conversations": [conversation(first, second, third)]})
        assert record.active_tip_id is None
        assert record.messages == ()
        hidden = record.metadata["hidden_messages"]
        assert [(m["id"], m["content"]) for m in hidden] == [("u", ""), ("a", ""), ("b", "")]


class TestMalformed:
    """Bad conversations name the file, the conversation and the field."""

    @pytest.mark.parametrize(
        ("conversation_id", "field", "words"),
        [
            ("bad-cycle", "mapping.x-1.parent", "cycle"),
            ("bad-missing", "mapping.y-2.parent", "missing"),
            ("bad-role", "mapping.z-1.message.author.role", "not 7"),
            ("bad-duplicate", "mapping.d-2.message.id", "appears twice"),
        ],
    )
    def test_each_case(self, conversation_id: str, field: str, words: str) -> None:
        """A cycle, a missing parent, a wrong type and a duplicate id each get a clear error."""
        data = json.loads((FIXTURES / "chatgpt_bad.json").read_text())
        bad = next(c for c in data if c["id"] == conversation_id)
        with pytest.raises(cg.FormatError, match=words) as caught:
            chatgpt.from_data([bad], path="export.json")
        assert caught.value.path == "export.json"
        assert caught.value.conversation_id == conversation_id
        assert caught.value.field == field
        assert conversation_id in str(caught.value)

    def test_raise_stops_at_the_first(self) -> None:
        """By default the first bad conversation raises, naming the file."""
        path = FIXTURES / "chatgpt_bad.json"
        with pytest.raises(cg.FormatError) as caught:
            chatgpt.load(path)
        assert caught.value.path == str(path)
        assert caught.value.conversation_id == "bad-cycle"

    def test_skip_keeps_the_good_ones(self) -> None:
        """errors='skip' yields the good conversations and lists what it skipped."""
        result = chatgpt.load(FIXTURES / "chatgpt_bad.json", errors="skip")
        assert [r.id for r in result] == [TRIP, CODE]
        assert [e.conversation_id for e in result.skipped] == [
            "bad-cycle",
            "bad-missing",
            "bad-role",
            "bad-duplicate",
        ]
        assert all(e.path == str(FIXTURES / "chatgpt_bad.json") for e in result.skipped)
        assert "2 conversations, 4 skipped" in repr(result)

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (lambda c: c.update(id=5), "conversations[0].conversation_id"),
            (lambda c: c.update(mapping=[]), "mapping"),
            (lambda c: c.update(title=3), "title"),
            (lambda c: c.update(create_time="soon"), "create_time"),
            (lambda c: c.update(current_node="nowhere"), "current_node"),
            (lambda c: c["mapping"].update(u="node"), "mapping.u"),
            (lambda c: c["mapping"]["u"].update(parent=4), "mapping.u.parent"),
            (
                lambda c: c["mapping"]["u"]["message"].update(author=None),
                "mapping.u.message.author",
            ),
            (
                lambda c: c["mapping"]["u"]["message"]["content"].update(parts=[{}, None, 1]),
                "mapping.u.message.content.parts[2]",
            ),
            (
                lambda c: c["mapping"]["u"]["message"]["content"].update(content_type=5),
                "mapping.u.message.content.content_type",
            ),
            (
                lambda c: c["mapping"]["u"]["message"].update(metadata=["x"]),
                "mapping.u.message.metadata",
            ),
        ],
    )
    def test_wrong_types(self, change: Any, field: str) -> None:
        """A value of the wrong type is named by its field."""
        data = conversation(node("u", None), node("v", "u", text="Yo"), current="u")
        change(data)
        with pytest.raises(cg.FormatError) as caught:
            chatgpt.from_data([data])
        assert caught.value.field == field

    def test_not_an_export(self) -> None:
        """JSON that is no export, or no conversation, is refused."""
        with pytest.raises(cg.FormatError, match="array of conversations"):
            chatgpt.from_data({"hello": 1}, path="x.json")
        with pytest.raises(cg.FormatError, match="expected an object"):
            chatgpt.from_data([3])

    def test_malformed_json_names_the_line(self, tmp_path: Path) -> None:
        """Broken JSON gets a FormatError with the file and the line."""
        path = tmp_path / "conversations.json"
        path.write_text('[\n{"title": }\n]')
        with pytest.raises(cg.FormatError, match="line 2") as caught:
            chatgpt.load(path)
        assert caught.value.path == str(path)

    def test_deeply_nested_json(self) -> None:
        """JSON nested too deeply for the parser is a FormatError, not a RecursionError."""
        with pytest.raises(cg.FormatError, match="nested too deeply"):
            chatgpt.load(io.StringIO("[" * 100_000 + "]" * 100_000))

    def test_missing_and_unreadable_files(self, tmp_path: Path) -> None:
        """A missing file, an empty directory and bytes that are not UTF-8 are FormatErrors."""
        with pytest.raises(cg.FormatError, match="no such file"):
            chatgpt.load(tmp_path / "nope.json")
        with pytest.raises(cg.FormatError, match="no conversations"):
            chatgpt.load(tmp_path)
        (tmp_path / "conversations.json").write_bytes(b"\xff\xfe[")
        with pytest.raises(cg.FormatError, match="cannot read"):
            chatgpt.load(tmp_path)
        with pytest.raises(cg.FormatError, match="not int"):
            chatgpt.load([3])  # type: ignore[list-item]

    def test_errors_option_is_checked(self) -> None:
        """errors must be raise or skip."""
        with pytest.raises(cg.FormatError, match="errors must be"):
            chatgpt.load(FIXTURES / "chatgpt_conversations.json", errors="ignore")  # type: ignore[arg-type]


class TestCommon:
    """The helpers all formats share."""

    def test_directories_without_export_names(self, tmp_path: Path) -> None:
        """A directory without conversations*.json gives its .json and .jsonl files."""
        (tmp_path / "b.jsonl").write_text("")
        (tmp_path / "a.json").write_text("[]")
        (tmp_path / "notes.txt").write_text("")
        assert expand(tmp_path) == [tmp_path / "a.json", tmp_path / "b.jsonl"]

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, None),
            ("", None),
            (0, datetime(1970, 1, 1, tzinfo=UTC)),
            ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
            ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ],
    )
    def test_times(self, value: object, expected: datetime | None) -> None:
        """Epoch seconds and ISO strings are times; a time without a zone is UTC."""
        assert Fields("c").time(value, "t") == expected

    @pytest.mark.parametrize("value", [True, "later", 1e20, [1]])
    def test_bad_times(self, value: object) -> None:
        """Booleans, words, huge numbers and arrays are not times."""
        with pytest.raises(cg.FormatError, match="expected a time") as caught:
            Fields("c").time(value, "t")
        assert caught.value.field == "t"

    def test_field_kinds_in_messages(self) -> None:
        """Errors say what kind of value was found instead."""
        fields = Fields("c")
        for value, kind in [
            ({}, "an object"),
            (True, "a boolean"),
            ("", "an empty string"),
            (1.5, "a number"),
            (None, "null"),
        ]:
            with pytest.raises(cg.FormatError, match=kind):
                fields.list(value, "f")
        assert fields.optional_string(None, "f") is None
        assert fields.mapping(MappingProxyType({"a": 1}), "f") == {"a": 1}
        with pytest.raises(cg.FormatError, match="a string, not an array"):
            fields.text([], "f")

    def test_writing_to_files(self, tmp_path: Path) -> None:
        """Text is written to paths, text files and binary files; others are refused."""
        write_text("hé\n", tmp_path / "out.txt")
        assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "hé\n"
        binary = io.BytesIO()
        write_text("hé", binary)
        assert binary.getvalue() == "hé".encode()
        text = io.StringIO()
        write_text("hé", text)
        assert text.getvalue() == "hé"
        with pytest.raises(cg.FormatError, match="cannot write"):
            write_text("x", tmp_path / "missing" / "out.txt")
        with pytest.raises(cg.FormatError, match="expected a path"), open_write(3):  # type: ignore[arg-type]
            pass

    def test_open_failure(self, tmp_path: Path) -> None:
        """A path that cannot be opened is a FormatError naming it."""
        with pytest.raises(cg.FormatError, match="cannot open"), open_text(tmp_path):
            pass

    def test_unwritable_stream(self) -> None:
        """A stream that fails to write gives a FormatError."""

        class Broken(io.StringIO):
            def write(self, text: str) -> int:
                raise OSError(28, "No space left on device")

        with pytest.raises(cg.FormatError, match="No space left"):
            write_text("x", Broken())
