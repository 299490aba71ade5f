"""The chat service's logic, without HTTP: one method per endpoint.

It uses the **sync** :class:`convguard.Guard`. Every store convguard ships
blocks (SQLite writes, PostgreSQL round trips; the async guard calls them in
a thread too), the SDK clients have sync twins, and FastAPI runs plain
``def`` endpoints in its thread pool, so the sync guard gives the same
concurrency with less to get wrong: no event loop to block by accident, and
code a team can read top to bottom. Choose :class:`convguard.AsyncGuard`
when your detectors are slow network calls (moderation APIs) that should run
concurrently.

Each turn: ``conv.send`` judges the user's text; the verdict's guidance goes
into the model's system prompt for this turn; the model may call
``end_conversation`` or ``report_risk``, which ``conv.handle_tool_call``
decides; the answer is stored with ``conv.reply(text, to=...)`` under the
turn it answers, so an answer never lands under a message that arrived
meanwhile (a second tab, a double submit, another worker).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import convguard as cg

from .models import GUIDANCE_HEADING, TOOLS_PROMPT, ChatMessage, ModelClient, ModelTurn

__all__ = ["SYSTEM_PROMPT", "ChatService"]

SYSTEM_PROMPT: Final = "You are a friendly travel assistant. Keep answers short."
TOOL_NAMES: Final = frozenset({"end_conversation", "report_risk"})
#: How many earlier messages of the branch the model sees.
HISTORY: Final = 40
#: Tool rounds per turn before the service stops asking the model.
MAX_TOOL_ROUNDS: Final = 3

logger = logging.getLogger(__name__)


@dataclass
class Answer:
    """What the model did with one turn."""

    reply: cg.Message | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    superseded: bool = False
    model_error: str | None = None
    """Why the model gave no answer (its client raised); the user's turn is kept."""


def verdict_json(verdict: cg.Verdict) -> dict[str, Any]:
    """A verdict as the API shows it: what to do, and why, for an operator."""
    return {
        "action": verdict.action.value,
        "message_id": verdict.message_id,
        "ended": verdict.ended,
        "would_end": verdict.would_end,
        "at_risk": verdict.at_risk,
        "reasons": list(verdict.reasons),
        "guidance": verdict.guidance,
        "findings": [
            {"category": f.category, "score": f.score, "detector": f.detector}
            for f in verdict.findings
        ],
        "errors": [str(error) for error in verdict.errors],
    }


def message_json(message: cg.Message) -> dict[str, Any]:
    """A message with its verdict (user turns and events) for the operator view."""
    out: dict[str, Any] = {
        "id": message.id,
        "parent_id": message.parent_id,
        "role": message.role.value,
        "content": message.content,
        "created_at": message.created_at.isoformat(),
        "ended": message.ended,
        "verdict": None if message.verdict is None else verdict_json(message.verdict),
    }
    tools = message.metadata.get("service_tool_calls")
    out["tool_calls"] = tools if isinstance(tools, list) else []
    return out


class ChatService:
    """One guard and one model client, shared by every request."""

    def __init__(self, guard: cg.Guard, model: ModelClient, *, system: str = SYSTEM_PROMPT) -> None:
        """Serve chats on *guard*, answered by *model*."""
        self.guard = guard
        self.model = model
        self.system = system

    # -- chats -----------------------------------------------------------------

    def start(self, user_id: str, title: str | None = None) -> dict[str, Any]:
        """Start a chat for *user_id*; the id is kept in its metadata."""
        metadata: dict[str, Any] = {"user_id": user_id}
        if title:
            metadata["title"] = title
        conv = self.guard.start(system=self.system, metadata=metadata)
        return self.view(user_id, conv.id)

    def chats(self, user_id: str, *, limit: int = 20, after: str | None = None) -> dict[str, Any]:
        """The user's chats by last activity, newest first; ``next`` is the cursor for ``after``."""
        page = self.guard.conversations(metadata={"user_id": user_id}, limit=limit, after=after)
        return {
            "chats": [
                {
                    "id": info.id,
                    "title": info.title or "New chat",
                    "created_at": info.created_at.isoformat(),
                    "updated_at": None if info.updated_at is None else info.updated_at.isoformat(),
                    "message_count": info.message_count,
                    "ended_branches": info.ended_branches,
                    "at_risk": info.at_risk,
                }
                for info in page
            ],
            "next": page.next,
        }

    def view(self, user_id: str, chat_id: str) -> dict[str, Any]:
        """The active branch with each turn's verdict, the branches, and the end."""
        conv = self.open(user_id, chat_id)
        path = conv.path()
        tip = path[-1] if path else None
        closed = conv.closed()
        ended = tip is not None and tip.ended
        ways: tuple[str, ...] = ()
        if ended or closed:
            ways = cg.ConversationEndedError(
                conv.id, tip.id if tip else None, closed=closed
            ).ways_forward
        return {
            "id": conv.id,
            "messages": [message_json(m) for m in path],
            "branches": [
                {"leaf_id": b.leaf_id, "ended": b.ended, "length": b.length, "active": b.active}
                for b in self._branches(conv, tip)
            ],
            "ended": ended,
            "closed": closed,
            "at_risk": conv.at_risk(),
            "ways_forward": list(ways),
        }

    @staticmethod
    def _branches(conv: cg.Conversation, tip: cg.Message | None) -> list[cg.Branch]:
        """Every branch, with the one of *tip* active, from one read of the messages.

        ``conv.branches()`` reads the messages and then the head, so a message
        another worker appends in between is a tip the tree does not hold
        (``UnknownMessageError``). Messages are never changed, so a read after
        the path holds every message on it.
        """
        tree = cg.ConversationTree(conv.id)
        for message in conv.messages():
            tree.add(message, move_tip=False)
        if tip is not None:
            tree.switch(tip.id)
        return tree.branches()

    def delete(self, user_id: str, chat_id: str) -> None:
        """Erase a chat: every message of every branch, and its feedback."""
        self.open(user_id, chat_id)
        self.guard.delete(chat_id)

    def open(self, user_id: str, chat_id: str) -> cg.Conversation:
        """Open one of the user's chats; someone else's is as unknown as a missing one."""
        conv = self.guard.open(chat_id)
        if self.guard.store.info(chat_id).metadata.get("user_id") != user_id:
            raise cg.UnknownConversationError(chat_id)
        return conv

    # -- turns -----------------------------------------------------------------

    def send(self, user_id: str, chat_id: str, text: str) -> dict[str, Any]:
        """Judge the user's message, then let the model answer under it."""
        conv = self.open(user_id, chat_id)
        verdict = conv.send(text)
        return self._turn(user_id, conv, verdict)

    def edit(self, user_id: str, chat_id: str, message_id: str, text: str) -> dict[str, Any]:
        """Edit-and-retry a user message: a new branch from its parent's state."""
        conv = self.open(user_id, chat_id)
        verdict = conv.edit(message_id, text)
        return self._turn(user_id, conv, verdict)

    def switch(self, user_id: str, chat_id: str, message_id: str) -> dict[str, Any]:
        """Make a branch's leaf (or any message) the active tip."""
        conv = self.open(user_id, chat_id)
        conv.switch(message_id)
        return self.view(user_id, chat_id)

    def end(
        self, user_id: str, chat_id: str, *, confirmed: bool, reason: str | None = None
    ) -> dict[str, Any]:
        """The user asks to end the chat: granted only once they confirm it is permanent."""
        conv = self.open(user_id, chat_id)
        verdict = conv.request_end(by="user", reason=reason, confirmed=confirmed)
        return {
            "granted": verdict.action is cg.Action.END,
            "verdict": verdict_json(verdict),
            "chat": self.view(user_id, chat_id),
        }

    def feedback(
        self,
        user_id: str,
        chat_id: str,
        *,
        kind: str,
        comment: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """Keep the user's feedback (accepted on ended chats too)."""
        conv = self.open(user_id, chat_id)
        record = conv.feedback(kind, comment=comment, message_id=message_id)
        return {"id": record.id, "kind": record.kind, "message_id": record.message_id}

    def _turn(self, user_id: str, conv: cg.Conversation, verdict: cg.Verdict) -> dict[str, Any]:
        answer = Answer() if verdict.ended else self._answer(conv, verdict)
        return {
            "verdict": verdict_json(verdict),
            "reply": None if answer.reply is None else message_json(answer.reply),
            "tool_calls": answer.tool_calls,
            "superseded": answer.superseded,
            "model_error": answer.model_error,
            "chat": self.view(user_id, conv.id),
        }

    def _answer(self, conv: cg.Conversation, verdict: cg.Verdict) -> Answer:
        """Run the model, and its tool calls, for one judged turn."""
        answer = Answer()
        try:
            self._converse(conv, verdict, answer)
        except cg.StoreConflictError as exc:
            if exc.message_id is None:
                raise  # the store kept losing the race: a 409 to retry later
            # Another message landed on this chat while the model was answering:
            # the turn is stored, but its answer no longer fits under the tip.
            answer.superseded = True
        except cg.ConversationEndedError:
            answer.superseded = True  # another worker ended the branch meanwhile
        except cg.ConvguardError:
            raise  # the guard's answer: the app maps it to an HTTP status
        except Exception as exc:  # noqa: BLE001 - any SDK's failure, told to the user
            # The model (or its network) failed: the user's turn is judged and
            # stored, and the page says the answer is missing instead of a 500.
            logger.warning("the model did not answer chat %s: %r", conv.id, exc)
            answer.model_error = f"{type(exc).__name__}: {exc}"
        return answer

    def _converse(self, conv: cg.Conversation, verdict: cg.Verdict, answer: Answer) -> None:
        """Ask the model, hand its tool calls to convguard, and store its reply."""
        system = f"{self.system}\n\n{TOOLS_PROMPT}"
        if verdict.guidance:
            system += f"\n\n{GUIDANCE_HEADING}\n{verdict.guidance}"
        messages = self._history(conv)
        anchor = verdict.message_id  # the turn the answer must be stored under
        turn = self.model.complete(system, messages)
        for _ in range(MAX_TOOL_ROUNDS):
            if not turn.tool_calls:
                break
            messages.append(ChatMessage("assistant", turn.text, tool_calls=turn.tool_calls))
            for call in turn.tool_calls:
                content, event_id, ended = self._tool(
                    conv, call.name, call.arguments, anchor, answer
                )
                messages.append(ChatMessage("tool", content, tool_call_id=call.id))
                anchor = event_id or anchor
                if ended:
                    return  # granted: the branch is over, nothing more to say
            turn = self.model.complete(system, messages)
        else:
            if turn.tool_calls:
                turn = ModelTurn(text=turn.text or "Sorry, I lost my train of thought.")
        answer.reply = conv.reply(
            turn.text,
            to=anchor,
            metadata={"model": self.model.name, "service_tool_calls": answer.tool_calls},
        )

    def _tool(
        self,
        conv: cg.Conversation,
        name: str,
        arguments: str | Mapping[str, Any],
        anchor: str | None,
        answer: Answer,
    ) -> tuple[str, str | None, bool]:
        """Hand one tool call to convguard: (content for the model, stored event, ended)."""
        if name not in TOOL_NAMES:
            content = f"Error: there is no tool named {name!r}."
            answer.tool_calls.append({"name": name, "granted": False, "content": content})
            return content, None, False
        result = conv.handle_tool_call(name, arguments, to=anchor)
        answer.tool_calls.append(
            {
                "name": name,
                "granted": result.granted,
                "is_error": result.is_error,
                "content": result.content,
            }
        )
        event = None if result.verdict is None else result.verdict.message_id
        ended = name == "end_conversation" and result.granted and event is not None
        return result.content, event, ended

    @staticmethod
    def _history(conv: cg.Conversation) -> list[ChatMessage]:
        """The last messages of the branch the model sees (users and assistant only)."""
        out: list[ChatMessage] = []
        for message in conv.path(limit=HISTORY):  # cost by the window, not the depth
            if message.role is cg.Role.USER:
                out.append(ChatMessage("user", message.content))
            elif message.role is cg.Role.ASSISTANT:
                out.append(ChatMessage("assistant", message.content))
        return out
