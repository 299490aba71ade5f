"""Claude export shapes from real files: order by time, thinking and tool blocks.

The fixture (tests/fixtures/formats/claude_shapes.json) is synthetic and
short, in the shapes real 2024-2025 exports have.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import convguard as cg
from convguard.formats import anthropic, claude, openai
from tests.test_formats_sdk import anthropic_ok, openai_ok, writers_ok

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
SHAPES = FIXTURES / "claude_shapes.json"


def by_id(record: cg.ConversationRecord) -> dict[str, cg.MessageRecord]:
    """Return the record's messages by id."""
    return {m.id: m for m in record.messages}


@pytest.fixture(scope="module")
def export() -> list[cg.ConversationRecord]:
    """Out-of-order flat, odd blocks, and a tree without current leaf."""
    return claude.load(SHAPES)


class TestOrder:
    """Messages follow their own timestamps (issue 15 item 1)."""

    def test_a_flat_list_out_of_order(self, export: list[cg.ConversationRecord]) -> None:
        """Each message follows the one written before it, whatever the file order."""
        flat = export[0]
        assert [(m.id, m.parent_id) for m in flat.ordered()] == [
            ("h-1", None),
            ("a-1", "h-1"),
            ("h-2", "a-1"),
            ("a-2", "h-2"),
        ]
        assert flat.active_tip_id == "a-2"

    def test_writers_alternate(self, export: list[cg.ConversationRecord]) -> None:
        """The API lists alternate user and assistant, the question before its answer."""
        messages = openai.to_messages(export[0])
        openai_ok(messages)
        assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
        assert [m["content"] for m in messages] == [
            "Which boots for a wet trail?",
            "Waterproof boots with a deep tread.",
            "Will it rain?",
            "Rain is likely; bring a jacket too.",
        ]
        anthropic_ok(anthropic.to_request(export[0]))

    def test_replay_in_time_order(self, export: list[cg.ConversationRecord]) -> None:
        """Replay judges the user turns in the order they were written."""
        replay = cg.Guard().replay(export[0])
        (branch,) = replay.branches
        assert branch.leaf_id == "a-2"
        assert [m.id for m in replay.messages] == ["h-1", "a-1", "h-2", "a-2"]
        assert [m.id for m in replay.messages if m.id in replay.verdicts] == ["h-1", "h-2"]

    def test_a_message_without_a_time_follows_the_one_before(self) -> None:
        """A missing time counts as just after the message before it in the file."""
        data = [
            {
                "uuid": "c",
                "chat_messages": [
                    {"uuid": "b", "sender": "human", "text": "Later", "created_at": "2025-01-02"},
                    {"uuid": "b2", "sender": "assistant", "text": "Ok", "created_at": None},
                    {"uuid": "a", "sender": "human", "text": "First", "created_at": "2025-01-01"},
                ],
            }
        ]
        (record,) = claude.from_data(data)
        assert [m.id for m in record.ordered()] == ["a", "b", "b2"]

    def test_a_tree_without_current_leaf(self, export: list[cg.ConversationRecord]) -> None:
        """Parent ids give the tree; the newest leaf is the tip; messages listed by time."""
        tree = export[2]
        assert [m.id for m in tree.messages] == ["t-1", "t-2", "t-3b"]
        assert by_id(tree)["t-3b"].parent_id == "t-1"
        assert tree.active_tip_id == "t-3b"


class TestBlocks:
    """Text from the text blocks; thinking and tool blocks in metadata (issue 15 item 2)."""

    def test_thinking_never_becomes_the_answer(self, export: list[cg.ConversationRecord]) -> None:
        """The answer is the text blocks; the thinking and the run-together text are kept."""
        answer = by_id(export[0])["a-1"]
        assert answer.content == "Waterproof boots with a deep tread."
        (thinking,) = answer.metadata["claude"]["blocks"]
        assert thinking["type"] == "thinking"
        assert thinking["thinking"] == "The user wants boots for wet ground. Waterproof ones fit."
        assert answer.metadata["claude"]["text"].startswith("The user wants boots")
        for message in openai.to_messages(export[0]):
            assert "The user wants" not in str(message["content"])

    def test_tool_blocks_are_kept(self, export: list[cg.ConversationRecord]) -> None:
        """tool_use and tool_result stay in metadata, out of the text and the API lists."""
        answer = by_id(export[0])["a-2"]
        assert answer.content == "Rain is likely; bring a jacket too."
        kinds = [b["type"] for b in answer.metadata["claude"]["blocks"]]
        assert kinds == ["tool_use", "tool_result"]
        assert answer.metadata["claude"]["blocks"][0]["input"] == {"query": "trail forecast"}
        assert "claude" not in str(anthropic.to_request(export[0])["messages"])
        assert "text" not in answer.metadata["claude"]  # the top-level text was empty

    def test_empty_turns_fold_and_nul_is_replaced(
        self, export: list[cg.ConversationRecord]
    ) -> None:
        """A thinking-only answer and an empty human message are no turns; NUL is replaced."""
        odd = export[1]
        assert [m.id for m in odd.ordered()] == ["o-1", "o-3"]
        messages = by_id(odd)
        assert messages["o-1"].content == "Hi\ufffd there"
        assert messages["o-1"].metadata["replaced_characters"] == 1
        (thought,) = messages["o-3"].metadata["hidden_before"]
        assert thought["metadata"]["claude"]["blocks"][0]["thinking"] == "A greeting."
        (empty,) = messages["o-3"].metadata["hidden_after"]
        assert empty["id"] == "o-4"
        assert odd.active_tip_id == "o-3"
        assert set(cg.Guard().replay(odd).verdicts) == {"o-1"}

    def test_a_user_message_keeps_its_words(self) -> None:
        """Blocks with no text block leave a user's typed text as it was; files alone are named."""
        data = [
            {
                "uuid": "c",
                "current_leaf_message_uuid": "u2",
                "chat_messages": [
                    {
                        "uuid": "u1",
                        "sender": "human",
                        "text": "Read this",
                        "content": [{"type": "image"}],
                    },
                    {
                        "uuid": "u2",
                        "sender": "human",
                        "text": "",
                        "files": [{"file_name": "a.txt"}],
                        "parent_message_uuid": "u1",
                    },
                ],
            }
        ]
        (record,) = claude.from_data(data)
        assert by_id(record)["u1"].content == "Read this"
        assert by_id(record)["u1"].metadata["claude"]["blocks"] == [{"type": "image"}]
        assert by_id(record)["u2"].content == "[attachment]"
        assert record.active_tip_id == "u2"

    def test_nothing_but_empty_messages(self) -> None:
        """With no turn at all, the empty messages are kept on the record."""
        data = {
            "uuid": "c",
            "chat_messages": [{"uuid": "e", "sender": "assistant", "text": ""}],
        }
        (record,) = claude.from_data(data)
        assert record.messages == ()
        assert record.active_tip_id is None
        assert [m["id"] for m in record.metadata["hidden_messages"]] == ["e"]

    def test_writers(self, export: list[cg.ConversationRecord]) -> None:
        """Every branch of every conversation writes valid API lists."""
        assert writers_ok(export) == 4
