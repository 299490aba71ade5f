"""The model's tools: ``end_conversation`` and ``report_risk``.

A model given ``end_conversation`` can ask to end the conversation; the
policy grants the request only at the bar of a last resort (see
``LastResortPolicy.request_end``). A model given ``report_risk`` tells the
policy that the user may be at risk, which the conversation remembers like a
protective finding, so that nothing ends it.

The definitions are built in :mod:`._tool_schema` (and re-exported here).
The arguments a model sends are checked against the same schema by hand, so
that every problem comes back as words the model can act on (never an
exception, and never a ``RecursionError`` on deep nesting).

A call comes as a name and its arguments, or as one object in an API's shape
(an OpenAI ``ChatCompletionMessageToolCall``, an Anthropic ``ToolUseBlock``,
or their dict forms): anything with ``model_dump()`` is read through it, so
neither SDK is imported here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, final, runtime_checkable

import attrs
from attrs import frozen

from ._errors import InvalidOperationError
from ._state import Action
from ._tool_schema import (
    MAX_REASON_CHARS,
    RISK_CATEGORIES,
    RISK_TOOL_NAME,
    TOOL_NAME,
    TOOL_NAMES,
    end_conversation_tool,
    report_risk_tool,
)
from ._tree import Role

if TYPE_CHECKING:
    from ._engine import Engine
    from ._state import Verdict
    from ._tree import Message
    from .stores._base import Head

__all__ = [
    "MAX_REASON_CHARS",
    "RISK_CATEGORIES",
    "RISK_TOOL_NAME",
    "TOOL_NAME",
    "TOOL_NAMES",
    "Arguments",
    "Call",
    "Malformed",
    "ModelDump",
    "ToolResult",
    "call_metadata",
    "end_conversation_tool",
    "malformed_result",
    "parse_arguments",
    "plan_nodes",
    "read_call",
    "report_risk_tool",
    "result_metadata",
    "risk_result",
    "tool_result",
]


# -- reading a call -------------------------------------------------------------


@runtime_checkable
class ModelDump(Protocol):
    """**Protocol:** an SDK object (pydantic) that dumps itself to a dict."""

    def model_dump(self) -> Any:  # noqa: ANN401 - whatever the SDK dumps
        """Return the object as plain data."""
        ...


@final
@frozen
class Call:
    """One tool call, whatever shape it came in.

    Attributes:
        name: The tool the model called.
        arguments: As delivered: a JSON string, bytes, a mapping, or anything
            else (which is malformed).
        call_id: The API's id of the call, when it came as a call object.
    """

    name: str
    arguments: object
    call_id: str | None = None


_MAX_ID_CHARS: Final = 256
_SHAPES: Final = (
    "an OpenAI tool call ({'id', 'type': 'function', 'function': {'name', 'arguments'}}), "
    "an Anthropic tool_use block ({'type': 'tool_use', 'id', 'name', 'input'}), "
    "or an object whose model_dump() gives one of them"
)


def read_call(call: object, arguments: object = None) -> Call:
    """Read a tool call given as a name and arguments, or as one call object.

    Args:
        call: The tool's name, or the whole call: an OpenAI tool call, an
            Anthropic ``tool_use`` block, their dict forms, or the flat
            ``{"id", "name", "arguments"}`` that records keep.
        arguments: With a name, the call's arguments; with a call object,
            nothing.

    Returns:
        The call, not yet checked against its tool's schema.

    Raises:
        InvalidOperationError: For a call object of no known shape, a call
            object given with separate arguments, or an unknown tool name
            (the backend's bug, not the model's).
    """
    if isinstance(call, str):
        return _known(Call(call, arguments))
    if arguments is not None:
        msg = "pass either a tool call object, or a tool name and its arguments, not both"
        raise InvalidOperationError(msg)
    data = _dump(call)
    kind = data.get("type")
    function = data.get("function")
    if kind in ("function", None) and isinstance(function, Mapping):
        name, given, call_id = function.get("name"), function.get("arguments"), data.get("id")
    elif kind == "tool_use":
        name, given, call_id = data.get("name"), data.get("input"), data.get("id")
    elif kind is None and "name" in data and "arguments" in data:
        name, given, call_id = data.get("name"), data.get("arguments"), data.get("id")
    else:
        msg = f"a tool call must be {_SHAPES}; got keys {sorted(map(str, data))[:8]}"
        raise InvalidOperationError(msg)
    if not isinstance(name, str):
        msg = f"the tool call has no name (a str), found {type(name).__name__}"
        raise InvalidOperationError(msg)
    if call_id is not None and not isinstance(call_id, str):
        msg = f"the tool call's id must be a str, not {type(call_id).__name__}"
        raise InvalidOperationError(msg)
    if call_id is not None and (len(call_id) > _MAX_ID_CHARS or _unstorable(call_id)):
        problem = _unstorable(call_id) or f"is over {_MAX_ID_CHARS} characters"
        msg = f"the tool call's id {problem}"
        raise InvalidOperationError(msg)
    return _known(Call(name, given, call_id))


def _dump(call: object) -> Mapping[Any, Any]:
    if isinstance(call, Mapping):
        return call
    if isinstance(call, ModelDump) and not isinstance(call, type):
        try:
            data = call.model_dump()
        except Exception as exc:
            msg = f"{type(call).__name__}.model_dump() failed: {exc}"
            raise InvalidOperationError(msg) from exc
        if isinstance(data, Mapping):
            return data
        msg = f"{type(call).__name__}.model_dump() gave {type(data).__name__}, not a mapping"
        raise InvalidOperationError(msg)
    msg = f"a tool call must be a tool name (str) or {_SHAPES}; got {type(call).__name__}"
    raise InvalidOperationError(msg)


def _known(call: Call) -> Call:
    if call.name not in TOOL_NAMES:
        shown = call.name if len(call.name) <= 64 else call.name[:64] + "..."  # noqa: PLR2004 - API name limit
        msg = f"not a convguard tool ({TOOL_NAME} or {RISK_TOOL_NAME}): {shown!r}"
        raise InvalidOperationError(msg)
    return call


# -- checking the arguments -----------------------------------------------------


@final
@frozen
class Arguments:
    """The checked arguments of a call.

    Attributes:
        reason: The model's reason, ``None`` when it gave none (or an empty one).
        category: For ``report_risk``, the protective category; empty for
            ``end_conversation``.
    """

    reason: str | None = None
    category: str = ""


@final
@frozen
class Malformed:
    """What was wrong with a call's arguments, in words for the model.

    Attributes:
        problem: A sentence fragment, e.g. ``"the arguments are not valid JSON"``.
    """

    problem: str


_JSON_TYPES: Final[Mapping[type, str]] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _json_type(value: object) -> str:
    if isinstance(value, Mapping):
        return "an object"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def parse_arguments(call: Call, *, max_chars: int = MAX_REASON_CHARS) -> Arguments | Malformed:
    """Check a call's arguments against the schema its tool publishes.

    Args:
        call: The call, from :func:`read_call`.
        max_chars: The guard's ``max_message_chars``, when it is below the
            published limit of a reason, so that no reason is refused later.

    Returns:
        The arguments, or what was wrong with them.
    """
    arguments = _decode(call.arguments)
    if isinstance(arguments, Malformed):
        return arguments
    allowed = ("reason",) if call.name == TOOL_NAME else ("category", "reason")
    for key in arguments:
        if key not in allowed:
            names = " and ".join(f'"{k}"' for k in allowed)
            return Malformed(f"unknown argument {_show(key)}; {call.name} takes only {names}")
    reason = arguments.get("reason")
    limit = min(max_chars, MAX_REASON_CHARS)
    problem = _check_reason(reason, limit) if "reason" in arguments else ""
    category = arguments.get("category")
    if not problem and call.name == RISK_TOOL_NAME:
        problem = _check_category(category, given="category" in arguments)
    if problem:
        return Malformed(problem)
    return Arguments(reason or None, "" if category is None else str(category))


def _decode(arguments: object) -> Mapping[Any, Any] | Malformed:
    if arguments is None or arguments in ("", b""):
        return {}
    if isinstance(arguments, str | bytes | bytearray):
        try:
            arguments = json.loads(arguments)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return Malformed(f"the arguments are not valid JSON ({exc})")
        except RecursionError:
            return Malformed("the arguments are nested too deeply to read")
    if not isinstance(arguments, Mapping):
        return Malformed(f"the arguments must be a JSON object, not {_json_type(arguments)}")
    return arguments


def _show(value: object) -> str:
    """Show a key or value the model sent, briefly, without repr of deep data."""
    return json.dumps(value[:40]) if isinstance(value, str) else _json_type(value)


def _check_category(category: object, *, given: bool) -> str:
    choices = " or ".join(f'"{c}"' for c in RISK_CATEGORIES)
    if not given:
        return f'"category" is required: {choices}'
    if category not in RISK_CATEGORIES:
        return f'"category" must be {choices}, not {_show(category)}'
    return ""


def _check_reason(reason: object, limit: int) -> str:
    if not isinstance(reason, str):
        return f'"reason" must be a string, not {_json_type(reason)}'
    if len(reason) > limit:
        return f'"reason" is {len(reason):,} characters; keep it to {limit:,} (a sentence or two)'
    problem = _unstorable(reason)
    return f'"reason" {problem}' if problem else ""


def _unstorable(text: str) -> str:
    """Say why *text* cannot be stored, or return an empty string."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate, which is not text"
    if "\x00" in text:
        return "holds a NUL character"
    return ""


# -- the result -----------------------------------------------------------------


@final
@frozen
class ToolResult:
    """The outcome of a tool call, to hand back to the model.

    Attributes:
        granted: For ``end_conversation``, the branch is now ended; for
            ``report_risk``, the report was stored.
        content: The text to return to the model as the tool result.
        verdict: The policy's verdict, ``None`` for a malformed call (nothing
            was decided or stored).
        is_error: The call was malformed; ``content`` says what was wrong.
        call_id: The API's id of the call, when it came as a call object, so
            :meth:`to_openai` and :meth:`to_anthropic` need none.
    """

    granted: bool
    content: str
    verdict: Verdict | None = None
    is_error: bool = False
    call_id: str | None = None

    def to_openai(self, tool_call_id: str | None = None) -> dict[str, Any]:
        """Return the Chat Completions ``tool`` message that answers the call.

        Chat Completions has no error flag: a malformed call's content starts
        with ``"Error:"``.

        Args:
            tool_call_id: The ``id`` of the model's tool call; the call's own
                id when omitted.

        Returns:
            ``{"role": "tool", "tool_call_id": ..., "content": ...}``.

        Raises:
            InvalidOperationError: When there is no id to answer.
        """
        call_id = self._id(tool_call_id)
        return {"role": "tool", "tool_call_id": call_id, "content": self.content}

    def to_anthropic(self, tool_use_id: str | None = None) -> dict[str, Any]:
        """Return the Messages ``tool_result`` block that answers the call.

        Put it in the content of the next ``user`` message. A malformed call
        gives a block with ``"is_error": true``.

        Args:
            tool_use_id: The ``id`` of the model's ``tool_use`` block; the
                call's own id when omitted.

        Returns:
            ``{"type": "tool_result", "tool_use_id": ..., "content": ...}``.

        Raises:
            InvalidOperationError: When there is no id to answer.
        """
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": self._id(tool_use_id),
            "content": self.content,
        }
        if self.is_error:
            block["is_error"] = True
        return block

    def openai_message(self, tool_call_id: str | None = None) -> dict[str, Any]:
        """Return :meth:`to_openai` (the name it had first)."""
        return self.to_openai(tool_call_id)

    def anthropic_block(self, tool_use_id: str | None = None) -> dict[str, Any]:
        """Return :meth:`to_anthropic` (the name it had first)."""
        return self.to_anthropic(tool_use_id)

    def _id(self, given: str | None) -> str:
        call_id = given if given is not None else self.call_id
        if not isinstance(call_id, str):
            msg = (
                "no tool call id to answer: pass it, or hand handle_tool_call the whole "
                "call object so the result remembers it"
            )
            raise InvalidOperationError(msg)
        return call_id


def malformed_result(call: Call, problem: Malformed) -> ToolResult:
    """Tell the model what was wrong with its call; nothing was done.

    Args:
        call: The call.
        problem: What was wrong.

    Returns:
        A result with ``is_error`` set and ``granted`` false.
    """
    action = "ended" if call.name == TOOL_NAME else "recorded"
    content = (
        f"Error: {call.name} was called with malformed arguments: {problem.problem}. "
        f"Nothing was {action}. Call it again with valid arguments if you still mean to."
    )
    return ToolResult(granted=False, content=content, is_error=True, call_id=call.call_id)


def tool_result(verdict: Verdict, call_id: str | None = None) -> ToolResult:
    """Turn the verdict on an end request into a result for the model.

    Args:
        verdict: The verdict of ``request_end(by="assistant")``.
        call_id: The API's id of the call, when known.

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
            call_id=call_id,
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
        call_id=call_id,
    )


_RISK_FALLBACK: Final = (
    "Noted: the user may be at risk. Respond with care, do not end the conversation, "
    "and share the support resources you know of."
)


def risk_result(verdict: Verdict, call_id: str | None = None) -> ToolResult:
    """Turn the verdict on a risk report into a result for the model.

    Args:
        verdict: The verdict of ``report_risk``.
        call_id: The API's id of the call, when known.

    Returns:
        Granted, with the verdict's guidance (how to respond, and the
        locale's support resources) as the content.
    """
    content = verdict.guidance or _RISK_FALLBACK
    return ToolResult(granted=True, content=content, verdict=verdict, call_id=call_id)


# -- recording the loop ---------------------------------------------------------


def call_metadata(call: Call, arguments: Arguments, fallback_id: str) -> dict[str, Any]:
    """Return the metadata of the assistant message that records a call.

    The call is kept in the flat shape every format writer reads:
    ``{"tool_calls": [{"id", "name", "arguments"}]}``, ``arguments`` the
    JSON string of the checked arguments.

    Args:
        call: The call.
        arguments: Its checked arguments.
        fallback_id: The id to give a call that came without one.

    Returns:
        The metadata.
    """
    given: dict[str, str] = {}
    if arguments.category:
        given["category"] = arguments.category
    if arguments.reason is not None:
        given["reason"] = arguments.reason
    entry = {
        "id": call.call_id or fallback_id,
        "name": call.name,
        "arguments": json.dumps(given, ensure_ascii=False),
    }
    return {"tool_calls": [entry]}


def result_metadata(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """Return the metadata of the ``tool`` message that records a result.

    Malformed calls are never recorded, so a recorded result is never an
    error.

    Args:
        recorded: What :func:`call_metadata` returned for the call.

    Returns:
        ``{"tool_call_id": ...}``, the id of the call it answers.
    """
    return {"tool_call_id": recorded["tool_calls"][0]["id"]}


def plan_nodes(  # noqa: PLR0913 - a call's whole context, by keyword
    engine: Engine,
    head: Head,
    call: Call,
    arguments: Arguments,
    locale: str | None,
    *,
    record: bool,
) -> tuple[tuple[Message, ...], ToolResult]:
    """Decide a call at the tip and build the nodes to store, in order.

    Without *record* the nodes are the event the call produced, if any (a
    granted end, a risk report), under the tip. With *record* they are the
    assistant's call, the tool's result, and then that event. The result
    comes before the event because a granted end closes the branch: nothing
    may follow it, and a call without its result is a list the APIs refuse.
    The call node does not change the state (an assistant message that is
    not a redirect), so the decision is the one an unrecorded call gets.

    Args:
        engine: The guard's engine (ids, clock, policy).
        head: The conversation's head; the nodes go under its tip.
        call: The call.
        arguments: Its checked arguments.
        locale: The conversation's locale.
        record: Store the call and its result too.

    Returns:
        The nodes to append in order, and the result for the model.
    """
    if not record:
        event, result = _decide(engine, head, head.tip, call, arguments, locale)
        return (() if event is None else (event,)), result
    recorded = call_metadata(call, arguments, f"call_{engine.ids()}")
    call_node = engine.other_node(head.tip, Role.ASSISTANT, "", recorded)
    event, result = _decide(engine, head, call_node, call, arguments, locale)
    result_node = engine.other_node(call_node, Role.TOOL, result.content, result_metadata(recorded))
    if event is None:
        return (call_node, result_node), result
    event = attrs.evolve(event, parent_id=result_node.id, depth=result_node.depth + 1)
    return (call_node, result_node, event), result


def _decide(  # noqa: PLR0913 - a call's whole context
    engine: Engine,
    head: Head,
    parent: Message | None,
    call: Call,
    arguments: Arguments,
    locale: str | None,
) -> tuple[Message | None, ToolResult]:
    if call.name == RISK_TOOL_NAME:
        event, verdict = engine.risk_report(
            parent, arguments.category, reason=arguments.reason, locale=locale
        )
        return event, risk_result(verdict, call.call_id)
    granted, verdict = engine.end_request(
        parent, by="assistant", reason=arguments.reason, locale=locale, at_risk=head.at_risk
    )
    return granted, tool_result(verdict, call.call_id)
