"""The model's tools: end_conversation and report_risk, their definitions and handling.

The classes named in :data:`CONVERSATION_CLASSES` take a conversation from the
``make_guard`` fixture; ``tests/test_aio.py`` runs them again on AsyncGuard.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import GenericAlias
from typing import Any, Final

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convguard as cg
from convguard._tools import (
    RISK_TOOL_NAME,
    TOOL_NAME,
    Arguments,
    Call,
    Malformed,
    parse_arguments,
    read_call,
    tool_result,
)
from tests.conftest import MakeGuard

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

DEFINITIONS: Final[dict[str, Callable[[Any], dict[str, Any]]]] = {
    TOOL_NAME: cg.end_conversation_tool,
    RISK_TOOL_NAME: cg.report_risk_tool,
}
RESOURCE: Final = cg.PolicyConfig().support_resources["en"][1]  # the 988 line


def _parameters(api: str, name: str = TOOL_NAME) -> dict[str, Any]:
    tool = DEFINITIONS[name](api)
    params: dict[str, Any] = (
        tool["function"]["parameters"] if api == "openai" else tool["input_schema"]
    )
    return params


def _deep(depth: int) -> dict[str, Any]:
    """Build a mapping nested *depth* deep without recursion."""
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def openai_call(name: str, arguments: str, call_id: str = "call_1") -> dict[str, Any]:
    """A Chat Completions tool call, as ``ChatCompletionMessageToolCall.model_dump()`` gives."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def anthropic_use(name: str, given: Any, use_id: str = "toolu_1") -> dict[str, Any]:
    """An Anthropic ``tool_use`` block, as ``ToolUseBlock.model_dump()`` gives."""
    return {"type": "tool_use", "id": use_id, "name": name, "input": given, "caller": None}


class Dumps:
    """An SDK-like object: only ``model_dump()``."""

    def __init__(self, data: object) -> None:
        self.data = data

    def model_dump(self) -> object:
        if isinstance(self.data, Exception):
            raise self.data
        return self.data


class TestDefinitions:
    """The tool definitions validate against each API's documented shape."""

    @pytest.mark.parametrize("name", [TOOL_NAME, RISK_TOOL_NAME])
    def test_openai_shape(self, name: str) -> None:
        """The OpenAI definition is a Chat Completions function tool."""
        tool = DEFINITIONS[name]("openai")
        jsonschema.validate(tool, OPENAI_TOOL)
        assert tool["function"]["name"] == name

    @pytest.mark.parametrize("name", [TOOL_NAME, RISK_TOOL_NAME])
    def test_anthropic_shape(self, name: str) -> None:
        """The Anthropic definition is a Messages API client tool."""
        tool = DEFINITIONS[name]("anthropic")
        jsonschema.validate(tool, ANTHROPIC_TOOL)
        assert tool["name"] == name

    @pytest.mark.parametrize("api", ["openai", "anthropic"])
    def test_end_parameters_are_a_strict_schema_with_an_optional_reason(self, api: str) -> None:
        """end_conversation: nothing required, a reason of at most 1,000 characters, no other."""
        params = _parameters(api)
        jsonschema.Draft202012Validator.check_schema(params)
        assert params["type"] == "object"
        assert params["required"] == []
        assert params["additionalProperties"] is False
        assert params["properties"]["reason"] == {
            "type": "string",
            "description": params["properties"]["reason"]["description"],
            "maxLength": 1000,
        }
        validator = jsonschema.Draft202012Validator(params)
        assert validator.is_valid({})
        assert validator.is_valid({"reason": "the user keeps insisting"})
        assert not validator.is_valid({"reason": 3})
        assert not validator.is_valid({"reason": "x", "extra": 1})
        assert not validator.is_valid({"reason": "x" * 1001})

    @pytest.mark.parametrize("api", ["openai", "anthropic"])
    def test_risk_parameters(self, api: str) -> None:
        """report_risk: a required protective category, an optional short reason, no other."""
        params = _parameters(api, RISK_TOOL_NAME)
        jsonschema.Draft202012Validator.check_schema(params)
        assert params["required"] == ["category"]
        assert params["properties"]["category"]["enum"] == ["self_harm_risk", "harm_to_others_risk"]
        assert params["properties"]["reason"]["maxLength"] == 1000
        validator = jsonschema.Draft202012Validator(params)
        assert validator.is_valid({"category": "self_harm_risk"})
        assert validator.is_valid({"category": "harm_to_others_risk", "reason": "a threat"})
        assert not validator.is_valid({})
        assert not validator.is_valid({"category": "abuse"})
        assert not validator.is_valid({"category": "self_harm_risk", "why": "x"})

    @pytest.mark.parametrize("name", [TOOL_NAME, RISK_TOOL_NAME])
    def test_both_apis_describe_the_same_tool(self, name: str) -> None:
        """Both definitions carry the same description and parameters."""
        openai = DEFINITIONS[name]("openai")
        anthropic = DEFINITIONS[name]("anthropic")
        assert openai["function"]["description"] == anthropic["description"]
        assert _parameters("openai", name) == _parameters("anthropic", name)

    def test_descriptions_say_when_to_call_each(self) -> None:
        """end_conversation is a last resort, never for a user at risk; report_risk is for risk."""
        end = cg.end_conversation_tool("anthropic")["description"].lower()
        risk = cg.report_risk_tool("anthropic")["description"].lower()
        assert "last resort" in end
        assert "never use it when the user may be at risk" in end
        assert "may be at risk" in risk
        assert "will not be ended" in risk

    def test_definitions_are_json(self) -> None:
        """The definitions survive a JSON round trip, as they travel to the API."""
        for make in DEFINITIONS.values():
            for api in ("openai", "anthropic"):
                tool = make(api)
                assert json.loads(json.dumps(tool)) == tool

    @pytest.mark.parametrize("name", [TOOL_NAME, RISK_TOOL_NAME])
    def test_unknown_api(self, name: str) -> None:
        """Another API name is refused."""
        with pytest.raises(cg.InvalidOperationError, match="'openai' or 'anthropic'"):
            DEFINITIONS[name]("gemini")


class TestReadCall:
    """A call comes as a name and arguments, or as one object in an API's shape."""

    def test_name_and_arguments(self) -> None:
        """A name and its arguments, without an id."""
        assert read_call(TOOL_NAME, "{}") == Call(TOOL_NAME, "{}")
        assert read_call(RISK_TOOL_NAME) == Call(RISK_TOOL_NAME, None)

    @pytest.mark.parametrize(
        ("call", "expected"),
        [
            (
                openai_call(TOOL_NAME, '{"reason": "r"}'),
                Call(TOOL_NAME, '{"reason": "r"}', "call_1"),
            ),
            (
                {"id": "c", "function": {"name": RISK_TOOL_NAME, "arguments": "{}"}},
                Call(RISK_TOOL_NAME, "{}", "c"),
            ),
            (
                anthropic_use(TOOL_NAME, {"reason": "r"}),
                Call(TOOL_NAME, {"reason": "r"}, "toolu_1"),
            ),
            ({"id": "c", "name": TOOL_NAME, "arguments": "{}"}, Call(TOOL_NAME, "{}", "c")),
            (Dumps(openai_call(TOOL_NAME, "{}", "call_9")), Call(TOOL_NAME, "{}", "call_9")),
            (Dumps(anthropic_use(TOOL_NAME, {})), Call(TOOL_NAME, {}, "toolu_1")),
            ({"type": "function", "function": {"name": TOOL_NAME}}, Call(TOOL_NAME, None)),
        ],
    )
    def test_call_objects(self, call: object, expected: Call) -> None:
        """OpenAI and Anthropic calls, their dict forms, the flat record shape, model_dump()."""
        assert read_call(call) == expected

    @pytest.mark.parametrize(
        ("call", "arguments", "message"),
        [
            ("get_weather", "{}", "not a convguard tool"),
            ("x" * 500, "{}", "not a convguard tool"),
            (openai_call("get_weather", "{}"), None, "not a convguard tool"),
            (anthropic_use("get_weather", {}), None, "not a convguard tool"),
            (openai_call(TOOL_NAME, "{}"), "{}", "not both"),
            ({"type": "text", "text": "hi"}, None, "a tool call must be"),
            ({}, None, "a tool call must be"),
            (5, None, "got int"),
            (None, None, "got NoneType"),
            (dict, None, "got type"),
            ({"type": "tool_use", "id": "t", "name": 5, "input": {}}, None, "no name"),
            (
                {"type": "tool_use", "id": 7, "name": TOOL_NAME, "input": {}},
                None,
                "id must be a str",
            ),
            (openai_call(TOOL_NAME, "{}", "call_\ud800"), None, "id holds a lone surrogate"),
            (openai_call(TOOL_NAME, "{}", "call_\x00"), None, "id holds a NUL"),
            (openai_call(TOOL_NAME, "{}", "c" * 257), None, "id is over 256 characters"),
            (Dumps(RuntimeError("boom")), None, r"model_dump\(\) failed: boom"),
            (Dumps([1, 2]), None, "gave list, not a mapping"),
        ],
    )
    def test_the_backends_mistakes_raise(
        self, call: object, arguments: object, message: str
    ) -> None:
        """An unknown tool or a call of no known shape is the backend's bug, so it raises."""
        with pytest.raises(cg.InvalidOperationError, match=message):
            read_call(call, arguments)


class TestArguments:
    """Arguments are checked against the schema the definitions publish."""

    @pytest.mark.parametrize(
        ("name", "arguments", "expected"),
        [
            (TOOL_NAME, '{"reason": "abuse after a warning"}', Arguments("abuse after a warning")),
            (TOOL_NAME, b'{"reason": "bytes too"}', Arguments("bytes too")),
            (TOOL_NAME, {"reason": "from Anthropic"}, Arguments("from Anthropic")),
            (TOOL_NAME, "{}", Arguments()),
            (TOOL_NAME, "", Arguments()),
            (TOOL_NAME, None, Arguments()),
            (TOOL_NAME, {"reason": ""}, Arguments()),
            (TOOL_NAME, {"reason": "x" * 1000}, Arguments("x" * 1000)),
            (RISK_TOOL_NAME, '{"category": "self_harm_risk"}', Arguments(None, "self_harm_risk")),
            (
                RISK_TOOL_NAME,
                {"category": cg.Category.HARM_TO_OTHERS_RISK, "reason": "a threat"},
                Arguments("a threat", "harm_to_others_risk"),
            ),
        ],
    )
    def test_valid(self, name: str, arguments: object, expected: Arguments) -> None:
        """A JSON string, bytes, a mapping or nothing gives the checked arguments."""
        assert parse_arguments(Call(name, arguments)) == expected

    @pytest.mark.parametrize(
        ("name", "arguments", "problem"),
        [
            (TOOL_NAME, '{"reason": ', "not valid JSON"),
            (TOOL_NAME, "{not json", "not valid JSON"),
            (TOOL_NAME, b"\xff\xfe\xfa", "not valid JSON"),
            (TOOL_NAME, "[1, 2]", "must be a JSON object, not an array"),
            (TOOL_NAME, '"text"', "must be a JSON object, not a string"),
            (TOOL_NAME, "null", "must be a JSON object, not null"),
            (TOOL_NAME, 5, "must be a JSON object, not a number"),
            (TOOL_NAME, [1], "must be a JSON object, not an array"),
            (TOOL_NAME, object(), "must be a JSON object, not object"),
            (TOOL_NAME, '{"reason": 5}', '"reason" must be a string, not a number'),
            (TOOL_NAME, {"reason": None}, '"reason" must be a string, not null'),
            (TOOL_NAME, {"reason": True}, '"reason" must be a string, not a boolean'),
            (TOOL_NAME, {"reason": ["a"]}, '"reason" must be a string, not an array'),
            (TOOL_NAME, {"reason": "x", "extra": 1}, 'unknown argument "extra"'),
            (TOOL_NAME, {"category": "self_harm_risk"}, 'unknown argument "category"'),
            (TOOL_NAME, {5: "x"}, "unknown argument a number"),
            (TOOL_NAME, {"reason": "x" * 1001}, '"reason" is 1,001 characters'),
            (TOOL_NAME, {"reason": "a\ud800b"}, "lone surrogate"),
            (TOOL_NAME, '{"reason": "a\\ud800b"}', "lone surrogate"),
            (TOOL_NAME, {"reason": "a\x00b"}, "NUL"),
            (TOOL_NAME, "[" * 100_000 + "]" * 100_000, "nested too deeply"),
            (TOOL_NAME, '{"reason": ' + "[" * 100_000, "nested too deeply"),
            (TOOL_NAME, {"reason": _deep(100_000)}, '"reason" must be a string, not an object'),
            (TOOL_NAME, {"x": _deep(100_000)}, 'unknown argument "x"'),
            (RISK_TOOL_NAME, "{}", '"category" is required'),
            (RISK_TOOL_NAME, {"reason": "sad"}, '"category" is required'),
            (RISK_TOOL_NAME, {"category": "abuse"}, '"category" must be "self_harm_risk" or'),
            (RISK_TOOL_NAME, {"category": ["self_harm_risk"]}, "not an array"),
            (RISK_TOOL_NAME, {"category": "self_harm_risk", "why": "x"}, 'unknown argument "why"'),
            (RISK_TOOL_NAME, {"category": "self_harm_risk", "reason": 1.5}, '"reason" must be'),
        ],
    )
    def test_malformed(self, name: str, arguments: object, problem: str) -> None:
        """Each schema violation is reported in words, never raised."""
        parsed = parse_arguments(Call(name, arguments))
        assert isinstance(parsed, Malformed)
        assert problem in parsed.problem

    @given(
        st.sampled_from([TOOL_NAME, RISK_TOOL_NAME]),
        st.dictionaries(
            st.sampled_from(["reason", "category", "extra"]),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(),
                st.sampled_from(["self_harm_risk", "harm_to_others_risk", "abuse", ""]),
                st.text(max_size=5),
                st.text(min_size=995, max_size=1005, alphabet="ab"),
                st.lists(st.integers(), max_size=2),
            ),
        ),
    )
    @settings(max_examples=300, deadline=None)
    def test_accepts_exactly_what_the_published_schema_accepts(
        self, name: str, arguments: dict[str, Any]
    ) -> None:
        """The handler and a JSON Schema validator of the published parameters agree."""
        validator = jsonschema.Draft202012Validator(_parameters("openai", name))
        parsed = parse_arguments(Call(name, json.dumps(arguments)))
        assert isinstance(parsed, Arguments) == validator.is_valid(arguments)


class TestToolResult:
    """A result becomes the answer each API expects."""

    def test_for_each_api_with_an_id(self) -> None:
        """The tool message (OpenAI) and the tool_result block (Anthropic)."""
        result = cg.ToolResult(granted=False, content="Not ended.")
        assert result.to_openai("call_1") == {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": "Not ended.",
        }
        assert result.to_anthropic("toolu_1") == {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": "Not ended.",
        }
        assert result.openai_message("call_1") == result.to_openai("call_1")
        assert result.anthropic_block("toolu_1") == result.to_anthropic("toolu_1")

    def test_the_calls_own_id(self) -> None:
        """A result that remembers its call's id needs none; a given one wins."""
        result = cg.ToolResult(granted=False, content="c", call_id="call_7")
        assert result.to_openai()["tool_call_id"] == "call_7"
        assert result.to_anthropic()["tool_use_id"] == "call_7"
        assert result.to_openai("other")["tool_call_id"] == "other"

    def test_no_id_at_all(self) -> None:
        """Without any id there is nothing to answer: a clear error."""
        result = cg.ToolResult(granted=False, content="c")
        with pytest.raises(cg.InvalidOperationError, match="no tool call id"):
            result.to_openai()
        with pytest.raises(cg.InvalidOperationError, match="no tool call id"):
            result.to_anthropic()

    def test_errors_are_flagged_for_anthropic(self) -> None:
        """A malformed call's block carries is_error; OpenAI has no such field."""
        result = cg.ToolResult(granted=False, content="Error: x", is_error=True, call_id="t")
        assert result.to_anthropic()["is_error"] is True
        assert "is_error" not in result.to_openai()

    def test_refusal_without_a_reason_line(self) -> None:
        """A verdict without a refusal line still gives the model a reason."""
        verdict = cg.Verdict(cg.Action.ALLOW, cg.PolicyState(), None)
        assert tool_result(verdict).content == (
            "Not ended: ending is not allowed now. Continue the conversation."
        )


def _end_at_the_bar(conv: cg.Conversation) -> None:
    """Redirect twice, warn, and let the user answer: the next end request is granted."""
    for _ in range(3):
        conv.send("[abuse] again")
    conv.send("so what")


class TestHandling:
    """Conversation.handle_tool_call grants an end only at the policy's bar."""

    def test_denied_before_redirections(self, conv: cg.Conversation) -> None:
        """Early on the model is told to redirect instead, and nothing is stored."""
        conv.send("[abuse] one")
        before = len(conv.messages())
        result = conv.handle_tool_call(TOOL_NAME, "{}")
        assert not result.granted
        assert not result.is_error
        assert "last resort" in result.content
        assert "decline and steer the conversation elsewhere" in result.content
        assert len(conv.messages()) == before
        assert not conv.ended()

    def test_denied_until_warned(self, make_guard: MakeGuard) -> None:
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
        assert result.verdict is not None
        assert result.verdict.action is cg.Action.SUPPORT

    def test_granted_after_warning(self, conv: cg.Conversation) -> None:
        """After redirections and a warning the end is granted and the branch is ended."""
        for _ in range(3):
            conv.send("[abuse] again")
        assert not conv.handle_tool_call(TOOL_NAME, "{}").granted  # warned just now
        conv.send("so what")  # the user answers the warning
        result = conv.handle_tool_call(TOOL_NAME, '{"reason": "abuse after a warning"}')
        assert result.granted
        assert conv.ended()
        assert result.verdict is not None
        assert result.verdict.action is cg.Action.END
        event = conv.tip()
        assert event is not None
        assert event.role is cg.Role.EVENT
        assert event.metadata["reason"] == "abuse after a warning"
        with pytest.raises(cg.ConversationEndedError):
            conv.handle_tool_call(TOOL_NAME, "{}")

    def test_shadow_mode_never_ends(self, make_guard: MakeGuard) -> None:
        """In shadow mode the model is told nothing was ended."""
        conv = make_guard(config={"mode": "shadow"}).start()
        _end_at_the_bar(conv)
        result = conv.handle_tool_call(TOOL_NAME, "{}")
        assert not result.granted
        assert result.verdict is not None
        assert result.verdict.would_end
        assert "shadow mode" in result.content
        assert not conv.ended()

    @pytest.mark.parametrize("at_the_bar", [False, True])
    def test_the_same_as_request_end(self, make_guard: MakeGuard, *, at_the_bar: bool) -> None:
        """The tool call decides and stores what request_end(by="assistant") does."""
        verdicts, paths = [], []
        for by_tool in (True, False):
            conv = make_guard().start()
            if at_the_bar:
                _end_at_the_bar(conv)
            else:
                conv.send("[abuse] one")
            if by_tool:
                verdicts.append(conv.handle_tool_call(TOOL_NAME, {"reason": "r"}).verdict)
            else:
                verdicts.append(conv.request_end(by="assistant", reason="r"))
            paths.append(conv.path())
        assert verdicts[0] == verdicts[1]
        assert paths[0] == paths[1]

    def test_unknown_tool_raises(self, conv: cg.Conversation) -> None:
        """Another tool's name is the backend's bug, and nothing is stored."""
        conv.send("hello")
        before = conv.messages()
        with pytest.raises(cg.InvalidOperationError, match="not a convguard tool"):
            conv.handle_tool_call("get_weather", "{}")
        with pytest.raises(cg.InvalidOperationError, match="not a convguard tool"):
            conv.handle_tool_call(openai_call("get_weather", "{}"))
        assert conv.messages() == before


MALFORMED: Final = [
    '{"reason": ',
    "[1, 2]",
    '{"reason": 5}',
    5,
    {"reason": "x", "extra": 1},
    {"reason": "x" * 1001},
    "[" * 100_000 + "]" * 100_000,
    {"reason": _deep(100_000)},
]


class TestMalformedCalls:
    """A malformed call goes back to the model as an error result; nothing is stored."""

    @pytest.mark.parametrize("arguments", MALFORMED)
    @pytest.mark.parametrize("record", [False, True])
    def test_end_conversation(
        self, make_guard: MakeGuard, arguments: object, *, record: bool
    ) -> None:
        """Even where an end would be granted, malformed arguments end nothing."""
        conv = make_guard().start()
        _end_at_the_bar(conv)
        before = conv.messages()
        result = conv.handle_tool_call(TOOL_NAME, arguments, record=record)  # type: ignore[arg-type]
        assert result.is_error
        assert not result.granted
        assert result.verdict is None
        assert result.content.startswith("Error: end_conversation was called with malformed")
        assert "Nothing was ended" in result.content
        assert conv.messages() == before
        assert not conv.ended()
        assert conv.handle_tool_call(TOOL_NAME, "{}").granted  # the bar still stands

    @pytest.mark.parametrize(
        "arguments",
        ["{}", {"category": "abuse"}, '{"category": "self_harm_risk", "reason": 5}', "[" * 100_000],
    )
    def test_report_risk(self, conv: cg.Conversation, arguments: object) -> None:
        """A malformed report stores no event and remembers no risk."""
        conv.send("hello")
        before = conv.messages()
        result = conv.handle_tool_call(RISK_TOOL_NAME, arguments)  # type: ignore[arg-type]
        assert result.is_error
        assert not result.granted
        assert "Nothing was recorded" in result.content
        assert conv.messages() == before

    def test_a_reason_over_the_guards_limit(self, make_guard: MakeGuard) -> None:
        """Below 1,000 characters, Guard(max_message_chars=...) bounds a reason too."""
        conv = make_guard(max_message_chars=100).start()
        _end_at_the_bar(conv)
        result = conv.handle_tool_call(TOOL_NAME, {"reason": "x" * 101})
        assert result.is_error
        assert '"reason" is 101 characters; keep it to 100' in result.content
        assert conv.handle_tool_call(TOOL_NAME, {"reason": "x" * 100}).granted

    def test_as_an_error_block(self, conv: cg.Conversation) -> None:
        """The result goes back as an OpenAI tool message or an Anthropic error block."""
        result = conv.handle_tool_call(anthropic_use(TOOL_NAME, {"reason": 5}))
        assert result.to_anthropic() == {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": result.content,
            "is_error": True,
        }
        assert '"reason" must be a string, not a number' in result.content
        assert result.to_openai("call_1")["content"] == result.content


class TestReportRisk:
    """report_risk stores a protective finding the conversation remembers."""

    def test_support_guidance_with_resources(self, conv: cg.Conversation) -> None:
        """The result is granted and its content is the SUPPORT guidance with the resources."""
        conv.send("hello")
        result = conv.handle_tool_call(
            RISK_TOOL_NAME, '{"category": "self_harm_risk", "reason": "talks of goodbyes"}'
        )
        assert result.granted
        assert not result.is_error
        assert result.verdict is not None
        assert result.verdict.action is cg.Action.SUPPORT
        assert result.content == result.verdict.guidance
        assert RESOURCE in result.content
        event = conv.tip()
        assert event is not None
        assert event.role is cg.Role.EVENT
        assert event.metadata["reason"] == "talks of goodbyes"

    def test_the_same_as_report_risk(self, make_guard: MakeGuard) -> None:
        """The tool call decides and stores what conv.report_risk does."""
        events, verdicts = [], []
        for by_tool in (True, False):
            conv = make_guard().start()
            conv.send("hello")
            if by_tool:
                result = conv.handle_tool_call(
                    RISK_TOOL_NAME, {"category": "harm_to_others_risk", "reason": "a threat"}
                )
                verdicts.append(result.verdict)
            else:
                verdicts.append(conv.report_risk("harm_to_others_risk", reason="a threat"))
            events.append(conv.tip())
        assert verdicts[0] == verdicts[1]
        assert events[0] == events[1]

    @pytest.mark.parametrize("category", ["self_harm_risk", "harm_to_others_risk"])
    def test_no_end_afterwards(self, conv: cg.Conversation, category: str) -> None:
        """After a report, persistent abuse is never ended, by the policy or the tool."""
        conv.send("hello")
        conv.handle_tool_call(anthropic_use(RISK_TOOL_NAME, {"category": category}))
        actions = [conv.send("[abuse] again").action for _ in range(5)]
        assert cg.Action.END not in actions
        assert cg.Action.WARN not in actions
        refused = conv.handle_tool_call(TOOL_NAME, "{}")
        assert not refused.granted
        assert "at risk" in refused.content
        assert not conv.ended()

    def test_remembered_on_other_branches(self, conv: cg.Conversation) -> None:
        """An edit does not undo the risk the model reported."""
        first = conv.send("hello")
        conv.send("more")
        conv.handle_tool_call(RISK_TOOL_NAME, {"category": "self_harm_risk"})
        assert first.message_id is not None
        conv.edit(first.message_id, "[abuse] edited")
        actions = [conv.send("[abuse] again").action for _ in range(4)]
        assert cg.Action.END not in actions
        assert not conv.ended()


class TestCallObjects:
    """handle_tool_call takes the call object as the SDK returns it."""

    def test_openai_dict_form(self, conv: cg.Conversation) -> None:
        """An OpenAI tool call: the result remembers its id."""
        conv.send("[abuse] one")
        result = conv.handle_tool_call(openai_call(TOOL_NAME, '{"reason": "rude"}', "call_42"))
        assert not result.granted
        assert result.call_id == "call_42"
        assert result.to_openai() == {
            "role": "tool",
            "tool_call_id": "call_42",
            "content": result.content,
        }

    def test_anthropic_dict_form(self, conv: cg.Conversation) -> None:
        """An Anthropic tool_use block: the result remembers its id."""
        conv.send("hello")
        use = anthropic_use(RISK_TOOL_NAME, {"category": "self_harm_risk"}, "toolu_9")
        result = conv.handle_tool_call(use)
        assert result.granted
        assert result.to_anthropic() == {
            "type": "tool_result",
            "tool_use_id": "toolu_9",
            "content": result.content,
        }

    def test_model_dump_objects(self, make_guard: MakeGuard) -> None:
        """Anything with model_dump() of the right shape is read through it."""
        conv = make_guard().start()
        _end_at_the_bar(conv)
        result = conv.handle_tool_call(Dumps(openai_call(TOOL_NAME, "{}", "call_5")))
        assert result.granted
        assert result.call_id == "call_5"

    def test_the_same_as_name_and_arguments(self, make_guard: MakeGuard) -> None:
        """A call object and its name and arguments get the same answer."""
        contents = []
        for call, arguments in [
            (TOOL_NAME, '{"reason": "r"}'),
            (openai_call(TOOL_NAME, '{"reason": "r"}'), None),
            (anthropic_use(TOOL_NAME, {"reason": "r"}), None),
        ]:
            conv = make_guard().start()
            conv.send("[abuse] one")
            contents.append(conv.handle_tool_call(call, arguments).content)  # type: ignore[arg-type]
        assert len(set(contents)) == 1

    def test_real_openai_tool_call(self, make_guard: MakeGuard) -> None:
        """The openai SDK's ChatCompletionMessageToolCall works as it is."""
        chat = pytest.importorskip("openai.types.chat")
        call = chat.ChatCompletionMessageToolCall(
            id="call_sdk",
            type="function",
            function={"name": RISK_TOOL_NAME, "arguments": '{"category": "self_harm_risk"}'},
        )
        conv = make_guard().start()
        conv.send("hello")
        result = conv.handle_tool_call(call)
        assert result.granted
        assert result.to_openai()["tool_call_id"] == "call_sdk"
        chat_types = pytest.importorskip("openai.types.chat")
        adapter = pytest.importorskip("pydantic").TypeAdapter(
            chat_types.ChatCompletionToolMessageParam
        )
        adapter.validate_python(result.to_openai())

    def test_real_anthropic_tool_use_block(self, make_guard: MakeGuard) -> None:
        """The anthropic SDK's ToolUseBlock works as it is, and its error result validates."""
        types = pytest.importorskip("anthropic.types")
        block = types.ToolUseBlock(
            id="toolu_sdk", type="tool_use", name=TOOL_NAME, input={"reason": 5}
        )
        conv = make_guard().start()
        result = conv.handle_tool_call(block)
        assert result.is_error
        answer = result.to_anthropic()
        assert answer["tool_use_id"] == "toolu_sdk"
        adapter = pytest.importorskip("pydantic").TypeAdapter(types.ToolResultBlockParam)
        adapter.validate_python(answer)


def _paired(messages: list[dict[str, Any]]) -> bool:
    """Every OpenAI tool call is answered next, and every tool message answers a call."""
    waiting: set[str] = set()
    for message in messages:
        if message["role"] == "tool":
            if message.get("tool_call_id") not in waiting:
                return False
            waiting.discard(message["tool_call_id"])
            continue
        if waiting:
            return False
        waiting = {call["id"] for call in message.get("tool_calls") or ()}
    return not waiting


def _api_lists(conv: cg.Conversation) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    record = conv.export()
    return cg.formats.openai.to_messages(record), cg.formats.anthropic.to_request(record)


class TestRecord:
    """record=True stores the call and its result, so an export replays as the API saw it."""

    def test_refused_end(self, conv: cg.Conversation) -> None:
        """The call and its result follow the user turn; the branch goes on."""
        conv.send("[abuse] one")
        result = conv.handle_tool_call(
            openai_call(TOOL_NAME, '{"reason": "rude"}', "call_1"), record=True
        )
        assert not result.granted
        call, answer = conv.path()[-2:]
        assert call.role is cg.Role.ASSISTANT
        assert call.content == ""
        assert call.metadata["tool_calls"] == [
            {"id": "call_1", "name": TOOL_NAME, "arguments": '{"reason": "rude"}'}
        ]
        assert answer.role is cg.Role.TOOL
        assert answer.content == result.content
        assert answer.metadata == {"tool_call_id": "call_1"}
        assert conv.tip() == answer
        conv.send("[abuse] two")  # the next turn goes under the result
        messages, request = _api_lists(conv)
        assert [m["role"] for m in messages] == ["user", "assistant", "tool", "user"]
        assert messages[1]["tool_calls"][0]["function"]["name"] == TOOL_NAME
        assert _paired(messages)
        roles = [(m["role"], [b["type"] for b in m["content"]]) for m in request["messages"][1:]]
        assert roles == [("assistant", ["tool_use"]), ("user", ["tool_result", "text"])]

    def test_granted_end(self, make_guard: MakeGuard) -> None:
        """The result is stored before the event, so the API list ends with it."""
        conv = make_guard().start()
        _end_at_the_bar(conv)
        result = conv.handle_tool_call(
            anthropic_use(TOOL_NAME, {"reason": "after a warning"}, "toolu_3"), record=True
        )
        assert result.granted
        assert conv.ended()
        call, answer, event = conv.path()[-3:]
        assert call.metadata["tool_calls"][0]["id"] == "toolu_3"
        assert json.loads(call.metadata["tool_calls"][0]["arguments"]) == {
            "reason": "after a warning"
        }
        assert answer.parent_id == call.id
        assert answer.content == result.content
        assert event.role is cg.Role.EVENT
        assert event.parent_id == answer.id
        assert result.verdict is not None
        assert result.verdict.message_id == event.id
        messages, request = _api_lists(conv)
        assert messages[-2]["tool_calls"][0]["id"] == "toolu_3"
        assert messages[-1] == {
            "role": "tool",
            "content": result.content,
            "tool_call_id": "toolu_3",
        }
        assert _paired(messages)
        assert request["messages"][-1]["content"][0]["tool_use_id"] == "toolu_3"

    def test_replay_reaches_the_same_end(self, make_guard: MakeGuard) -> None:
        """Replaying the export ends the branch at the same event (invariant 6)."""
        guard = make_guard()
        conv = guard.start()
        _end_at_the_bar(conv)
        conv.handle_tool_call(TOOL_NAME, "{}", record=True)
        tip = conv.tip()
        assert tip is not None
        replay = guard.replay(conv.export())
        assert [b.ended_at for b in replay.branches] == [tip.id]

    @pytest.mark.parametrize("at_the_bar", [False, True])
    def test_same_answer_as_unrecorded(self, make_guard: MakeGuard, *, at_the_bar: bool) -> None:
        """Recording changes what is stored, never the decision."""
        results = []
        for record in (False, True):
            conv = make_guard().start()
            if at_the_bar:
                _end_at_the_bar(conv)
            else:
                conv.send("[abuse] one")
            results.append(conv.handle_tool_call(TOOL_NAME, "{}", record=record))
            assert conv.ended() is at_the_bar
        unrecorded, recorded = results
        assert (recorded.granted, recorded.content) == (unrecorded.granted, unrecorded.content)

    def test_risk_report(self, conv: cg.Conversation) -> None:
        """A recorded report: the call, the result with the resources, then the event."""
        conv.send("hello")
        result = conv.handle_tool_call(
            RISK_TOOL_NAME, {"category": "self_harm_risk", "reason": "goodbyes"}, record=True
        )
        assert result.granted
        call, answer, event = conv.path()[-3:]
        entry = call.metadata["tool_calls"][0]
        assert entry["name"] == RISK_TOOL_NAME
        assert json.loads(entry["arguments"]) == {
            "category": "self_harm_risk",
            "reason": "goodbyes",
        }
        assert answer.metadata == {"tool_call_id": entry["id"]}  # an id made for a bare name
        assert RESOURCE in answer.content
        assert event.role is cg.Role.EVENT
        assert event.verdict is not None
        assert event.verdict.action is cg.Action.SUPPORT
        actions = [conv.send("[abuse] again").action for _ in range(5)]
        assert cg.Action.END not in actions  # remembered, as an unrecorded report is
        messages, _ = _api_lists(conv)
        assert _paired(messages)

    def test_api_lists_validate_against_the_sdks(self, make_guard: MakeGuard) -> None:
        """A recorded loop exports as lists the SDK types accept."""
        pydantic = pytest.importorskip("pydantic")
        chat = pytest.importorskip("openai.types.chat")
        anthropic_types = pytest.importorskip("anthropic.types")
        conv = make_guard().start()
        conv.send("[abuse] one")
        conv.handle_tool_call(openai_call(TOOL_NAME, "{}", "call_a"), record=True)
        conv.reply("Let's talk about something else.")
        conv.send("I feel low")
        conv.handle_tool_call(
            anthropic_use(RISK_TOOL_NAME, {"category": "self_harm_risk"}, "toolu_b"), record=True
        )
        messages, request = _api_lists(conv)
        assert _paired(messages)
        pydantic.TypeAdapter(GenericAlias(list, chat.ChatCompletionMessageParam)).validate_python(
            messages
        )
        pydantic.TypeAdapter(GenericAlias(list, anthropic_types.MessageParam)).validate_python(
            request["messages"]
        )


class TestAnswering:
    """to= names the user turn the model's call answers, as reply(to=...) does."""

    @pytest.mark.parametrize("record", [False, True])
    def test_still_the_tip(self, make_guard: MakeGuard, *, record: bool) -> None:
        """While the turn is the tip, the call is handled as without to=."""
        conv = make_guard().start()
        for _ in range(3):
            conv.send("[abuse] again")
        verdict = conv.send("so what")
        result = conv.handle_tool_call(TOOL_NAME, "{}", record=record, to=verdict.message_id)
        assert result.granted
        assert conv.ended()

    @pytest.mark.parametrize("record", [False, True])
    @pytest.mark.parametrize("name", [TOOL_NAME, RISK_TOOL_NAME])
    def test_the_user_moved_on(self, conv: cg.Conversation, name: str, *, record: bool) -> None:
        """A second message arrived while the model was answering: a conflict, nothing stored."""
        first = conv.send("hello")
        conv.send("are you there?")
        before = conv.messages()
        arguments = {"category": "self_harm_risk"} if name == RISK_TOOL_NAME else {}
        with pytest.raises(cg.StoreConflictError, match="no longer the active tip"):
            conv.handle_tool_call(name, arguments, record=record, to=first.message_id)
        assert conv.messages() == before

    def test_not_an_id(self, conv: cg.Conversation) -> None:
        """to= must be a message id."""
        conv.send("hello")
        with pytest.raises(cg.InvalidOperationError, match="to must be a message id"):
            conv.handle_tool_call(TOOL_NAME, "{}", to=5)  # type: ignore[arg-type]


class StagedStore:
    """A MemoryStore that runs one staged action before each append, to stage races."""

    def __init__(self) -> None:
        self.inner = cg.MemoryStore()
        self.staged: list[Callable[[], object]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def append(self, conversation_id: str, message: cg.Message, **kwargs: Any) -> int:
        if self.staged:
            self.staged.pop(0)()
        return self.inner.append(conversation_id, message, **kwargs)


class TestRecordRaces:
    """The recorded nodes are appended one by one under compare-and-set."""

    @pytest.fixture
    def store(self) -> StagedStore:
        """A store to stage writes of another worker on."""
        return StagedStore()

    @pytest.fixture
    def conv(self, make_guard: MakeGuard, store: StagedStore) -> cg.Conversation:
        """A conversation on the staged store, with one user turn."""
        conv = make_guard(store=store).start()
        conv.send("hello")
        return conv

    def _touch(self, store: StagedStore, conv: cg.Conversation) -> Callable[[], object]:
        """Another writer's action that bumps the version and leaves the tip where it is."""

        def touch() -> None:
            tip = store.inner.head(conv.id).tip
            assert tip is not None
            store.inner.switch(conv.id, tip.id)

        return touch

    def test_conflict_before_the_call_rebuilds(
        self, conv: cg.Conversation, store: StagedStore
    ) -> None:
        """A write before the call lands: the chain is rebuilt under the tip, stored once."""
        store.staged.append(self._touch(store, conv))
        conv.handle_tool_call(TOOL_NAME, "{}", record=True)
        roles = [m.role for m in conv.messages()]
        assert roles == [cg.Role.USER, cg.Role.ASSISTANT, cg.Role.TOOL]

    def test_conflict_after_the_call_continues(
        self, conv: cg.Conversation, store: StagedStore
    ) -> None:
        """A write that leaves the tip on the call: the result still follows it, once."""
        store.staged.extend([lambda: None, self._touch(store, conv)])
        conv.handle_tool_call(TOOL_NAME, "{}", record=True)
        assert [m.role for m in conv.path()] == [cg.Role.USER, cg.Role.ASSISTANT, cg.Role.TOOL]
        assert len(conv.messages()) == 3

    def test_tip_moved_off_the_call(self, conv: cg.Conversation, store: StagedStore) -> None:
        """Another writer moved the tip off the call: a clear StoreConflictError."""
        first = conv.path()[0]
        store.staged.extend([lambda: None, lambda: store.inner.switch(conv.id, first.id)])
        with pytest.raises(cg.StoreConflictError, match="moved off the recorded tool call"):
            conv.handle_tool_call(TOOL_NAME, "{}", record=True)


#: The classes that run again on AsyncGuard in tests/test_aio.py.
CONVERSATION_CLASSES: Final = (
    TestHandling,
    TestMalformedCalls,
    TestReportRisk,
    TestCallObjects,
    TestRecord,
    TestAnswering,
    TestRecordRaces,
)
