"""The API writers against the openai and anthropic SDKs' own types, and SDK objects read.

Every writer's output is validated with a pydantic ``TypeAdapter`` over the
SDKs' request TypedDicts, and checked for what the APIs enforce beyond the
types: every tool call answered right after it, every tool result answering
a call of the message right before it, no empty assistant turn. The SDKs are
dev-only: convguard never imports them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import (
    Message,
    MessageParam,
    TextBlock,
    TextBlockParam,
    ToolUseBlock,
    Usage,
)
from openai.types.chat import ChatCompletionMessage, ChatCompletionMessageParam
from pydantic import TypeAdapter, ValidationError

import convguard as cg
from convguard.formats import anthropic, openai
from convguard.formats._common import check_tool_calls

FIXTURES = Path(__file__).parent / "fixtures" / "formats"

# -- checks the tests of every format use ----------------------------------------


@cache
def _openai_adapter() -> TypeAdapter[list[ChatCompletionMessageParam]]:
    return TypeAdapter(list[ChatCompletionMessageParam])


@cache
def _anthropic_adapter() -> TypeAdapter[list[MessageParam]]:
    return TypeAdapter(list[MessageParam])


@cache
def _system_adapter() -> TypeAdapter[str | list[TextBlockParam]]:
    return TypeAdapter(str | list[TextBlockParam])


def openai_ok(messages: list[dict[str, Any]]) -> None:
    """Fail unless *messages* is a list the Chat Completions API takes."""
    _openai_adapter().validate_python(messages)
    pending: set[str] = set()
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "tool":
            assert message["tool_call_id"] in pending, f"[{index}] answers no open call"
            pending.discard(message["tool_call_id"])
            continue
        assert not pending, f"[{index}] calls left unanswered: {pending}"
        if role == "assistant":
            calls = message.get("tool_calls") or []
            said = message.get("content") or message.get("audio") or message.get("function_call")
            assert calls or said, f"[{index}] empty"
            pending = {call["id"] for call in calls}
    assert not pending, f"calls left unanswered at the end: {pending}"


def anthropic_ok(body: Mapping[str, Any]) -> None:
    """Fail unless *body*'s messages and system are what the Messages API takes."""
    messages = body["messages"]
    _anthropic_adapter().validate_python(messages)
    if "system" in body:
        _system_adapter().validate_python(body["system"])
    open_calls: set[str] = set()
    for index, message in enumerate(messages):
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        assert blocks, f"[{index}] has no content"
        results = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"]
        assert set(results) == open_calls, f"[{index}] results {results} for calls {open_calls}"
        kinds = [b["type"] for b in blocks]
        assert kinds[: len(results)] == ["tool_result"] * len(results), f"[{index}] order"
        for block in blocks:
            if block["type"] == "text":
                assert block["text"].strip(), f"[{index}] has an empty text block"
        open_calls = {b["id"] for b in blocks if b["type"] == "tool_use"}
        if open_calls:
            assert message["role"] == "assistant"
    assert not open_calls, f"tool_use left unanswered at the end: {open_calls}"


def every_branch(record: cg.ConversationRecord) -> Iterable[cg.ConversationRecord]:
    """Yield *record* with each of its leaves as the active tip in turn."""
    parents = {m.parent_id for m in record.messages}
    for message in record.messages:
        if message.id not in parents:
            yield record.model_copy(update={"active_tip_id": message.id})


def writers_ok(records: Iterable[cg.ConversationRecord]) -> int:
    """Check both writers on every branch of *records*; return how many branches."""
    count = 0
    for record in records:
        for branch in every_branch(record):
            openai_ok(openai.to_messages(branch))
            anthropic_ok(anthropic.to_request(branch))
            count += 1
    return count


# -- every fixture, through both writers -------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "anthropic_request.json",
        "chatgpt_conversations.json",
        "chatgpt_hidden.json",
        "chatgpt_loose.json",
        "claude_conversations.json",
        "claude_shapes.json",
        "messages.jsonl",
        "openai_request.json",
    ],
)
@pytest.mark.filterwarnings("ignore::convguard.formats.FormatWarning")
def test_every_fixture_writes_what_the_apis_take(name: str) -> None:
    """Both writers' output validates against the SDK types, on every branch."""
    assert writers_ok(cg.formats.load(FIXTURES / name)) > 0


def test_the_checks_can_fail() -> None:
    """The helpers above refuse what the APIs refuse (so the tests that use them can fail)."""
    with pytest.raises(ValidationError):
        openai_ok([{"role": "tool", "content": "x"}])
    with pytest.raises(AssertionError, match="answers no open call"):
        openai_ok([{"role": "tool", "content": "x", "tool_call_id": "c"}])
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    with pytest.raises(AssertionError, match="unanswered"):
        openai_ok([{"role": "assistant", "content": None, "tool_calls": [call]}])
    with pytest.raises(AssertionError, match="empty"):
        openai_ok([{"role": "assistant", "content": ""}])
    with pytest.raises(ValidationError):
        anthropic_ok({"messages": [{"role": "tool", "content": "x"}]})
    result = {"type": "tool_result", "tool_use_id": "t", "content": "x"}
    with pytest.raises(AssertionError, match="results"):
        anthropic_ok({"messages": [{"role": "user", "content": [result]}]})
    with pytest.raises(AssertionError, match="empty text"):
        anthropic_ok({"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]})


# -- tool calls in either shape (issue 15 item 5) ------------------------------------

OPENAI_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "end_conversation", "arguments": "{}"},
}
FLAT_CALL = {"id": "call_1", "name": "end_conversation", "arguments": "{}"}


class TestToolCallShapes:
    """metadata["tool_calls"] in the OpenAI shape or the flat one; anything else a FormatError."""

    @pytest.mark.parametrize("call", [OPENAI_CALL, FLAT_CALL], ids=["openai", "flat"])
    def test_both_shapes_write(self, conv: cg.Conversation, call: dict[str, Any]) -> None:
        """A call stored through conv.add in either shape writes to both APIs."""
        conv.send("Hello")
        conv.add("assistant", "", metadata={"tool_calls": [call]})
        conv.add("tool", "Ended.", metadata={"tool_call_id": "call_1"})
        record = conv.export()
        messages = openai.to_messages(record)
        openai_ok(messages)
        assert messages[1]["tool_calls"] == [OPENAI_CALL]
        assert messages[2] == {"role": "tool", "content": "Ended.", "tool_call_id": "call_1"}
        body = anthropic.to_request(record)
        anthropic_ok(body)
        assert body["messages"][1]["content"] == [
            {"type": "tool_use", "id": "call_1", "name": "end_conversation", "input": {}}
        ]

    def test_check_tool_calls_returns_the_flat_shape(self) -> None:
        """The validator the store can call: both shapes in, the flat shape out."""
        assert check_tool_calls({"tool_calls": [OPENAI_CALL, FLAT_CALL]}) == [FLAT_CALL] * 2
        assert check_tool_calls({"tool_calls": [{"id": "c", "name": "f"}]}) == [
            {"id": "c", "name": "f", "arguments": "{}"}
        ]
        assert check_tool_calls({"text": "no calls"}) is None
        assert check_tool_calls(None) is None
        assert check_tool_calls({"tool_call_id": "call_1"}) is None

    @pytest.mark.parametrize(
        ("metadata", "field"),
        [
            ({"tool_calls": "call_1"}, "metadata.tool_calls"),
            ({"tool_calls": [5]}, "metadata.tool_calls[0]"),
            ({"tool_calls": [{"id": "c", "function": "f"}]}, "metadata.tool_calls[0].function"),
            (
                {"tool_calls": [{**OPENAI_CALL, "type": "custom"}]},
                "metadata.tool_calls[0].type",
            ),
            (
                {"tool_calls": [{**OPENAI_CALL, "function": {"arguments": "{}"}}]},
                "metadata.tool_calls[0].function.name",
            ),
            ({"tool_calls": [{"id": 1, "name": "f"}]}, "metadata.tool_calls[0].id"),
            ({"tool_calls": [{"id": "c", "arguments": "{}"}]}, "metadata.tool_calls[0].name"),
            (
                {"tool_calls": [{"id": "c", "name": "f", "arguments": {}}]},
                "metadata.tool_calls[0].arguments",
            ),
            ({"tool_call_id": 5}, "metadata.tool_call_id"),
        ],
    )
    def test_other_shapes_are_format_errors(self, metadata: dict[str, Any], field: str) -> None:
        """Anything else is a FormatError naming the field, from the validator and both writers."""
        with pytest.raises(cg.FormatError) as caught:
            check_tool_calls(metadata)
        assert caught.value.field == field
        record = cg.ConversationRecord(
            id="c",
            messages=(
                cg.MessageRecord(id="u", role="user", content="Hi"),
                cg.MessageRecord(
                    id="a", parent_id="u", role="assistant", metadata=metadata, content="Hello"
                ),
            ),
        )
        for write in (openai.to_messages, anthropic.to_request):
            with pytest.raises(cg.FormatError) as caught:
                write(record)
            assert caught.value.field == field
            assert caught.value.conversation_id == "c"
            assert "'a'" in str(caught.value)

    def test_unanswered_calls_and_stray_results_are_left_out(self) -> None:
        """A call with no answer, an answer to no call, an empty assistant turn: not written."""
        record = openai.from_messages(
            [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Let me look.", "tool_calls": [OPENAI_CALL]},
                {"role": "user", "content": "Never mind."},
                {"role": "tool", "tool_call_id": "call_1", "content": "late"},
                {"role": "tool", "tool_call_id": "call_9", "content": "stray"},
                {"role": "assistant", "content": ""},
                {"role": "assistant", "content": "Sure."},
            ]
        )
        messages = openai.to_messages(record)
        openai_ok(messages)
        assert messages == [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Let me look."},
            {"role": "user", "content": "Never mind."},
            {"role": "assistant", "content": "Sure."},
        ]
        body = anthropic.to_request(record)
        anthropic_ok(body)
        assert [m["content"] for m in body["messages"]] == [
            "Hi",
            "Let me look.",
            "Never mind.",
            "Sure.",
        ]

    def test_legacy_function_calling(self) -> None:
        """Legacy function_call and function role: kept for OpenAI, left out for Anthropic."""
        messages = [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "weather", "arguments": "{}"},
            },
            {"role": "function", "name": "weather", "content": "Sunny"},
            {"role": "assistant", "content": "It is sunny."},
        ]
        record = openai.from_messages(messages)
        written = openai.to_messages(record)
        openai_ok(written)
        assert written == messages
        body = anthropic.to_request(record)
        anthropic_ok(body)
        assert [m["content"] for m in body["messages"]] == ["Weather?", "It is sunny."]

    def test_anthropic_blocks_drop_unanswered_tool_use(self) -> None:
        """Kept anthropic_content loses the tool_use blocks nothing answers."""
        record = anthropic.from_messages(
            [
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": "t1", "name": "weather", "input": {}},
                    ],
                },
                {"role": "user", "content": "Stop."},
            ]
        )
        body = anthropic.to_request(record)
        anthropic_ok(body)
        assert body["messages"][1]["content"] == [{"type": "text", "text": "Checking."}]

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("openai_content", 5),
            ("openai_content", [5]),
            ("anthropic_content", [{"x": 1}]),
            ("anthropic_content", "text"),
        ],
    )
    def test_content_metadata_the_apis_cannot_take(self, key: str, value: object) -> None:
        """Content metadata of the wrong shape is a FormatError saying why, not a bad list."""
        record = cg.ConversationRecord(
            id="c",
            messages=(cg.MessageRecord(id="u", role="user", content="Hi", metadata={key: value}),),
        )
        write = openai.to_messages if key == "openai_content" else anthropic.to_request
        with pytest.raises(cg.FormatError, match=key) as caught:
            write(record)
        assert caught.value.field == f"metadata.{key}"


# -- SDK objects read (issue 15 item 6) -----------------------------------------------


class TestSdkObjects:
    """from_messages takes the SDKs' pydantic objects as they come from a response."""

    def test_openai_chat_completion_message(self) -> None:
        """A ChatCompletionMessage with tool calls reads like its dict, and writes back."""
        reply = ChatCompletionMessage.model_validate(
            {"role": "assistant", "content": None, "tool_calls": [OPENAI_CALL]}
        )
        answer = ChatCompletionMessage.model_validate({"role": "assistant", "content": "Done."})
        record = openai.from_messages(
            [
                {"role": "user", "content": "Please end this."},
                reply,
                {"role": "tool", "tool_call_id": "call_1", "content": "Ended."},
                answer,
            ]
        )
        assert record.messages[1].metadata["tool_calls"] == [FLAT_CALL]
        assert record.messages[3].content == "Done."
        messages = openai.to_messages(record)
        openai_ok(messages)
        assert messages[1]["tool_calls"] == [OPENAI_CALL]
        assert messages[1]["content"] is None

    def test_openai_tool_call_objects_inside_a_dict(self) -> None:
        """SDK tool-call objects inside a plain message dict are read too."""
        reply = ChatCompletionMessage.model_validate(
            {"role": "assistant", "content": None, "tool_calls": [OPENAI_CALL]}
        )
        assert reply.tool_calls is not None
        message = {"role": "assistant", "content": None, "tool_calls": list(reply.tool_calls)}
        record = openai.from_messages({"model": "m", "messages": [message]})
        assert record.messages[0].metadata["tool_calls"] == [FLAT_CALL]

    def test_anthropic_message_and_blocks(self) -> None:
        """A response Message, and TextBlock / ToolUseBlock objects in a content list."""
        use = ToolUseBlock(id="toolu_1", name="end_conversation", input={}, type="tool_use")
        response = Message(
            id="msg_1",
            type="message",
            role="assistant",
            model="claude",
            content=[TextBlock(text="I will end it.", type="text"), use],
            stop_reason="tool_use",
            stop_sequence=None,
            usage=Usage(input_tokens=1, output_tokens=1),
        )
        record = anthropic.from_messages(
            [
                {"role": "user", "content": [TextBlock(text="Please end this.", type="text")]},
                response,
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Ended."}
                    ],
                },
            ]
        )
        assert [m.role for m in record.messages] == ["user", "assistant", "tool"]
        assert record.messages[0].content == "Please end this."
        assert record.messages[1].metadata["tool_calls"] == [
            {"id": "toolu_1", "name": "end_conversation", "arguments": "{}"}
        ]
        body = anthropic.to_request(record)
        anthropic_ok(body)
        assert body["messages"][1]["content"][1] == {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "end_conversation",
            "input": {},
        }
        openai_ok(openai.to_messages(record))

    def test_duck_typed_and_broken_objects(self) -> None:
        """Anything with model_dump() of the right shape works; a broken one is a FormatError."""

        class Plain:
            def model_dump(self) -> dict[str, Any]:  # takes no options
                return {"role": "user", "content": "Hi"}

        class Broken:
            def model_dump(self, **_: Any) -> dict[str, Any]:
                raise RuntimeError("boom")

        class NotAnObject:
            def model_dump(self, **_: Any) -> list[int]:
                return [1]

        assert openai.from_messages([Plain()]).messages[0].content == "Hi"
        with pytest.raises(cg.FormatError, match=r"Broken.model_dump\(\) failed: boom"):
            openai.from_messages([Broken()])
        with pytest.raises(cg.FormatError, match="returned an array, not an object"):
            anthropic.from_messages([NotAnObject()])
        with pytest.raises(cg.FormatError, match="expected an object"):
            openai.from_messages([object()])

    def test_deep_nesting_is_a_format_error(self) -> None:
        """Data nested past Python's recursion limit is a FormatError, not a RecursionError."""
        deep: Any = "x"
        for _ in range(sys.getrecursionlimit() + 10):
            deep = [deep]
        with pytest.raises(cg.FormatError, match="nested too deeply"):
            openai.from_messages([{"role": "user", "content": deep}])

    def test_the_sdks_are_not_imported(self) -> None:
        """convguard.formats reads SDK objects without importing either SDK."""
        code = (
            "import sys, convguard as cg\n"
            "cg.formats.openai.from_messages([{'role': 'user', 'content': 'Hi'}])\n"
            "print(json.dumps(sorted(m for m in ('openai', 'anthropic') if m in sys.modules)))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", "import json\n" + code],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(out.stdout) == []
