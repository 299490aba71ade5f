"""The end_conversation tool: definitions for OpenAI and Anthropic, and its handler."""

from __future__ import annotations

import json
from typing import Any, Final

import jsonschema
import pytest

import convguard as cg
from convguard._tools import TOOL_NAME, handle_tool_call

#: The documented shape of a Chat Completions function tool.
OPENAI_TOOL: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["type", "function"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "function"},
        "function": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
                "description": {"type": "string"},
                "parameters": {"type": "object"},
                "strict": {"type": ["boolean", "null"]},
            },
        },
    },
}

#: The documented shape of a Messages API client tool.
ANTHROPIC_TOOL: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["name", "input_schema"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
        "description": {"type": "string"},
        "input_schema": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"const": "object"}},
        },
        "cache_control": {"type": ["object", "null"]},
    },
}


def _parameters(api: str) -> dict[str, Any]:
    tool = cg.end_conversation_tool(api)  # type: ignore[arg-type]
    params: dict[str, Any] = (
        tool["function"]["parameters"] if api == "openai" else tool["input_schema"]
    )
    return params


class TestDefinitions:
    """The tool definitions validate against each API's documented shape."""

    def test_openai_shape(self) -> None:
        """The OpenAI definition is a Chat Completions function tool."""
        tool = cg.end_conversation_tool("openai")
        jsonschema.validate(tool, OPENAI_TOOL)
        assert tool["function"]["name"] == TOOL_NAME

    def test_anthropic_shape(self) -> None:
        """The Anthropic definition is a Messages API client tool."""
        tool = cg.end_conversation_tool("anthropic")
        jsonschema.validate(tool, ANTHROPIC_TOOL)
        assert tool["name"] == TOOL_NAME

    @pytest.mark.parametrize("api", ["openai", "anthropic"])
    def test_parameters_are_a_json_schema_with_an_optional_reason(self, api: str) -> None:
        """The parameters are a valid JSON Schema: no required argument, an optional reason."""
        params = _parameters(api)
        jsonschema.Draft202012Validator.check_schema(params)
        assert params["type"] == "object"
        assert params["required"] == []
        assert params["properties"]["reason"]["type"] == "string"
        validator = jsonschema.Draft202012Validator(params)
        assert validator.is_valid({})
        assert validator.is_valid({"reason": "the user keeps insisting"})
        assert not validator.is_valid({"reason": 3})

    def test_both_apis_describe_the_same_tool(self) -> None:
        """Both definitions carry the same description and parameters."""
        openai = cg.end_conversation_tool("openai")
        anthropic = cg.end_conversation_tool("anthropic")
        assert openai["function"]["description"] == anthropic["description"]
        assert _parameters("openai") == _parameters("anthropic")
        assert "last resort" in anthropic["description"].lower()

    def test_definitions_are_json(self) -> None:
        """The definitions survive a JSON round trip, as they travel to the API."""
        for api in ("openai", "anthropic"):
            tool = cg.end_conversation_tool(api)
            assert json.loads(json.dumps(tool)) == tool

    def test_unknown_api(self) -> None:
        """Another API name is refused."""
        with pytest.raises(cg.InvalidOperationError, match="'openai' or 'anthropic'"):
            cg.end_conversation_tool("gemini")  # type: ignore[arg-type]


class TestArguments:
    """Arguments as each API delivers them."""

    @pytest.mark.parametrize(
        ("arguments", "reason"),
        [
            ('{"reason": "abuse after a warning"}', "abuse after a warning"),
            (b'{"reason": "bytes too"}', "bytes too"),
            ({"reason": "from Anthropic"}, "from Anthropic"),
            ("{}", None),
            ("", None),
            (None, None),
            ({"reason": ""}, None),
            ({"reason": "x", "extra": 1}, "x"),
        ],
    )
    def test_reason_is_read(self, arguments: Any, reason: str | None) -> None:
        """A JSON string, bytes, a mapping or nothing gives the reason, if any."""
        assert handle_tool_call(TOOL_NAME, arguments) == reason

    @pytest.mark.parametrize(
        ("name", "arguments", "message"),
        [
            ("get_weather", "{}", "not the end_conversation tool"),
            (TOOL_NAME, "{not json", "not valid JSON"),
            (TOOL_NAME, "[1, 2]", "must be an object"),
            (TOOL_NAME, {"reason": 42}, "malformed"),
        ],
    )
    def test_bad_calls(self, name: str, arguments: Any, message: str) -> None:
        """Another tool or malformed arguments raise InvalidOperationError."""
        with pytest.raises(cg.InvalidOperationError, match=message):
            handle_tool_call(name, arguments)


class TestHandling:
    """Conversation.handle_tool_call grants only at the policy's bar."""

    def test_denied_before_redirections(self, conv: cg.Conversation) -> None:
        """Early on the model is told to redirect instead, and nothing is stored."""
        conv.send("[abuse] one")
        before = len(conv.messages())
        result = conv.handle_tool_call(TOOL_NAME, "{}")
        assert not result.granted
        assert "last resort" in result.content
        assert "decline and steer the conversation elsewhere" in result.content
        assert len(conv.messages()) == before
        assert not conv.ended

    def test_denied_until_warned(self, make_guard: Any) -> None:
        """With redirections used but no warning, the model is told to warn first."""
        conv = make_guard(config={"max_redirections": 1}).start()
        conv.send("hello")
        conv.reply("Let's talk about something else.", redirect=True)
        result = conv.handle_tool_call(TOOL_NAME, {"reason": "rude"})
        assert not result.granted
        assert "not been warned" in result.content

    def test_denied_while_at_risk(self, conv: cg.Conversation) -> None:
        """A user who may be at risk is never ended: the model is told to support them."""
        conv.send("[crisis] I can't go on")
        for _ in range(4):
            conv.send("[abuse] whatever")
        result = conv.handle_tool_call(TOOL_NAME, None)
        assert not result.granted
        assert "at risk" in result.content
        assert result.verdict.action is cg.Action.SUPPORT

    def test_granted_after_warning(self, conv: cg.Conversation) -> None:
        """After redirections and a warning the end is granted and the branch is ended."""
        for _ in range(3):
            conv.send("[abuse] again")
        assert not conv.handle_tool_call(TOOL_NAME, "{}").granted  # warned just now
        conv.send("so what")  # the user answers the warning
        result = conv.handle_tool_call(TOOL_NAME, '{"reason": "abuse after a warning"}')
        assert result.granted
        assert conv.ended
        assert result.verdict.action is cg.Action.END
        event = conv.tip
        assert event is not None
        assert event.role is cg.Role.EVENT
        assert event.metadata["reason"] == "abuse after a warning"
        with pytest.raises(cg.ConversationEndedError):
            conv.handle_tool_call(TOOL_NAME, "{}")

    def test_shadow_mode_never_ends(self, make_guard: Any) -> None:
        """In shadow mode the model is told nothing was ended."""
        conv = make_guard(config={"mode": "shadow"}).start()
        for _ in range(3):
            conv.send("[abuse] again")
        conv.send("so what")
        result = conv.handle_tool_call(TOOL_NAME, "{}")
        assert not result.granted
        assert result.verdict.would_end
        assert "shadow mode" in result.content
        assert not conv.ended

    def test_result_messages_for_each_api(self, conv: cg.Conversation) -> None:
        """A result becomes the tool message (OpenAI) or tool_result block (Anthropic)."""
        result = conv.handle_tool_call(TOOL_NAME, "{}")
        assert result.openai_message("call_1") == {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": result.content,
        }
        assert result.anthropic_block("toolu_1") == {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": result.content,
        }

    def test_refusal_without_a_reason_line(self) -> None:
        """A verdict without a refusal line still gives the model a reason."""
        from convguard._tools import tool_result

        verdict = cg.Verdict(cg.Action.ALLOW, cg.PolicyState(), None)
        assert tool_result(verdict).content == (
            "Not ended: ending is not allowed now. Continue the conversation."
        )
