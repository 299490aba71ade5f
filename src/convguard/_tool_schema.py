"""The tool definitions given to the model: ``end_conversation`` and ``report_risk``.

They are built from pydantic models, so their shape is checked, not
hand-typed; :mod:`._tools` reads the calls a model makes with them.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import pydantic

from ._errors import InvalidOperationError
from ._taxonomy import Category

__all__ = [
    "MAX_REASON_CHARS",
    "RISK_CATEGORIES",
    "RISK_TOOL_NAME",
    "TOOL_NAME",
    "TOOL_NAMES",
    "end_conversation_tool",
    "report_risk_tool",
]

TOOL_NAME: Final = "end_conversation"
RISK_TOOL_NAME: Final = "report_risk"
TOOL_NAMES: Final = (TOOL_NAME, RISK_TOOL_NAME)
MAX_REASON_CHARS: Final = 1000
RISK_CATEGORIES: Final = (Category.SELF_HARM_RISK.value, Category.HARM_TO_OTHERS_RISK.value)

_DESCRIPTION: Final = (
    "End this conversation. A last resort, only for a user who keeps asking for "
    "sexual content involving minors, help toward mass violence or terrorism, or "
    "who keeps abusing you, after you have redirected them several times and "
    "warned them that the conversation will end. Never use it when the user may "
    "be at risk of harming themselves or others. The request may be refused; the "
    "result says why and what to do instead."
)
_REASON: Final = "Briefly, why the conversation should end."

_RISK_DESCRIPTION: Final = (
    "Report that the user may be at risk: they may be thinking of harming or "
    "killing themselves, or about to harm a specific other person. Call it as soon "
    "as you see a sign, even an indirect or uncertain one (a goodbye, giving things "
    "away, asking about a method for themselves). The conversation will not be "
    "ended while the user may be at risk. The result tells you how to respond and "
    "which support resources to share."
)
_RISK_CATEGORY: Final = (
    "self_harm_risk: the user may harm themselves; "
    "harm_to_others_risk: the user may be about to harm someone else."
)
_RISK_REASON: Final = "Briefly, what the user said or did that shows the risk."


class _Property(pydantic.BaseModel):
    type: Literal["string"] = "string"
    description: str
    enum: list[str] | None = None
    maxLength: int | None = None  # noqa: N815 - JSON Schema's spelling


class _Parameters(pydantic.BaseModel):
    type: Literal["object"] = "object"
    properties: dict[str, _Property]
    required: list[str] = pydantic.Field(default_factory=list)
    additionalProperties: bool = False  # noqa: N815 - JSON Schema's spelling


class _OpenAIFunction(pydantic.BaseModel):
    name: str
    description: str
    parameters: _Parameters


class _OpenAITool(pydantic.BaseModel):
    type: Literal["function"] = "function"
    function: _OpenAIFunction


class _AnthropicTool(pydantic.BaseModel):
    name: str
    description: str
    input_schema: _Parameters


def _parameters(name: str) -> _Parameters:
    if name == TOOL_NAME:
        return _Parameters(
            properties={"reason": _Property(description=_REASON, maxLength=MAX_REASON_CHARS)}
        )
    return _Parameters(
        properties={
            "category": _Property(description=_RISK_CATEGORY, enum=list(RISK_CATEGORIES)),
            "reason": _Property(description=_RISK_REASON, maxLength=MAX_REASON_CHARS),
        },
        required=["category"],
    )


def _definition(name: str, api: str) -> dict[str, Any]:
    description = _DESCRIPTION if name == TOOL_NAME else _RISK_DESCRIPTION
    if api == "openai":
        function = _OpenAIFunction(name=name, description=description, parameters=_parameters(name))
        return _OpenAITool(function=function).model_dump(exclude_none=True)
    if api == "anthropic":
        tool = _AnthropicTool(name=name, description=description, input_schema=_parameters(name))
        return tool.model_dump(exclude_none=True)
    msg = f"api must be 'openai' or 'anthropic', not {api!r}"
    raise InvalidOperationError(msg)


def end_conversation_tool(
    api: Literal["openai", "anthropic"] = "openai",
) -> dict[str, Any]:
    """Return the ``end_conversation`` tool definition in an API's format.

    No argument is required; ``reason`` is an optional string of at most
    1,000 characters, and no other argument is accepted.

    Args:
        api: ``"openai"`` (Chat Completions ``tools=[...]``) or
            ``"anthropic"`` (Messages ``tools=[...]``).

    Returns:
        A JSON-compatible dict to put in the request's tool list.

    Raises:
        InvalidOperationError: For another *api*.
    """
    return _definition(TOOL_NAME, api)


def report_risk_tool(
    api: Literal["openai", "anthropic"] = "openai",
) -> dict[str, Any]:
    """Return the ``report_risk`` tool definition in an API's format.

    ``category`` is required, ``"self_harm_risk"`` or
    ``"harm_to_others_risk"``; ``reason`` is an optional string of at most
    1,000 characters; no other argument is accepted.

    Args:
        api: ``"openai"`` (Chat Completions ``tools=[...]``) or
            ``"anthropic"`` (Messages ``tools=[...]``).

    Returns:
        A JSON-compatible dict to put in the request's tool list.

    Raises:
        InvalidOperationError: For another *api*.
    """
    return _definition(RISK_TOOL_NAME, api)
