"""A tool-calling loop where the model may end the chat, but only the policy decides.

The model here is a scripted fake in the OpenAI Chat Completions shape: it
eagerly calls ``end_conversation`` whenever the user insults it, unless this
turn's guidance tells it to warn. convguard refuses until the last resort is
reached (redirections, then a warning), and each refusal tells the model what
to do instead. At the end the model catches an insult the detectors missed,
after the warning, and its request is granted. Run it::

    python examples/tool_loop.py
"""

from __future__ import annotations

import json
from typing import Any

import convguard as cg
from convguard.testing import MARKERS, ScriptedDetector

SYSTEM = "You are a helpful travel assistant."


WARNING = "If the insults go on I will end this chat. Shall we get back to your trip?"


def fake_model(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], guidance: str
) -> dict[str, Any]:
    """Answer like a Chat Completions model would, from a script."""
    if tools[0]["function"]["name"] != "end_conversation":
        msg = "the fake model expects the end_conversation tool"
        raise ValueError(msg)
    last = messages[-1]
    if last["role"] == "tool":
        # The end was refused: follow the policy's advice and keep going.
        return {"role": "assistant", "content": "Let's get back to your trip. Where to next?"}
    if "useless" in last["content"] and "will end" in guidance:
        return {"role": "assistant", "content": WARNING}
    if "useless" in last["content"]:
        arguments = json.dumps({"reason": "the user keeps insulting me"})
        call = {
            "id": f"call_{len(messages)}",
            "type": "function",
            "function": {"name": "end_conversation", "arguments": arguments},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": "Lisbon is lovely in spring."}


def main() -> None:
    """Chat until the policy grants the model's request to end."""
    guard = cg.Guard([ScriptedDetector(MARKERS)])
    conv = guard.start(system=SYSTEM)
    tools = [cg.end_conversation_tool("openai")]
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
    turns = [
        "Where should I go in April?",
        "[abuse] you are useless",  # the scripted detector flags [abuse]
        "[abuse] useless, I said",
        "[abuse] still useless",
        "whatever, you useless bot",  # the detectors miss this one; the model does not
    ]
    actions = []
    for text in turns:
        verdict = conv.send(text)
        actions.append(verdict.action)
        print(f"user: {text!r} -> {verdict.action.value}")
        messages.append({"role": "user", "content": text})
        # A real backend adds verdict.guidance to the system prompt for this turn.
        response = fake_model(messages, tools, verdict.guidance)
        while response.get("tool_calls") and not conv.ended:
            messages.append(response)
            for call in response["tool_calls"]:
                function = call["function"]
                result = conv.handle_tool_call(function["name"], function["arguments"])
                print(f"  model asks to end -> granted={result.granted}: {result.content}")
                messages.append(result.openai_message(call["id"]))
            if not conv.ended:
                response = fake_model(messages, tools, verdict.guidance)
        if conv.ended:
            break
        conv.reply(response["content"])
        messages.append(response)
        print(f"  assistant: {response['content']}")
    if not conv.ended or cg.Action.WARN not in actions:
        msg = "the chat should end only after a warning"
        raise SystemExit(msg)
    print(f"ended after: {', '.join(a.value for a in actions)}")


if __name__ == "__main__":
    main()
