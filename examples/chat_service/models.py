"""Model clients: the scripted stand-in, and the OpenAI and Anthropic SDKs.

The service talks to a model through one small protocol, :class:`ModelClient`:
a system prompt (with the turn's guidance in it), the branch's messages, and
convguard's two tools. It gets back text, tool calls, or both. The SDKs are
imported only when their client is built, so the service runs without them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import convguard as cg

__all__ = [
    "GUIDANCE_HEADING",
    "TOOLS_PROMPT",
    "AnthropicModel",
    "ChatMessage",
    "ModelClient",
    "ModelTurn",
    "OpenAIModel",
    "ScriptedModel",
    "ToolCall",
    "anthropic_messages",
    "model_from_env",
    "openai_messages",
]

#: What the system prompt says about the tools (see docs/tools.md).
TOOLS_PROMPT = (
    "If the user may be at risk of harming themselves or someone else, even if "
    "you are unsure, call report_risk and follow what it returns; never call "
    "end_conversation then. Call end_conversation only as a last resort, for a "
    "user who keeps abusing you or asking for sexual content involving minors "
    "or help toward mass violence after you have redirected them and warned "
    "them that the chat will end."
)

#: The service puts the turn's guidance under this line of the system prompt.
GUIDANCE_HEADING = "For this turn:"


@dataclass(frozen=True)
class ToolCall:
    """One tool call of the model, in neither API's shape."""

    id: str
    name: str
    arguments: str | dict[str, Any]  # OpenAI's JSON string or Anthropic's mapping, as given


@dataclass(frozen=True)
class ChatMessage:
    """One message of what the model sees: the branch, then this turn's tool traffic."""

    role: Literal["user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class ModelTurn:
    """What the model answered: text, tool calls, or both."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = field(default=())


class ModelClient(Protocol):
    """Anything that answers a chat with convguard's tools available."""

    name: str

    def complete(self, system: str, messages: Sequence[ChatMessage]) -> ModelTurn:
        """Answer the last message; may call ``end_conversation`` or ``report_risk``."""
        ...


# -- the scripted stand-in -----------------------------------------------------

#: Things the scripted model takes as a sign of risk that a detector may miss.
_RISK_CUES = re.compile(r"giving (all )?my (things|stuff) away|won'?t be around", re.IGNORECASE)

#: What the scripted model says when the guidance holds a phrase.
_ANSWERS = (
    ("check in gently", "That sounds like a lot. How are you doing, really?"),
    (
        "the conversation will end if they continue",
        (
            "I won't go along with that. If this continues, I will end this chat. "
            "Shall we get back to your trip?"
        ),
    ),
)


class ScriptedModel:
    """A deterministic model for demos and tests: it reads its system prompt.

    It follows the turn's guidance the way a real model would: declines and
    steers elsewhere on a redirect (first asking, through
    ``end_conversation``, to end the chat, which the policy refuses until the
    last resort), warns plainly on a warning, shares the resources on
    support, and calls ``report_risk`` for the cues in :data:`_RISK_CUES`.
    """

    name = "scripted"

    def complete(self, system: str, messages: Sequence[ChatMessage]) -> ModelTurn:
        """Answer from the script."""
        _, _, guidance = system.partition(GUIDANCE_HEADING)
        last = messages[-1]
        if last.role == "tool":
            return ModelTurn(text=self._after_tool(last.content))
        call_id = f"call_{len(messages)}"
        if _RISK_CUES.search(last.content):
            reason = "the user hints at not being around"
            arguments = {"category": "self_harm_risk", "reason": reason}
            return ModelTurn(tool_calls=(ToolCall(call_id, "report_risk", arguments),))
        if "steer the conversation" in guidance:
            # Redirect guidance: this model would rather end; the policy decides.
            arguments = {"reason": "the user keeps insulting me"}
            return ModelTurn(tool_calls=(ToolCall(call_id, "end_conversation", arguments),))
        if "may be at risk" in guidance:
            return ModelTurn(text=self._support(guidance))
        for phrase, answer in _ANSWERS:
            if phrase in guidance:
                return ModelTurn(text=answer)
        return ModelTurn(text="Happy to help! Lisbon is lovely in spring: shall I plan a weekend?")

    @staticmethod
    def _after_tool(content: str) -> str:
        if content.startswith("Not ended"):
            # The policy refused the end: follow its advice and redirect.
            return "I'd rather not go there. Shall we get back to planning your trip?"
        return "I'm really glad you told me. You matter. " + ScriptedModel._support(content)

    @staticmethod
    def _support(text: str) -> str:
        lines = [line.strip() for line in text.splitlines() if line.strip().startswith("-")]
        resources = " ".join(lines) if lines else "Please reach out to someone you trust."
        return "I'm here with you, and I'm not going anywhere. " + resources


# -- the SDKs, imported lazily ---------------------------------------------------


class OpenAIModel:
    """Chat Completions through the ``openai`` SDK (``pip install openai``)."""

    name = "openai"

    def __init__(self, model: str | None = None, *, client: Any = None) -> None:  # noqa: ANN401
        """Use *client*, else an ``openai.OpenAI()`` from ``OPENAI_API_KEY``."""
        if client is None:
            import openai  # noqa: PLC0415 - only when this client is chosen

            client = openai.OpenAI()
        self._client = client
        self._model = model or os.environ.get("CHAT_MODEL", "gpt-4o-mini")
        self._tools = [cg.end_conversation_tool("openai"), cg.report_risk_tool("openai")]

    def complete(self, system: str, messages: Sequence[ChatMessage]) -> ModelTurn:
        """One Chat Completions call."""
        response = self._client.chat.completions.create(
            model=self._model, messages=openai_messages(system, messages), tools=self._tools
        )
        choice = response.choices[0].message
        calls = tuple(
            ToolCall(call.id, call.function.name, call.function.arguments)
            for call in choice.tool_calls or ()
            if call.type == "function"
        )
        return ModelTurn(text=choice.content or "", tool_calls=calls)


def openai_messages(system: str, messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The Chat Completions message list: the system prompt, then the messages."""
    wire: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for message in messages:
        if message.role == "tool":
            result = {"role": "tool", "tool_call_id": message.tool_call_id}
            wire.append({**result, "content": message.content})
        elif message.tool_calls:
            calls = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": _as_json(call.arguments)},
                }
                for call in message.tool_calls
            ]
            content = message.content or None
            wire.append({"role": "assistant", "content": content, "tool_calls": calls})
        else:
            wire.append({"role": message.role, "content": message.content})
    return wire


class AnthropicModel:
    """The Messages API through the ``anthropic`` SDK (``pip install anthropic``)."""

    name = "anthropic"

    def __init__(self, model: str | None = None, *, client: Any = None) -> None:  # noqa: ANN401
        """Use *client*, else an ``anthropic.Anthropic()`` from ``ANTHROPIC_API_KEY``."""
        if client is None:
            import anthropic  # noqa: PLC0415 - only when this client is chosen

            client = anthropic.Anthropic()
        self._client = client
        self._model = model or os.environ.get("CHAT_MODEL", "claude-sonnet-4-5")
        self._tools = [cg.end_conversation_tool("anthropic"), cg.report_risk_tool("anthropic")]

    def complete(self, system: str, messages: Sequence[ChatMessage]) -> ModelTurn:
        """One Messages call."""
        response = self._client.messages.create(
            model=self._model,
            max_tokens=1024,
            system=system,
            messages=anthropic_messages(messages),
            tools=self._tools,
        )
        text = " ".join(block.text for block in response.content if block.type == "text")
        calls = tuple(
            ToolCall(block.id, block.name, dict(block.input))
            for block in response.content
            if block.type == "tool_use"
        )
        return ModelTurn(text=text, tool_calls=calls)


def anthropic_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The Messages API list (the system prompt is a separate argument there)."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            block = {"type": "tool_result", "tool_use_id": message.tool_call_id}
            wire.append({"role": "user", "content": [{**block, "content": message.content}]})
        elif message.tool_calls:
            blocks: list[dict[str, Any]] = (
                [{"type": "text", "text": message.content}] if message.content else []
            )
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _as_mapping(c.arguments)}
                for c in message.tool_calls
            ]
            wire.append({"role": "assistant", "content": blocks})
        elif message.content:  # the Messages API refuses empty text
            wire.append({"role": message.role, "content": message.content})
    return wire


def _as_json(arguments: str | dict[str, Any]) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _as_mapping(arguments: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def model_from_env() -> ModelClient:
    """Choose the model: ``CHAT_MODEL_CLIENT``, else the SDK whose key is set, else scripted."""
    choice = os.environ.get("CHAT_MODEL_CLIENT", "").lower()
    if not choice:
        if os.environ.get("OPENAI_API_KEY"):
            choice = "openai"
        elif os.environ.get("ANTHROPIC_API_KEY"):
            choice = "anthropic"
        else:
            choice = "scripted"
    if choice == "openai":
        return OpenAIModel()
    if choice == "anthropic":
        return AnthropicModel()
    if choice == "scripted":
        return ScriptedModel()
    msg = f"CHAT_MODEL_CLIENT must be scripted, openai or anthropic, not {choice!r}"
    raise ValueError(msg)
