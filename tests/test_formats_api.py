"""OpenAI and Anthropic message lists, both ways."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

import convguard as cg
from convguard.formats import anthropic, openai

FIXTURES = Path(__file__).parent / "fixtures" / "formats"


def fixture(name: str) -> Any:
    """Return a fixture file's parsed JSON."""
    return json.loads((FIXTURES / name).read_text())


def dumped(module: Any, records: Any) -> Any:
    """Return what *module*.dump writes for *records*, parsed."""
    out = io.StringIO()
    module.dump(records, out)
    return json.loads(out.getvalue())


def ended_conversation(guard: cg.Guard) -> cg.ConversationRecord:
    """Return a record with a system prompt, one exchange and a granted end event."""
    conv = guard.start(system="Be kind.")
    conv.send("Hello")
    conv.reply("Hi! How can I help?")
    assert conv.request_end(by="user", confirmed=True).action is cg.Action.END
    return conv.export()


class TestOpenAI:
    """OpenAI Chat Completions messages."""

    def test_load_a_request_body(self) -> None:
        """Each message is a node of one branch; the last is the active tip."""
        (record,) = openai.load(FIXTURES / "openai_request.json")
        assert record.id == "openai_request"
        assert [m.role for m in record.messages] == [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
            "assistant",
        ]
        assert [m.parent_id for m in record.messages] == [None, "m0", "m1", "m2", "m3", "m4", "m5"]
        assert record.active_tip_id == "m6"
        assert record.metadata["openai_request"] == {"model": "gpt-4o", "temperature": 0.2}

    def test_tool_calls_and_results(self) -> None:
        """Tool calls and their results are kept in the shared metadata form."""
        (record,) = openai.load(FIXTURES / "openai_request.json")
        call, result = record.messages[2], record.messages[3]
        assert call.content == ""
        assert call.metadata["tool_calls"] == [
            {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Lisbon"}'}
        ]
        assert result.metadata["tool_call_id"] == "call_1"
        assert result.content == "Sunny, 24 C"

    def test_content_parts(self) -> None:
        """Content parts join into text, images as [image]; the parts are kept."""
        (record,) = openai.load(FIXTURES / "openai_request.json")
        message = record.messages[5]
        assert message.content == "And what is in this photo?\n[image]"
        assert message.metadata["openai_content"][1]["type"] == "image_url"

    def test_round_trip(self) -> None:
        """Dumping what was loaded writes the same request body."""
        records = openai.load(FIXTURES / "openai_request.json")
        assert dumped(openai, records) == fixture("openai_request.json")

    def test_several_conversations(self, tmp_path: Path) -> None:
        """Several records dump as an array of bodies whose ids load back."""
        a = openai.from_messages([{"role": "user", "content": "Hi"}], conversation_id="a")
        b = openai.from_messages({"messages": []}, conversation_id="b")
        path = tmp_path / "out.json"
        openai.dump([a, b], path)
        assert [r.id for r in openai.load(path)] == ["a", "b"]
        assert [r.id for r in cg.formats.load(path, format="openai")] == ["a", "b"]

    def test_bare_list_and_file_objects(self) -> None:
        """A bare message list in an unnamed file gets the id 'conversation'."""
        data = [
            {"role": "user", "content": "Hi", "name": "ann"},
            {"role": "function", "name": "f", "content": "x"},
        ]
        (record,) = openai.load(io.StringIO(json.dumps(data)))
        assert record.id == "conversation"
        assert record.messages[1].role == "tool"
        assert openai.to_messages(record) == data

    def test_events_are_left_out(self, guard: cg.Guard) -> None:
        """An end event is not an API message."""
        record = ended_conversation(guard)
        assert [m["role"] for m in openai.to_messages(record)] == ["system", "user", "assistant"]

    def test_refusals_and_other_fields(self) -> None:
        """Refusal parts read as text; refusal and audio fields survive a round trip."""
        data: list[dict[str, Any]] = [
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
            {"role": "assistant", "content": None, "refusal": "No.", "audio": {"id": "a1"}},
        ]
        record = openai.from_messages(data)
        assert record.messages[0].content == "No."
        assert openai.to_messages(record) == data

    @pytest.mark.parametrize(
        ("message", "field"),
        [
            ({"role": "robot", "content": "x"}, "messages[0].role"),
            ({"role": "user", "content": 5}, "messages[0].content"),
            ({"role": "user", "content": [7]}, "messages[0].content[0]"),
            (
                {"role": "user", "content": [{"type": "text", "text": 1}]},
                "messages[0].content[0].text",
            ),
            ({"role": "user", "content": "x", "name": 3}, "messages[0].name"),
            ({"role": "assistant", "tool_calls": {}}, "messages[0].tool_calls"),
            (
                {"role": "assistant", "tool_calls": [{"id": "c"}]},
                "messages[0].tool_calls[0].function",
            ),
            (
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}],
                },
                "messages[0].tool_calls[0].function.arguments",
            ),
            ({"role": "tool", "content": "x", "tool_call_id": ""}, "messages[0].tool_call_id"),
        ],
    )
    def test_malformed(self, message: dict[str, Any], field: str) -> None:
        """A bad message is named by its field, its file and its conversation."""
        with pytest.raises(cg.FormatError) as caught:
            openai.from_data({"messages": [message]}, path="chat.json")
        assert (caught.value.path, caught.value.conversation_id, caught.value.field) == (
            "chat.json",
            "chat",
            field,
        )

    def test_skip(self) -> None:
        """errors='skip' keeps the good bodies and lists the bad ones."""
        bodies = [
            {
                "messages": [{"role": "user", "content": "Hi"}],
                "metadata": {"conversation_id": "ok"},
            },
            {"messages": "nope", "metadata": {"conversation_id": "bad"}},
            "not a body",
        ]
        result = openai.from_data(bodies, path="x.json", errors="skip")
        assert [r.id for r in result] == ["ok"]
        assert [(e.conversation_id, e.field) for e in result.skipped] == [
            ("bad", "messages"),
            ("x-3", "[2]"),
        ]

    def test_empty_conversation_id(self) -> None:
        """An empty conversation id is refused, naming the field."""
        with pytest.raises(cg.FormatError) as caught:
            openai.from_messages([], conversation_id="")
        assert caught.value.field == "id"

    def test_not_messages(self) -> None:
        """JSON that is no message list is refused."""
        with pytest.raises(cg.FormatError, match="message list"):
            openai.from_data("hi")
        with pytest.raises(cg.FormatError, match="writes ConversationRecords"):
            openai.dump(["x"], io.StringIO())  # type: ignore[list-item]


class TestAnthropic:
    """Anthropic Messages API messages."""

    def test_load_a_request_body(self) -> None:
        """The system prompt is the root; tool results become tool nodes before the user's words."""
        (record,) = anthropic.load(FIXTURES / "anthropic_request.json")
        assert [(m.id, m.role) for m in record.messages] == [
            ("system", "system"),
            ("m0", "user"),
            ("m1", "assistant"),
            ("m2", "tool"),
            ("m3", "user"),
            ("m4", "assistant"),
            ("m5", "user"),
            ("m6", "assistant"),
        ]
        assert record.active_tip_id == "m6"
        assert record.metadata["anthropic_request"] == {
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
        }

    def test_tool_use_and_results(self) -> None:
        """tool_use blocks are kept as tool calls, tool_result blocks as tool nodes."""
        (record,) = anthropic.load(FIXTURES / "anthropic_request.json")
        messages = {m.id: m for m in record.messages}
        assert messages["m1"].content == "Let me check."
        assert messages["m1"].metadata["tool_calls"] == [
            {"id": "toolu_1", "name": "get_weather", "arguments": '{"city": "Lisbon"}'}
        ]
        assert messages["m2"].metadata["tool_call_id"] == "toolu_1"
        assert messages["m2"].content == "Sunny, 24 C"
        assert messages["m3"].content == "Is that warm?"
        assert messages["m5"].content == "[image]\nWhat is this?"

    def test_round_trip(self) -> None:
        """Dumping what was loaded writes the same request body."""
        records = anthropic.load(FIXTURES / "anthropic_request.json")
        assert dumped(anthropic, records) == fixture("anthropic_request.json")

    def test_system_blocks_errors_and_rich_results(self) -> None:
        """System blocks, error results and results with blocks survive a round trip."""
        body = {
            "system": [{"type": "text", "text": "Be brief."}],
            "messages": [
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "is_error": True,
                            "content": [{"type": "text", "text": "down"}],
                        },
                    ],
                },
            ],
        }
        record = anthropic.from_messages(body)
        assert record.messages[0].content == "Be brief."
        assert record.messages[-1].metadata["is_error"] is True
        assert record.messages[-1].content == "down"
        assert anthropic.to_request(record) == body

    def test_events_are_left_out(self, guard: cg.Guard) -> None:
        """An end event is not an API message; the system prompt goes to the top level."""
        body = anthropic.to_request(ended_conversation(guard))
        assert body == {
            "system": "Be kind.",
            "messages": [
                {"role": "user", "content": "Hello"},
                {"role": "assistant", "content": "Hi! How can I help?"},
            ],
        }

    def test_converting_between_apis(self) -> None:
        """Tool calls survive OpenAI -> Anthropic -> OpenAI."""
        (record,) = openai.load(FIXTURES / "openai_request.json")
        body = anthropic.to_request(record)
        assert body["system"] == "You are a helpful travel assistant."
        assert body["messages"][1]["content"] == [
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Lisbon"}}
        ]
        assert body["messages"][2]["content"][0]["tool_use_id"] == "call_1"
        back = openai.to_messages(anthropic.from_messages(body))
        assert back[2]["tool_calls"][0]["function"] == {
            "name": "get_weather",
            "arguments": '{"city": "Lisbon"}',
        }
        assert back[3] == {"role": "tool", "content": "Sunny, 24 C", "tool_call_id": "call_1"}

    def test_odd_arguments_become_objects(self) -> None:
        """Tool arguments that are not a JSON object are wrapped for Anthropic's input."""
        messages: list[dict[str, Any]] = [
            {
                "role": "assistant",
                "content": "Checking",
                "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "[1]"}},
                    {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{bad"}},
                ],
            },
            {"role": "tool", "tool_call_id": "a", "content": "ok"},
            {"role": "tool", "tool_call_id": "b", "content": "bad"},
            {"role": "user", "content": "Thanks"},
            {"role": "user", "content": "Again"},
        ]
        body = anthropic.to_request(openai.from_messages(messages))
        blocks = body["messages"][0]["content"]
        assert blocks[0] == {"type": "text", "text": "Checking"}
        assert blocks[1]["input"] == {"arguments": [1]}
        assert blocks[2]["input"] == {"arguments": "{bad"}
        assert body["messages"][1]["content"][2] == {"type": "text", "text": "Thanks"}
        assert body["messages"][2] == {"role": "user", "content": "Again"}

    def test_several_conversations(self) -> None:
        """Several records dump as an array of bodies whose ids load back."""
        a = anthropic.from_messages([{"role": "user", "content": "Hi"}], conversation_id="a")
        b = anthropic.from_messages([{"role": "user", "content": "Yo"}], conversation_id="b")
        data = dumped(anthropic, [a, b])
        assert [r.id for r in anthropic.from_data(data)] == ["a", "b"]
        assert cg.formats.load(io.StringIO(json.dumps(data[0])))[0].messages[0].content == "Hi"

    @pytest.mark.parametrize(
        ("message", "field"),
        [
            ({"role": "system", "content": "x"}, "messages[0].role"),
            ({"role": "user", "content": 3}, "messages[0].content"),
            ({"role": "user", "content": ["x"]}, "messages[0].content[0]"),
            (
                {"role": "user", "content": [{"type": "tool_result", "content": "x"}]},
                "messages[0].content[0].tool_use_id",
            ),
            (
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t", "name": "f", "input": 1}],
                },
                "messages[0].content[0].input",
            ),
            (
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": None}, {"type": "text", "text": 2}],
                },
                "messages[0].content[1].text",
            ),
        ],
    )
    def test_malformed(self, message: dict[str, Any], field: str) -> None:
        """A bad message is named by its field, its file and its conversation."""
        with pytest.raises(cg.FormatError) as caught:
            anthropic.from_data([message], path="dir/chat.json")
        assert (caught.value.path, caught.value.conversation_id, caught.value.field) == (
            "dir/chat.json",
            "chat",
            field,
        )


class TestDetection:
    """cg.formats.load telling the two APIs apart."""

    @pytest.mark.parametrize(
        ("data", "kind"),
        [
            ([{"role": "user", "content": "Hi"}], "openai"),
            ([{"role": "system", "content": "Hi"}], "openai"),
            ([{"role": "assistant", "content": [{"type": "tool_use"}]}], "anthropic"),
            ([3, {"role": "user", "content": [{"type": "text"}]}], "openai"),
            ({"system": "x", "messages": []}, "anthropic"),
            ({"messages": [{"role": "assistant", "tool_calls": []}]}, "openai"),
        ],
    )
    def test_detect(self, data: Any, kind: str) -> None:
        """Role names and block types tell OpenAI from Anthropic."""
        assert cg.formats.detect(io.StringIO(json.dumps(data))) == kind

    def test_fixtures(self) -> None:
        """The fixture request bodies are told apart."""
        assert cg.formats.detect(FIXTURES / "openai_request.json") == "openai"
        assert cg.formats.detect(FIXTURES / "anthropic_request.json") == "anthropic"
        assert len(cg.formats.load(FIXTURES / "anthropic_request.json")[0].messages) == 8


class TestStorable:
    """API lists import nothing send would refuse (issue 12 item 5)."""

    def test_empty_user_text_and_nul(self) -> None:
        """An empty user message is no turn; NUL becomes U+FFFD; import and replay agree."""
        record = openai.from_messages(
            [
                {"role": "user", "content": " "},
                {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "a\x00b"},
            ]
        )
        assert [m.id for m in record.messages] == ["m1", "m2"]
        assert record.messages[0].parent_id is None
        assert record.messages[0].metadata["hidden_before"][0]["content"] == " "
        assert record.messages[1].content == "a\ufffdb"
        assert record.messages[1].metadata["replaced_characters"] == 1
        conv = cg.Guard().import_record(record, evaluate=True)
        assert [m.content for m in conv.path()] == ["Hello.", "a\ufffdb"]
        assert set(cg.Guard().replay(record).verdicts) == {"m2"}
        lone = openai.from_messages([{"role": "user", "content": ""}])
        assert lone.messages == ()
        assert [m["id"] for m in lone.metadata["hidden_messages"]] == ["m0"]

    def test_anthropic_empty_user_and_only_empties(self) -> None:
        """Anthropic lists the same; a list of nothing but an empty turn keeps it on the record."""
        record = anthropic.from_messages(
            [{"role": "user", "content": []}, {"role": "assistant", "content": "Hi."}]
        )
        assert [m.id for m in record.messages] == ["m1"]
        assert record.active_tip_id == "m1"
        lone = anthropic.from_messages([{"role": "user", "content": ""}])
        assert lone.messages == ()
        assert lone.active_tip_id is None
        assert [m["id"] for m in lone.metadata["hidden_messages"]] == ["m0"]
        assert anthropic.to_request(lone)["messages"] == []
