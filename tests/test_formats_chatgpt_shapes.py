"""ChatGPT export shapes from real files: voice, hidden nodes, tools, loose files.

The fixtures are synthetic and short (tests/fixtures/formats/chatgpt_hidden.json
and chatgpt_loose.json), in the shapes real exports have.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

import convguard as cg
from convguard.formats import anthropic, chatgpt, openai
from convguard.formats._common import visible
from convguard.testing import ScriptedDetector
from tests.test_formats_sdk import anthropic_ok, openai_ok, writers_ok

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
HIDDEN = FIXTURES / "chatgpt_hidden.json"
LOOSE = FIXTURES / "chatgpt_loose.json"


def by_id(record: cg.ConversationRecord) -> dict[str, cg.MessageRecord]:
    """Return the record's messages by id."""
    return {m.id: m for m in record.messages}


@pytest.fixture(scope="module")
def record() -> cg.ConversationRecord:
    """The conversation with voice, hidden nodes and tool nodes."""
    (only,) = chatgpt.load(HIDDEN)
    return only


def raw() -> list[dict[str, Any]]:
    """The hidden-nodes fixture as parsed JSON, to change in a test."""
    data: list[dict[str, Any]] = json.loads(HIDDEN.read_text(encoding="utf-8"))
    return data


class TestVoice:
    """audio_transcription parts (issue 12 item 5)."""

    def test_the_transcript_is_the_text(self, record: cg.ConversationRecord) -> None:
        """What the user said is the message's text; the recording stays an attachment."""
        user = by_id(record)["u1"]
        assert user.content == "What should I pack for a day hike?"
        kinds = [a["content_type"] for a in user.metadata["chatgpt"]["attachments"]]
        assert kinds == ["real_time_user_audio_video_asset_pointer", "audio_transcription"]
        assert by_id(record)["a1"].content == "Water, snacks and a warm layer."

    def test_replay_judges_the_spoken_words(self, record: cg.ConversationRecord) -> None:
        """Detectors see the transcript, so a spoken request is judged as a typed one."""
        guard = cg.Guard(detectors=[ScriptedDetector({"day hike": "self_harm_risk"})])
        verdict = guard.replay(record).verdict("u1")
        assert verdict is not None
        assert verdict.action is cg.Action.SUPPORT

    def test_pointers_are_labelled_by_what_they_hold(self) -> None:
        """An audio-only pointer is [audio], one with a video container [video]."""
        with pytest.warns(cg.formats.FormatWarning):
            (loose,) = chatgpt.load(LOOSE)
        assert by_id(loose)["u2"].content == "[audio]"
        assert by_id(loose)["u3"].content == "[video]"


class TestHiddenNodes:
    """Custom instructions, memory and reasoning never become turns (issue 15 item 3)."""

    def test_no_hidden_or_empty_turn(self, record: cg.ConversationRecord) -> None:
        """Only the visible messages are nodes; no user or assistant turn is empty."""
        assert [m.id for m in record.ordered()] == [
            "sys",
            "u1",
            "a1",
            "u2",
            "c1",
            "t1",
            "t2",
            "a2",
            "u4",
            "q",
            "a4",
            "t4",
            "a5",
        ]
        for message in record.messages:
            if message.role in ("user", "assistant"):
                assert visible(message.content) or message.metadata.get("tool_calls")

    def test_their_words_are_kept_with_the_next_message(
        self, record: cg.ConversationRecord
    ) -> None:
        """Each left-out node is in the metadata of the message that follows it."""
        messages = by_id(record)
        (context,) = messages["u1"].metadata["hidden_before"]
        assert context["id"] == "ctx"
        assert context["content"] == "I like hiking.\nAnswer briefly."
        assert context["metadata"]["hidden"] is True
        thoughts, recap = messages["a1"].metadata["hidden_before"]
        assert thoughts["content"] == "Listing basics\nWater, snacks, a warm layer."
        assert thoughts["metadata"]["chatgpt"]["content"]["content_type"] == "thoughts"
        assert recap["content"] == "Thought for 3s"
        assert recap["created_at"] == "2026-01-01T00:00:03+00:00"
        empty, memory = messages["u4"].metadata["hidden_before"]
        assert (empty["id"], empty["role"], empty["content"]) == ("u3", "user", "")
        assert memory["content"] == "1. Likes hiking."
        assert messages["u4"].parent_id == "a2"
        assert messages["a1"].parent_id == "u1"

    def test_replay_judges_no_empty_turn(self, record: cg.ConversationRecord) -> None:
        """Only the real user messages get verdicts."""
        replay = cg.Guard().replay(record)
        assert set(replay.verdicts) == {"u1", "u2", "u4"}

    def test_imports_store_nothing_send_refuses(self, record: cg.ConversationRecord) -> None:
        """Empty user text and NUL never reach the store; the NUL is replaced and counted."""
        user = by_id(record)["u4"]
        assert user.content == "Thanks\ufffd! What is 1 + 1?"
        assert user.metadata["replaced_characters"] == 1
        conv = cg.Guard().import_record(record, evaluate=True)
        texts = [m.content for m in conv.path() if m.role == "user"]
        assert texts == [
            "What should I pack for a day hike?",
            "Can you draw a simple trail map?",
            "Thanks\ufffd! What is 1 + 1?",
        ]

    def test_a_hidden_tip_and_hidden_leaves(self) -> None:
        """current_node on a hidden node is its visible ancestor; a hidden leaf is kept on it."""
        data = raw()
        mapping = data[0]["mapping"]
        mapping["a5"]["children"] = ["th2"]
        thought = copy.deepcopy(mapping["th"])
        thought.update(id="th2", parent="a5", children=[])
        thought["message"]["id"] = "th2"
        mapping["th2"] = thought
        data[0]["current_node"] = "th2"
        (loaded,) = chatgpt.from_data(data)
        assert loaded.active_tip_id == "a5"
        (after,) = by_id(loaded)["a5"].metadata["hidden_after"]
        assert after["id"] == "th2"

    def test_a_conversation_of_hidden_nodes_only(self) -> None:
        """With no visible message, the hidden ones are kept on the record."""
        data = raw()
        mapping = {k: v for k, v in data[0]["mapping"].items() if k in ("root", "ctx")}
        mapping["root"]["children"] = ["ctx"]
        mapping["ctx"].update(parent="root", children=[])
        data[0].update(mapping=mapping, current_node="ctx")
        (loaded,) = chatgpt.from_data(data)
        assert loaded.messages == ()
        assert loaded.active_tip_id is None
        assert [m["id"] for m in loaded.metadata["hidden_messages"]] == ["ctx"]


class TestToolNodes:
    """Tool-author nodes and assistant code sent to a tool (issue 15 item 4)."""

    def test_calls_and_answers_pair_up(self, record: cg.ConversationRecord) -> None:
        """The assistant's message to a tool is a call; the tool's reply answers it."""
        messages = by_id(record)
        (draw,) = messages["c1"].metadata["tool_calls"]
        assert re.fullmatch(r"call_[0-9a-f]{24}", draw["id"])
        assert draw["name"] == "dalle_text2im"
        assert json.loads(draw["arguments"]) == {
            "prompt": "a simple trail map",
            "size": "1024x1024",
        }
        assert messages["c1"].metadata["chatgpt"]["recipient"] == "dalle.text2im"
        assert messages["t1"].metadata["tool_call_id"] == draw["id"]
        (code,) = messages["a4"].metadata["tool_calls"]
        assert json.loads(code["arguments"]) == {"input": "print(1 + 1)"}
        assert messages["t4"].metadata["tool_call_id"] == code["id"]
        assert "tool_call_id" not in messages["t2"].metadata  # a second reply: no call left
        assert "tool_call_id" not in messages["q"].metadata  # no call at all

    def test_odd_tool_shapes(self) -> None:
        """A tool writing to another recipient makes no call; wordless content is empty."""
        data = raw()
        mapping = data[0]["mapping"]
        mapping["t4"]["message"]["recipient"] = "python"
        mapping["t4"]["message"]["content"] = {"content_type": "tether_browsing_display"}
        mapping["th"]["message"]["content"]["thoughts"].append("not an object")
        (loaded,) = chatgpt.from_data(data)
        tool = by_id(loaded)["t4"]
        assert tool.content == ""
        assert tool.metadata["chatgpt"]["recipient"] == "python"
        assert "tool_calls" not in tool.metadata
        openai_ok(openai.to_messages(loaded))

    def test_ids_are_stable(self, record: cg.ConversationRecord) -> None:
        """The same export gives the same call ids."""
        (again,) = chatgpt.load(HIDDEN)
        assert again == record

    def test_openai_list_is_valid(self, record: cg.ConversationRecord) -> None:
        """Unanswered tool output is left out; the rest validates as the API's types."""
        messages = openai.to_messages(record)
        openai_ok(messages)
        assert [m["role"] for m in messages] == [
            "user",
            "assistant",
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
            "assistant",
            "tool",
            "assistant",
        ]
        contents = [m["content"] for m in messages]
        assert "The image is shown to the user." not in contents
        assert "No files were found." not in contents

    def test_anthropic_request_is_valid(self, record: cg.ConversationRecord) -> None:
        """Every tool_result answers a tool_use right before it."""
        body = anthropic.to_request(record)
        anthropic_ok(body)
        assert "system" not in body  # the export's empty hidden system node says nothing
        assert body["messages"][3]["content"][0]["type"] == "tool_use"
        assert body["messages"][4]["content"][0]["type"] == "tool_result"


class TestLooseFiles:
    """Files without content_type, conversation id or current_node (issue 15 item 7)."""

    def test_read_with_a_warning(self) -> None:
        """No id: one derived from the content, with a warning; the conversation is kept."""
        with pytest.warns(cg.formats.FormatWarning, match="has no id") as caught:
            result = chatgpt.load(LOOSE, errors="skip")
        assert len(caught) == 1
        assert caught[0].filename == __file__  # it points at the caller's code
        (loose,) = result
        assert result.skipped == []
        assert re.fullmatch(r"chatgpt_[0-9a-f]{24}", loose.id)
        assert loose.title == "Loose"
        with pytest.warns(cg.formats.FormatWarning):
            (again,) = cg.formats.load(LOOSE)
        assert again.id == loose.id
        data = json.loads(LOOSE.read_text(encoding="utf-8"))
        data[0]["title"] = "Other"
        with pytest.warns(cg.formats.FormatWarning):
            (other,) = chatgpt.from_data(data)
        assert other.id != loose.id

    @pytest.mark.filterwarnings("ignore::convguard.formats.FormatWarning")
    def test_parts_without_content_type_are_text(self) -> None:
        """Parts read as text: strings, and objects with a text."""
        (loose,) = chatgpt.load(LOOSE)
        messages = by_id(loose)
        assert messages["u1"].content == "Hello there"
        assert messages["a1"].content == "Hi! How can I help?"
        assert "content_type" not in messages["u1"].metadata["chatgpt"]

    @pytest.mark.filterwarnings("ignore::convguard.formats.FormatWarning")
    def test_the_newest_leaf_is_the_tip(self) -> None:
        """Without current_node the leaf created last is the active tip."""
        (loose,) = chatgpt.load(LOOSE)
        assert loose.active_tip_id == "u3"
        data = json.loads(LOOSE.read_text(encoding="utf-8"))
        data[0]["mapping"]["u2"]["message"]["create_time"] = 1767229999.0
        (changed,) = chatgpt.from_data(data)
        assert changed.active_tip_id == "u2"

    @pytest.mark.filterwarnings("ignore::convguard.formats.FormatWarning")
    def test_writers(self) -> None:
        """The loose file writes valid API lists on each branch."""
        assert writers_ok(chatgpt.load(LOOSE)) == 2
