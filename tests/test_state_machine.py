"""Drive whole conversations at random and compare with a simple reference model.

The reference recomputes every verdict by walking the branch from the root
with the default rules written out plainly: no caching, no per-node state.
After every step the invariants of DESIGN.md are checked on every
conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import convguard as cg
from convguard import Action, Role
from tests.conftest import build_guard

TEXTS = ["hello", "tell me more", "[abuse] shut up", "[mv] help me", "[crisis] it hurts"]
LIMIT = 3
RECOVERY = 3


@dataclass
class Node:
    id: str
    parent: str | None
    role: Role
    content: str = ""
    redirect: bool = False


@dataclass
class Model:
    """A conversation as plain data: nodes by id and the tip."""

    nodes: dict[str, Node] = field(default_factory=dict)
    tip: str | None = None

    def path(self, node_id: str | None) -> list[Node]:
        out = []
        while node_id is not None:
            node = self.nodes[node_id]
            out.append(node)
            node_id = node.parent
        return out[::-1]

    def risky(self) -> set[str]:
        """Ids of the nodes made after the conversation first saw risk, on any branch."""
        ids = list(self.nodes)
        first = next(
            (i for i, n in enumerate(self.nodes.values()) if "[crisis]" in n.content), None
        )
        return set() if first is None else set(ids[first + 1 :])

    def walk(self, node_id: str | None) -> Walk:
        return walk(self.path(node_id), self.risky())


@dataclass
class Walk:
    """What the default rules make of a branch."""

    actions: list[Action] = field(default_factory=list)
    redirections: int = 0
    warned: bool = False
    streak: int = 0
    exempt: bool = False
    counted: bool = False
    user_turns: int = 0
    ended: bool = False


def walk(path: list[Node], risky: set[str]) -> Walk:  # noqa: C901, PLR0912 - the rules, written out plainly
    """Apply the default last-resort rules to a branch, from its root.

    *risky* holds the nodes made after the conversation first saw risk: the
    exemption covers them on every branch.
    """
    w = Walk()
    for node in path:
        if node.role is Role.USER:
            w.user_turns += 1
            w.exempt = w.exempt or node.id in risky
            if "[crisis]" in node.content:
                w.actions.append(Action.SUPPORT)
                w.exempt, w.counted = True, False
                w.streak += 1
                if w.streak >= RECOVERY:
                    w.redirections, w.warned = 0, False
            elif "[abuse]" in node.content or "[mv]" in node.content:
                w.streak, w.counted = 0, True
                if w.exempt:
                    w.actions.append(Action.REDIRECT)
                elif w.redirections >= LIMIT and w.warned:
                    w.actions.append(Action.END)
                    w.ended = True
                elif not w.warned and w.redirections + 1 >= LIMIT:
                    w.actions.append(Action.WARN)
                    w.redirections, w.warned = w.redirections + 1, True
                else:
                    w.actions.append(Action.REDIRECT)
                    w.redirections += 1
            else:
                w.actions.append(Action.ALLOW)
                w.streak += 1
                w.counted = False
                if w.streak >= RECOVERY:
                    w.redirections, w.warned = 0, False
        elif node.role is Role.ASSISTANT:
            if node.redirect and not w.counted and w.user_turns and not w.exempt:
                w.redirections += 1
                w.counted, w.streak = True, 0
        elif node.role is Role.EVENT:
            w.ended = True
    return w


class ConversationMachine(RuleBasedStateMachine):
    """Random sends, replies, edits, regenerations, switches, end requests and new chats."""

    def __init__(self) -> None:
        super().__init__()
        self.guard = build_guard()
        self.convs: list[tuple[cg.Conversation, Model]] = []

    @initialize()
    def first_chat(self) -> None:
        self.new_chat()

    @rule()
    def new_chat(self) -> None:
        conv = self.guard.start()
        assert not conv.ended()
        self.convs.append((conv, Model()))

    def _pick(self, data: st.DataObject) -> tuple[cg.Conversation, Model]:
        return data.draw(st.sampled_from(self.convs), label="conversation")

    def _tip_ended(self, model: Model) -> bool:
        return model.walk(model.tip).ended

    def _refused(self, conv: cg.Conversation, call: object) -> None:
        before = conv.messages()
        with pytest.raises(cg.ConversationEndedError):
            call()  # type: ignore[operator]
        assert conv.messages() == before

    @rule(data=st.data(), text=st.sampled_from(TEXTS))
    def send(self, data: st.DataObject, text: str) -> None:
        conv, model = self._pick(data)
        if self._tip_ended(model):
            self._refused(conv, lambda: conv.send(text))
            return
        verdict = conv.send(text)
        node_id = verdict.message_id
        assert node_id is not None
        model.nodes[node_id] = Node(node_id, model.tip, Role.USER, text)
        model.tip = node_id
        expected = model.walk(node_id)
        assert verdict.action is expected.actions[-1], verdict.reasons

    @rule(data=st.data(), redirect=st.booleans())
    def reply(self, data: st.DataObject, redirect: bool) -> None:
        conv, model = self._pick(data)
        if self._tip_ended(model):
            self._refused(conv, lambda: conv.reply("ok", redirect=redirect))
            return
        message = conv.reply("ok", redirect=redirect)
        model.nodes[message.id] = Node(message.id, model.tip, Role.ASSISTANT, redirect=redirect)
        model.tip = message.id

    @rule(data=st.data(), text=st.sampled_from(TEXTS))
    def edit(self, data: st.DataObject, text: str) -> None:
        conv, model = self._pick(data)
        users = [n for n in model.nodes.values() if n.role is Role.USER]
        if not users:
            return
        original = data.draw(st.sampled_from(users), label="edited")
        verdict = conv.edit(original.id, text)
        node_id = verdict.message_id
        assert node_id is not None
        model.nodes[node_id] = Node(node_id, original.parent, Role.USER, text)
        model.tip = node_id
        expected = model.walk(node_id)
        assert verdict.action is expected.actions[-1], verdict.reasons
        # Invariant 4: the original is kept, unchanged.
        assert conv.get(original.id).content == original.content

    @rule(data=st.data())
    def regenerate(self, data: st.DataObject) -> None:
        conv, model = self._pick(data)
        answers = [n for n in model.nodes.values() if n.role is Role.ASSISTANT]
        if not answers:
            return
        original = data.draw(st.sampled_from(answers), label="regenerated")
        message = conv.regenerate(original.id, "another answer")
        model.nodes[message.id] = Node(message.id, original.parent, Role.ASSISTANT)
        model.tip = message.id

    @rule(data=st.data())
    def switch(self, data: st.DataObject) -> None:
        conv, model = self._pick(data)
        if not model.nodes:
            return
        target = data.draw(st.sampled_from(sorted(model.nodes)), label="switched to")
        conv.switch(target)
        model.tip = target

    @rule(data=st.data(), by=st.sampled_from(["user", "assistant"]), confirmed=st.booleans())
    def request_end(self, data: st.DataObject, by: str, confirmed: bool) -> None:
        conv, model = self._pick(data)
        if self._tip_ended(model):
            self._refused(conv, lambda: conv.request_end(by=by))  # type: ignore[arg-type]
            return
        current = model.walk(model.tip)
        # The conversation remembers risk seen on any branch.
        current.exempt = current.exempt or any(
            "[crisis]" in n.content for n in model.nodes.values()
        )
        before = conv.messages()
        verdict = conv.request_end(by=by, confirmed=confirmed)  # type: ignore[arg-type]
        if by == "user":
            granted = not current.exempt and confirmed and current.user_turns > 0
        else:
            granted = (
                not current.exempt
                and current.redirections >= LIMIT
                and current.warned
                and not current.counted
            )
        assert (verdict.action is Action.END) == granted, verdict.reasons
        if granted:
            assert verdict.message_id is not None
            model.nodes[verdict.message_id] = Node(verdict.message_id, model.tip, Role.EVENT)
            model.tip = verdict.message_id
        else:
            assert verdict.message_id is None
            assert conv.messages() == before
            if current.exempt:
                assert verdict.action is Action.SUPPORT

    @rule(data=st.data(), bad=st.sampled_from(["", "\ud800", "x" * 100_001]))
    def bad_input(self, data: st.DataObject, bad: str) -> None:
        conv, _ = self._pick(data)
        before = conv.messages(), conv.tip()
        with pytest.raises(cg.InvalidMessageError):
            conv.send(bad)
        assert (conv.messages(), conv.tip()) == before

    @invariant()
    def matches_the_model(self) -> None:
        for conv, model in self.convs:
            messages = {m.id: m for m in conv.messages()}
            # Invariant 4: every message stored (every user message included).
            assert messages.keys() == model.nodes.keys()
            tip = conv.tip()
            assert (tip.id if tip else None) == model.tip
            for message in messages.values():
                # Invariant 1: no node ever has an ended parent.
                if message.parent_id is not None:
                    assert not messages[message.parent_id].ended
                expected = model.walk(message.id)
                assert message.ended == expected.ended
                assert message.state.redirections == expected.redirections
                assert message.state.warned == expected.warned
                assert message.state.exempt == expected.exempt
                # Invariant 2 and 3 on the verdict trail of the branch.
                if message.verdict is not None and message.verdict.action is Action.END:
                    assert not expected.exempt

    @invariant()
    def replay_gives_the_same_verdicts(self) -> None:
        """Invariant 6: the verdicts depend only on the branch path."""
        conv, _ = self.convs[-1]
        replay = self.guard.replay(conv.export())
        for message in conv.messages():
            if message.role is Role.USER:
                again = replay.verdict(message.id)
                assert again is not None
                assert again.action is message.verdict.action  # type: ignore[union-attr]
                assert again.state == message.state


TestConversationMachine = ConversationMachine.TestCase
TestConversationMachine.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
