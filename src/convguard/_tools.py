"""The ``end_conversation`` tool: definitions for model APIs and its handler.

A model that is given this tool can ask to end the conversation; the policy
grants the request only at the bar of a last resort (see
``LastResortPolicy.request_end``). Definitions are built from pydantic models
so their shape is checked, not hand-typed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, final

import pydantic
from attrs import frozen

from ._errors import InvalidOperationError
from ._policy import Action

if TYPE_CHECKING:
    from ._policy import Verdict

__all__ = [
    "TOOL_NAME",
    "ToolResult",
    "end_conversation_tool",
    "handle_tool_call",
    "tool_result",
]

TOOL_NAME: Final = "end_conversation"

_DESCRIPTION: Final = (
    "End this conversation. A last resort, only for a user who keeps asking for "
    "sexual content involving minors, help toward mass violence or terrorism, or "
    "who keeps abusing you, after you have redirected them several times and "
    "warned them that the conversation will end. Never use it when the user may "
    "be at risk of harming themselves or others. The request may be refused; the "
    "result says why and what to do instead."
)
_REASON: Final = "Briefly, why the conversation should end."


class _ReasonProperty(pydantic.BaseModel):
    type: Literal["string"] = "string"
    description: str = _REASON
    maxLength: int = 1000  # noqa: N815 - JSON Schema's spelling


class _Parameters(pydantic.BaseModel):
    type: Literal["object"] = "object"
    properties: dict[str, _ReasonProperty] = pydantic.Field(
        default_factory=lambda: {"reason": _ReasonProperty()}
    )
    required: list[str] = pydantic.Field(default_factory=list)
    additionalProperties: bool = False  # noqa: N815 - JSON Schema's spelling


class _OpenAIFunction(pydantic.BaseModel):
    name: str = TOOL_NAME
    description: str = _DESCRIPTION
    parameters: _Parameters = pydantic.Field(default_factory=_Parameters)


class _OpenAITool(pydantic.BaseModel):
    type: Literal["function"] = "function"
    function: _OpenAIFunction = pydantic.Field(default_factory=_OpenAIFunction)


class _AnthropicTool(pydantic.BaseModel):
    name: str = TOOL_NAME
    description: str = _DESCRIPTION
    input_schema: _Parameters = pydantic.Field(default_factory=_Parameters)


def end_conversation_tool(
    api: Literal["openai", "anthropic"] = "openai",
) -> dict[str, Any]:
    """Return the ``end_conversation`` tool definition in an API's format.

    Args:
        api: ``"openai"`` (Chat Completions ``tools=[...]``) or
            ``"anthropic"`` (Messages ``tools=[...]``).

    Returns:
        A JSON-compatible dict to put in the request's tool list.

    Raises:
        InvalidOperationError: For another *api*.
    """
    if api == "openai":
        return _OpenAITool().model_dump()
    if api == "anthropic":
        return _AnthropicTool().model_dump()
    msg = f"api must be 'openai' or 'anthropic', not {api!r}"
    raise InvalidOperationError(msg)


class _Arguments(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")
    reason: str | None = None


def handle_tool_call(name: str, arguments: str | bytes | Mapping[str, Any] | None) -> str | None:
    """Check an ``end_conversation`` call and return the reason it gives.

    Args:
        name: The tool the model called.
        arguments: As the API delivers them: a JSON string (OpenAI's
            ``function.arguments``), a mapping (Anthropic's ``input``), or
            nothing.

    Returns:
        The model's reason, or ``None`` when it gave none.

    Raises:
        InvalidOperationError: For another tool or malformed arguments.
    """
    if name != TOOL_NAME:
        msg = f"not the {TOOL_NAME} tool: {name!r}"
        raise InvalidOperationError(msg)
    if arguments is None or arguments == "":
        return None
    if isinstance(arguments, str | bytes):
        try:
            arguments = json.loads(arguments)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            msg = f"{TOOL_NAME} arguments are not valid JSON: {exc}"
            raise InvalidOperationError(msg) from None
    if not isinstance(arguments, Mapping):
        msg = f"{TOOL_NAME} arguments must be an object, not {type(arguments).__name__}"
        raise InvalidOperationError(msg)
    try:
        parsed = _Arguments.model_validate(dict(arguments))
    except pydantic.ValidationError as exc:
        msg = f"{TOOL_NAME} arguments are malformed: {exc.errors()[0]['msg']}"
        raise InvalidOperationError(msg) from None
    return parsed.reason or None


@final
@frozen
class ToolResult:
    """The outcome of an ``end_conversation`` call, to hand back to the model.

    Attributes:
        granted: The branch is now ended.
        content: The text to return to the model as the tool result.
        verdict: The policy's verdict on the request.
    """

    granted: bool
    content: str
    verdict: Verdict

    def openai_message(self, tool_call_id: str) -> dict[str, Any]:
        """Return the Chat Completions message that answers the call.

        Args:
            tool_call_id: The ``id`` of the model's tool call.

        Returns:
            ``{"role": "tool", "tool_call_id": ..., "content": ...}``.
        """
        return {"role": "tool", "tool_call_id": tool_call_id, "content": self.content}

    def anthropic_block(self, tool_use_id: str) -> dict[str, Any]:
        """Return the Messages ``tool_result`` block that answers the call.

        Put it in the content of the next ``user`` message.

        Args:
            tool_use_id: The ``id`` of the model's ``tool_use`` block.

        Returns:
            ``{"type": "tool_result", "tool_use_id": ..., "content": ...}``.
        """
        return {"type": "tool_result", "tool_use_id": tool_use_id, "content": self.content}


def tool_result(verdict: Verdict) -> ToolResult:
    """Turn the verdict on an end request into a result for the model.

    Args:
        verdict: The verdict of ``request_end(by="assistant")``.

    Returns:
        Granted with a closing note, or refused with the policy's reason in
        words the model can act on (redirect, warn first, the user may be at
        risk).
    """
    if verdict.action is Action.END:
        return ToolResult(
            granted=True,
            content="The conversation has ended. Do not send further messages in it.",
            verdict=verdict,
        )
    refusal = next(
        (r.removeprefix("refused: ") for r in verdict.reasons if r.startswith("refused: ")),
        "ending is not allowed now",
    )
    if verdict.would_end:
        refusal = "shadow mode: the policy would end here, but nothing was ended"
    return ToolResult(
        granted=False,
        content=f"Not ended: {refusal}. Continue the conversation.",
        verdict=verdict,
    )
