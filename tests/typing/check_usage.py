"""Realistic use of the public API; ``mypy --strict`` must accept it as written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from anthropic.types import ToolUseBlock
from openai.types.chat import ChatCompletionMessageToolCall

import convguard as cg


class KeywordDetector:
    name = "keywords"

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        if "idiot" in context.normalized.text:
            return [cg.Finding(cg.Category.ABUSE, 0.9, self.name)]
        return []


class Lenient:
    """A policy from scratch: no PolicyConfig, the protocol's four methods and one option."""

    max_ended_branches = 3

    def initial_state(self) -> cg.PolicyState:
        return cg.PolicyState()

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        return state, cg.Verdict(action=cg.Action.ALLOW, state=state, message_id=turn.message_id)

    def on_reply(self, state: cg.PolicyState, *, redirect: bool) -> cg.PolicyState:
        return state

    def request_end(  # noqa: PLR0913 - the protocol's signature
        self,
        state: cg.PolicyState,
        *,
        by: Literal["user", "assistant"],
        message_id: str,
        reason: str | None = None,
        locale: str | None = None,
        at_risk: bool = False,
        confirmed: bool = False,
    ) -> tuple[cg.PolicyState, cg.Verdict]:
        return state, cg.Verdict(action=cg.Action.ALLOW, state=state, message_id=None)


def handle(conv: cg.Conversation, text: str) -> str:
    try:
        verdict: cg.Verdict = conv.send(text)
    except cg.ConversationEndedError as exc:
        return f"ended; you can: {', '.join(exc.ways_forward)}"
    if verdict.action is cg.Action.END:
        return verdict.guidance
    message: cg.Message = conv.reply("ok", redirect=verdict.action is cg.Action.REDIRECT)
    return message.content


def answer_openai(conv: cg.Conversation, call: ChatCompletionMessageToolCall) -> dict[str, object]:
    return conv.handle_tool_call(call, record=True).to_openai()


async def answer_anthropic(conv: cg.AsyncConversation, block: ToolUseBlock) -> dict[str, object]:
    result = await conv.handle_tool_call(block)
    return result.to_anthropic() if result.is_error else result.to_anthropic(block.id)


def main() -> None:
    config = cg.PolicyConfig(max_redirections=2, category_max_redirections={"abuse": 1})
    guard = cg.Guard(detectors=[KeywordDetector()], policy=cg.LastResortPolicy(config))
    conv = guard.start(system="Be kind.")
    handle(conv, "hello")
    state: cg.PolicyState = conv.state()
    branches: list[cg.Branch] = conv.branches()
    record: cg.ConversationRecord = conv.export()
    replay: cg.Replay = guard.replay(record)
    ended: tuple[str, ...] = replay.ended_at
    result: cg.ToolResult = conv.handle_tool_call("end_conversation", {"reason": "abuse"})
    tool: dict[str, object] = cg.end_conversation_tool("anthropic")
    risk: dict[str, object] = cg.report_risk_tool("openai")
    reported = conv.handle_tool_call("report_risk", '{"category": "self_harm_risk"}')
    print(risk["type"], reported.content, reported.verdict)  # noqa: T201
    print(state.redirections, len(branches), ended, result.granted, tool["name"])  # noqa: T201
    lenient: cg.Policy = Lenient()
    cg.Guard(policy=lenient).start().send("hello")
