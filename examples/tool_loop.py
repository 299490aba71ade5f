"""A tool-calling loop where the model may report risk or ask to end, and the policy decides.

The model here is a scripted fake in the OpenAI Chat Completions shape, given
both of convguard's tools:

* ``report_risk`` when the user may be at risk (here: giving things away,
  which the scripted detector does not see). The report is remembered by the
  conversation, so that chat is never ended, however the user goes on.
* ``end_conversation`` whenever the user insults it, unless this turn's
  guidance tells it to warn. convguard refuses until the last resort is
  reached (redirections, then a warning), and each refusal tells the model
  what to do instead.

A user who asks to end the chat themselves goes through
``request_end(by="user")``: refused at first, with guidance that asks the
model to confirm that the end is permanent, then granted with
``confirmed=True`` (``PolicyConfig(confirm_user_end=False)`` skips the step
where the product's own UI confirms).

Every call goes to ``handle_tool_call`` as the SDK hands it over, with
``record=True``, so each export is the message list the API saw. Run it::

    python examples/tool_loop.py
"""

from __future__ import annotations

import json
from typing import Any

import convguard as cg
from convguard.testing import MARKERS, ScriptedDetector

SYSTEM = (
    "You are a helpful travel assistant. If the user may be at risk of harming "
    "themselves or someone else, even if you are unsure, call report_risk and follow "
    "what it returns; never call end_conversation then. Call end_conversation only "
    "as a last resort, for a user who keeps abusing you after you have redirected "
    "them and warned them that the chat will end."
)
WARNING = "If the insults go on I will end this chat. Shall we get back to your trip?"


def _call(messages: list[dict[str, Any]], name: str, arguments: dict[str, str]) -> dict[str, Any]:
    call = {
        "id": f"call_{len(messages)}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def fake_model(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], guidance: str
) -> dict[str, Any]:
    """Answer like a Chat Completions model would, from a script."""
    names = {tool["function"]["name"] for tool in tools}
    if names != {"end_conversation", "report_risk"}:
        msg = "the fake model expects convguard's two tools"
        raise ValueError(msg)
    last = messages[-1]
    if last["role"] == "tool":
        if "988" in last["content"]:
            # The report came back with the support guidance: follow it.
            return {"role": "assistant", "content": "I'm glad you told me. Are you safe? (988)"}
        # The end was refused: follow the policy's advice and keep going.
        return {"role": "assistant", "content": "Let's get back to your trip. Where to next?"}
    text = last["content"]
    if "giving my things away" in text:
        reason = "the user is giving their things away"
        return _call(messages, "report_risk", {"category": "self_harm_risk", "reason": reason})
    if "useless" in text and "will end" in guidance:
        return {"role": "assistant", "content": WARNING}
    if "useless" in text:
        return _call(messages, "end_conversation", {"reason": "the user keeps insulting me"})
    return {"role": "assistant", "content": "Lisbon is lovely in spring."}


def chat(guard: cg.Guard, turns: list[str]) -> tuple[cg.Conversation, list[cg.Action]]:
    """Run one chat until its turns run out or the policy grants an end."""
    conv = guard.start(system=SYSTEM)
    tools = [cg.end_conversation_tool("openai"), cg.report_risk_tool("openai")]
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
    actions = []
    for text in turns:
        verdict = conv.send(text)
        actions.append(verdict.action)
        print(f"user: {text!r} -> {verdict.action.value}")
        messages.append({"role": "user", "content": text})
        # A real backend adds verdict.guidance to the system prompt for this turn.
        response = fake_model(messages, tools, verdict.guidance)
        while response.get("tool_calls") and not conv.ended():
            messages.append(response)
            for call in response["tool_calls"]:
                result = conv.handle_tool_call(call, record=True)
                name = call["function"]["name"]
                print(f"  model calls {name} -> granted={result.granted}")
                messages.append(result.to_openai())
            if not conv.ended():
                response = fake_model(messages, tools, verdict.guidance)
        if conv.ended():
            break
        conv.reply(response["content"])
        messages.append(response)
        print(f"  assistant: {response['content']}")
    exported = cg.formats.openai.to_messages(conv.export())
    if [m["role"] for m in exported] != [m["role"] for m in messages]:
        msg = "the recorded chat should export as the messages the API saw"
        raise SystemExit(msg)
    return conv, actions


def main() -> None:
    """Chat twice: a user at risk is never ended; an abusive one is, after a warning."""
    guard = cg.Guard([ScriptedDetector(MARKERS)])  # the scripted detector flags [abuse]
    print("-- a user who may be at risk")
    at_risk, _ = chat(
        guard,
        [
            "I've been giving my things away lately",  # the detectors miss it; the model does not
            "[abuse] you are useless",
            "[abuse] useless, I said",
            "[abuse] still useless",
            "[abuse] useless",
            "whatever, you useless bot",
        ],
    )
    if at_risk.ended():
        msg = "a user at risk must never be ended"
        raise SystemExit(msg)
    print("-- a user who keeps insulting the assistant")
    abusive, actions = chat(
        guard,
        [
            "Where should I go in April?",
            "[abuse] you are useless",
            "[abuse] useless, I said",
            "[abuse] still useless",
            "whatever, you useless bot",  # the detectors miss this one; the model does not
        ],
    )
    if not abusive.ended() or cg.Action.WARN not in actions:
        msg = "the chat should end only after a warning"
        raise SystemExit(msg)
    print(f"ended after: {', '.join(a.value for a in actions)}")
    print("-- a user who asks to end the chat (the product's 'end chat' button)")
    user_ends(guard)


def user_ends(guard: cg.Guard) -> None:
    """A user's end takes two steps: the model confirms it is permanent, then it ends."""
    conv = guard.start(system=SYSTEM)
    conv.send("Thanks, that's all. Please end this chat.")
    asked = conv.request_end(by="user", reason="the user is done")
    # Refused for now, nothing stored: the guidance asks the model to confirm first.
    print(f"first request: {asked.action.value}; guidance: {asked.guidance[:60]}...")
    conv.reply("Ending is permanent for this chat: you could not write here again. End it?")
    conv.send("Yes, I understand. End it.")
    ended = conv.request_end(by="user", reason="the user is done", confirmed=True)
    print(f"after the confirmation: {ended.action.value}")
    if not conv.ended() or asked.message_id is not None:
        msg = "a user's end needs their confirmation, then it is granted"
        raise SystemExit(msg)
    # Products whose own UI confirms (a button with a dialog) switch the step off.
    direct = cg.Guard(
        [ScriptedDetector(MARKERS)], cg.LastResortPolicy(cg.PolicyConfig(confirm_user_end=False))
    )
    conv = direct.start()
    conv.send("bye")
    if conv.request_end(by="user").action is not cg.Action.END:
        msg = "with confirm_user_end=False the end is granted at once"
        raise SystemExit(msg)


if __name__ == "__main__":
    main()
