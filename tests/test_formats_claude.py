"""The Claude.ai export reader."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import convguard as cg
from convguard.formats import claude

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
FLAT = "c0ffee00-0000-4000-8000-000000000001"
TREE = "c0ffee00-0000-4000-8000-000000000002"


def by_id(record: cg.ConversationRecord) -> dict[str, cg.MessageRecord]:
    """Return the record's messages by id."""
    return {m.id: m for m in record.messages}


def leaves(record: cg.ConversationRecord) -> set[str]:
    """Return the ids of the record's leaves."""
    parents = {m.parent_id for m in record.messages}
    return {m.id for m in record.messages if m.id not in parents}


@pytest.fixture(scope="module")
def export() -> list[cg.ConversationRecord]:
    """The fixture export: one flat conversation, one tree."""
    return claude.load(FIXTURES / "claude_conversations.json")


class TestFlat:
    """The flat chat_messages list."""

    def test_a_chain_in_list_order(self, export: list[cg.ConversationRecord]) -> None:
        """Each message follows the one before; the last is the active tip."""
        flat = export[0]
        assert flat.id == FLAT
        assert [(m.id, m.parent_id) for m in flat.messages] == [
            ("f-1", None),
            ("f-2", "f-1"),
            ("f-3", "f-2"),
            ("f-4", "f-3"),
        ]
        assert flat.active_tip_id == "f-4"
        assert [m.role for m in flat.messages] == ["user", "assistant", "user", "assistant"]

    def test_text_from_content_blocks(self, export: list[cg.ConversationRecord]) -> None:
        """An empty text is filled from the text blocks, other blocks left out."""
        assert by_id(export[0])["f-2"].content == "Simmer tomatoes with onion,\nthen blend."

    def test_titles_times_and_attachments(self, export: list[cg.ConversationRecord]) -> None:
        """ISO times parse; attachments and files are kept; null times stay None."""
        flat = export[0]
        assert flat.title == "Soup recipe"
        assert flat.created_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
        message = by_id(flat)["f-3"]
        assert message.metadata["claude"]["attachments"][0]["file_name"] == "list.txt"
        assert message.metadata["claude"]["files"] == [{"file_name": "list.txt"}]
        assert by_id(flat)["f-4"].created_at is None
        assert flat.metadata["updated_at"] == "2025-03-01T10:05:00+00:00"


class TestTree:
    """The tree form with parent_message_uuid."""

    def test_every_branch(self, export: list[cg.ConversationRecord]) -> None:
        """Edits and regenerations are branches; the sentinel parent is the root."""
        tree = export[1]
        assert tree.id == TREE
        assert leaves(tree) == {"t-2b", "t-4", "t-4b"}
        assert by_id(tree)["t-1"].parent_id is None
        assert by_id(tree)["t-3b"].parent_id == "t-2"

    def test_active_tip_and_empty_name(self, export: list[cg.ConversationRecord]) -> None:
        """current_leaf_message_uuid is the active tip; an empty name is no title."""
        assert export[1].active_tip_id == "t-4b"
        assert export[1].title is None

    def test_detected_and_replayed(self, guard: cg.Guard) -> None:
        """cg.formats.load tells the format; every branch replays."""
        path = FIXTURES / "claude_conversations.json"
        assert cg.formats.detect(path) == "claude"
        tree = cg.formats.load(path)[1]
        assert len(guard.replay(tree).branches) == 3

    def test_single_conversation_object(self) -> None:
        """One conversation object, not in an array, reads too."""
        data = {"uuid": "c", "summary": "About cats.", "chat_messages": []}
        (record,) = claude.from_data(data)
        assert record.metadata["summary"] == "About cats."
        assert record.messages == ()
        assert record.active_tip_id is None


class TestMalformed:
    """Bad conversations name the file, the conversation and the field."""

    @pytest.mark.parametrize(
        ("conversation_id", "field", "words"),
        [
            ("bad-parent", "chat_messages[1].parent_message_uuid", "missing"),
            ("bad-dup", "chat_messages[1].uuid", "twice"),
            ("bad-sender", "chat_messages[0].sender", "robot"),
            ("bad-time", "chat_messages[0].created_at", "yesterday"),
        ],
    )
    def test_each_case(self, conversation_id: str, field: str, words: str) -> None:
        """A missing parent, a duplicate id, a bad sender and a bad time each get a clear error."""
        data = json.loads((FIXTURES / "claude_bad.json").read_text())
        bad = next(c for c in data if c["uuid"] == conversation_id)
        with pytest.raises(cg.FormatError, match=words) as caught:
            claude.from_data([bad], path="conversations.json")
        assert (caught.value.path, caught.value.conversation_id, caught.value.field) == (
            "conversations.json",
            conversation_id,
            field,
        )

    def test_skip(self) -> None:
        """errors='skip' keeps the good conversation and lists the four bad ones."""
        result = claude.load(FIXTURES / "claude_bad.json", errors="skip")
        assert [r.id for r in result] == [FLAT]
        assert len(result.skipped) == 4

    def test_cycle(self) -> None:
        """Messages that are each other's parents are a cycle."""
        data = {
            "uuid": "c",
            "chat_messages": [
                {"uuid": "a", "sender": "human", "text": "x", "parent_message_uuid": "b"},
                {"uuid": "b", "sender": "assistant", "text": "y", "parent_message_uuid": "a"},
            ],
        }
        with pytest.raises(cg.FormatError, match="cycle") as caught:
            claude.from_data([data])
        assert caught.value.field == "chat_messages[0].parent_message_uuid"

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (lambda c: c.update(uuid=None), "conversations[0].uuid"),
            (lambda c: c.update(chat_messages={}), "chat_messages"),
            (lambda c: c.update(current_leaf_message_uuid="zz"), "current_leaf_message_uuid"),
            (lambda c: c["chat_messages"][0].update(text=1), "chat_messages[0].text"),
            (lambda c: c["chat_messages"][0].update(content=[1]), "chat_messages[0].content[0]"),
            (lambda c: c["chat_messages"][0].update(files={}), "chat_messages[0].files"),
        ],
    )
    def test_wrong_types(self, change: Any, field: str) -> None:
        """A value of the wrong type is named by its field."""
        data: dict[str, Any] = {
            "uuid": "c",
            "chat_messages": [{"uuid": "a", "sender": "human", "text": "", "content": []}],
        }
        change(data)
        with pytest.raises(cg.FormatError) as caught:
            claude.from_data([data])
        assert caught.value.field == field

    def test_not_an_export(self) -> None:
        """JSON that is not an array of conversations is refused."""
        with pytest.raises(cg.FormatError, match="array of conversations"):
            claude.from_data("hello")
