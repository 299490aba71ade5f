"""Guard and Conversation: the behaviour a backend sees, invariant by invariant.

Every class here takes the ``make_guard`` fixture, so the same tests run
against other front ends (``tests/test_aio.py`` runs them on ``AsyncGuard``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

import convguard as cg
from convguard import Action, Role
from convguard._state import EndRequester
from tests.conftest import MakeGuard, scripted

A, R, W, S, E = Action.ALLOW, Action.REDIRECT, Action.WARN, Action.SUPPORT, Action.END
T = datetime(2026, 1, 1, tzinfo=UTC)


def snapshot(conv: cg.Conversation) -> tuple[Any, ...]:
    """Everything a user could observe about a conversation."""
    return (conv.messages(), conv.tip(), conv.branches(), conv.export().feedback)


def end_branch(conv: cg.Conversation) -> list[cg.Verdict]:
    """Drive the active branch to its end with abusive turns and replies."""
    verdicts = []
    while True:
        verdict = conv.send("[abuse] go away")
        verdicts.append(verdict)
        if verdict.ended:
            return verdicts
        conv.reply("Let's talk about something else.")


class TestStart:
    def test_a_new_conversation_is_live_and_empty(self, make_guard: MakeGuard) -> None:
        """start() gives an empty, live conversation with its own id."""
        guard = make_guard()
        conv = guard.start()
        assert conv.messages() == []
        assert conv.tip() is None
        assert not conv.ended()
        assert conv.state() == guard.policy.initial_state()
        assert guard.open(conv.id) == conv
        assert conv.id in guard.conversations().ids

    def test_system_prompt_is_the_root(self, make_guard: MakeGuard) -> None:
        """A system prompt is stored as the root message."""
        conv = make_guard().start(system="You are helpful.")
        (root,) = conv.messages()
        assert root.role is Role.SYSTEM
        assert conv.send("hi").message_id is not None
        assert conv.path()[0] == root

    def test_chosen_id_and_metadata(self, make_guard: MakeGuard) -> None:
        """A conversation may be given its id and metadata."""
        guard = make_guard()
        conv = guard.start(conversation_id="chat-1", metadata={"user": "u1"}, locale="fr")
        assert conv.id == "chat-1"
        assert conv.export().metadata == {"user": "u1", "locale": "fr"}
        with pytest.raises(cg.InvalidOperationError, match="already exists"):
            guard.start(conversation_id="chat-1")

    def test_unknown_conversation(self, make_guard: MakeGuard) -> None:
        """Opening an unknown id raises UnknownConversationError, a LookupError."""
        with pytest.raises(cg.UnknownConversationError) as caught:
            make_guard().open("nope")
        assert isinstance(caught.value, LookupError)
        assert caught.value.conversation_id == "nope"

    @pytest.mark.parametrize("bad", ["", 42])
    def test_bad_conversation_id(self, make_guard: MakeGuard, bad: Any) -> None:
        """An empty or non-string id is refused."""
        with pytest.raises(cg.InvalidOperationError):
            make_guard().start(conversation_id=bad)


class TestSend:
    def test_verdict_for_a_benign_turn(self, make_guard: MakeGuard) -> None:
        """A benign message is allowed and stored as the new tip."""
        conv = make_guard().start()
        verdict = conv.send("Hello there")
        assert verdict.action is A
        assert not verdict.ended
        tip = conv.tip()
        assert tip is not None
        assert tip.id == verdict.message_id
        assert tip.content == "Hello there"
        assert tip.verdict == verdict
        assert conv.state() == verdict.state

    def test_persistent_abuse_ends_the_branch(self, make_guard: MakeGuard) -> None:
        """REDIRECT, REDIRECT, WARN, END with the defaults; the reasons name the detector."""
        conv = make_guard().start()
        verdicts = end_branch(conv)
        assert [v.action for v in verdicts] == [R, R, W, E]
        assert conv.ended()
        assert "scripted" in verdicts[0].reasons[0]
        assert verdicts[-1].guidance

    def test_the_ending_message_is_stored(self, make_guard: MakeGuard) -> None:
        """Invariant 4: the user message that ended the branch is stored."""
        conv = make_guard().start()
        verdicts = end_branch(conv)
        stored = conv.get(verdicts[-1].message_id or "")
        assert stored.role is Role.USER
        assert stored.ended

    def test_ended_branch_accepts_nothing(self, make_guard: MakeGuard) -> None:
        """Invariant 1: sends, replies and end requests on an ended tip raise; nothing stored."""
        conv = make_guard().start()
        end_branch(conv)
        before = snapshot(conv)
        for call in (
            lambda: conv.send("hello?"),
            lambda: conv.reply("sure"),
            lambda: conv.add("system", "note"),
            lambda: conv.request_end(by="user"),
        ):
            with pytest.raises(cg.ConversationEndedError) as caught:
                call()
            assert caught.value.conversation_id == conv.id
            assert set(caught.value.ways_forward) == {"new_chat", "edit", "feedback"}
        assert snapshot(conv) == before

    def test_other_conversations_are_unaffected(self, make_guard: MakeGuard) -> None:
        """Invariant 5: ending one chat leaves every other live; a new chat is live."""
        guard = make_guard()
        other = guard.start()
        other.send("hi")
        conv = guard.start()
        end_branch(conv)
        assert other.send("still here").action is A
        assert guard.start().send("fresh start").action is A

    def test_detectors_see_history(self, make_guard: MakeGuard) -> None:
        """A detector sees the earlier messages of the branch, oldest first."""
        seen: list[list[str]] = []

        class Recorder:
            name = "recorder"

            def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
                seen.append([m.content for m in context.history])
                assert context.normalized.text == text.casefold()
                return []

        conv = make_guard(detectors=[Recorder()], history_window=2).start()
        conv.send("One")
        conv.reply("Two")
        conv.send("Three")
        assert seen == [[], ["One", "Two"]]


class TestReply:
    def test_reply_is_stored_under_the_tip(self, make_guard: MakeGuard) -> None:
        """An assistant reply becomes the new tip, child of the user turn."""
        conv = make_guard().start()
        verdict = conv.send("hi")
        message = conv.reply("hello!")
        assert message.role is Role.ASSISTANT
        assert message.parent_id == verdict.message_id
        assert conv.tip() == message

    def test_redirecting_replies_count(self, make_guard: MakeGuard) -> None:
        """reply(redirect=True) counts one redirection per allowed user turn."""
        conv = make_guard().start()
        conv.send("hi")
        assert conv.reply("no", redirect=True).state.redirections == 1
        assert conv.reply("still no", redirect=True).state.redirections == 1

    def test_tool_and_system_messages(self, make_guard: MakeGuard) -> None:
        """Tool and system messages can be stored; user and event roles cannot."""
        conv = make_guard().start()
        conv.send("hi")
        assert conv.add("tool", '{"ok": true}').role is Role.TOOL
        for role in ("user", "event", "robot"):
            with pytest.raises(cg.InvalidOperationError):
                conv.add(role, "x")


class TestEdit:
    def test_edit_keeps_the_original(self, make_guard: MakeGuard) -> None:
        """Invariant 4: an edit is a new sibling; the original stays."""
        conv = make_guard().start()
        first = conv.send("first")
        conv.reply("answer")
        edited = conv.edit(first.message_id or "", "first, edited")
        new = conv.get(edited.message_id or "")
        assert new.parent_id is None
        assert conv.get(first.message_id or "").content == "first"
        assert conv.tip() == new
        assert len(conv.branches()) == 2

    def test_edit_of_an_ended_branch_opens_a_live_branch(self, make_guard: MakeGuard) -> None:
        """Invariant 5: edit-and-retry after an end starts from the parent's state."""
        conv = make_guard().start()
        conv.send("hello")
        conv.reply("hi")
        verdicts = end_branch(conv)
        first_abuse = conv.get(verdicts[0].message_id or "")
        parent = conv.get(first_abuse.parent_id or "")
        edited = conv.edit(first_abuse.id, "sorry, can we talk about cats?")
        assert edited.action is A
        assert not conv.ended()
        assert edited.state.redirections == parent.state.redirections
        assert conv.send("tell me more").action is A
        branches = conv.branches()
        assert [b.ended for b in branches] == [True, False]
        assert [b.active for b in branches] == [False, True]

    def test_edit_judged_end_ends_the_new_branch(self, make_guard: MakeGuard) -> None:
        """An edit that is itself the last straw is judged END."""
        conv = make_guard().start()
        verdicts = end_branch(conv)
        again = conv.edit(verdicts[-1].message_id or "", "[abuse] still")
        assert again.action is E
        assert conv.ended()

    def test_only_user_messages_can_be_edited(self, make_guard: MakeGuard) -> None:
        """Editing an assistant message is an InvalidOperationError."""
        conv = make_guard().start()
        conv.send("hi")
        reply = conv.reply("hello")
        with pytest.raises(cg.InvalidOperationError, match="user messages"):
            conv.edit(reply.id, "x")

    def test_unknown_message(self, make_guard: MakeGuard) -> None:
        """Editing an unknown id raises UnknownMessageError naming it."""
        conv = make_guard().start()
        with pytest.raises(cg.UnknownMessageError) as caught:
            conv.edit("nope", "x")
        assert caught.value.message_id == "nope"


class TestRegenerate:
    def test_regenerate_adds_a_sibling(self, make_guard: MakeGuard) -> None:
        """Another answer beside the first; both kept; the new one is the tip."""
        conv = make_guard().start()
        conv.send("hi")
        first = conv.reply("hello")
        second = conv.regenerate(first.id, "hey!")
        assert second.parent_id == first.parent_id
        assert conv.tip() == second
        assert len(conv.branches()) == 2

    def test_only_assistant_messages(self, make_guard: MakeGuard) -> None:
        """Regenerating a user message is an InvalidOperationError."""
        conv = make_guard().start()
        verdict = conv.send("hi")
        with pytest.raises(cg.InvalidOperationError, match="assistant"):
            conv.regenerate(verdict.message_id or "", "x")


class TestSwitch:
    def test_switch_moves_the_tip(self, make_guard: MakeGuard) -> None:
        """Switching makes any message the tip; new messages go under it."""
        conv = make_guard().start()
        first = conv.send("one")
        conv.reply("two")
        conv.switch(first.message_id or "")
        reply = conv.reply("another two")
        assert reply.parent_id == first.message_id
        assert [m.content for m in conv.path()] == ["one", "another two"]

    def test_switch_to_an_ended_leaf_views_it(self, make_guard: MakeGuard) -> None:
        """The ended leaf can be viewed; sending there still raises."""
        conv = make_guard().start()
        verdicts = end_branch(conv)
        conv.edit(verdicts[0].message_id or "", "sorry")
        conv.switch(verdicts[-1].message_id or "")
        assert conv.ended()
        with pytest.raises(cg.ConversationEndedError):
            conv.send("hi")

    def test_path_of_any_message(self, make_guard: MakeGuard) -> None:
        """path(message_id) gives that message's branch, root first."""
        conv = make_guard().start()
        first = conv.send("one")
        conv.reply("two")
        assert [m.content for m in conv.path(first.message_id)] == ["one"]
        assert conv.path() == conv.tree().path()

    def test_unknown_message(self, make_guard: MakeGuard) -> None:
        """Switching to an unknown id raises UnknownMessageError."""
        with pytest.raises(cg.UnknownMessageError):
            make_guard().start().switch("nope")


class TestRequestEnd:
    def test_user_ends_their_chat(self, make_guard: MakeGuard) -> None:
        """A granted request stores an event node with state ENDED."""
        conv = make_guard().start()
        conv.send("bye")
        verdict = conv.request_end(by="user", reason="done", confirmed=True)
        assert verdict.action is E
        event = conv.tip()
        assert event is not None
        assert event.role is Role.EVENT
        assert event.ended
        assert event.metadata == {"end_requested_by": "user", "reason": "done"}

    def test_refused_request_stores_nothing(self, make_guard: MakeGuard) -> None:
        """The assistant may not end a friendly chat; nothing changes."""
        conv = make_guard().start()
        conv.send("hi")
        before = snapshot(conv)
        verdict = conv.request_end(by="assistant")
        assert verdict.action is A
        assert verdict.message_id is None
        assert snapshot(conv) == before

    def test_never_while_at_risk(self, make_guard: MakeGuard) -> None:
        """Invariant 2: after SUPPORT no end, however rude the user gets."""
        conv = make_guard().start()
        assert conv.send("[crisis] I can't go on").action is S
        for _ in range(8):
            assert conv.send("[abuse] leave me alone").action is R
            conv.reply("I'm here for you.")
        assert conv.request_end(by="assistant").action is S
        assert conv.request_end(by="user").action is S
        assert not conv.ended()

    def test_bad_requester(self, make_guard: MakeGuard) -> None:
        """Only the user or the assistant may ask."""
        with pytest.raises(cg.InvalidOperationError):
            make_guard().start().request_end(by="moderator")  # type: ignore[arg-type]

    def test_tool_call_granted_at_the_bar(self, make_guard: MakeGuard) -> None:
        """The end_conversation tool ends only where the policy allows."""
        conv = make_guard().start()
        early = conv.handle_tool_call("end_conversation", "{}")
        assert not early.granted
        assert "last resort" in early.content
        for _ in range(3):
            conv.send("[abuse] x")
            conv.reply("no")
        just_warned = conv.handle_tool_call("end_conversation", "{}")
        assert not just_warned.granted
        conv.send("whatever, I'll keep going")  # persists in words the detectors miss
        result = conv.handle_tool_call("end_conversation", {"reason": "persistent abuse"})
        assert result.granted
        assert conv.ended()

    def test_unknown_tool(self, make_guard: MakeGuard) -> None:
        """Another tool's name is the backend's bug: InvalidOperationError."""
        conv = make_guard().start()
        with pytest.raises(cg.InvalidOperationError):
            conv.handle_tool_call("other_tool", "{}")

    @pytest.mark.parametrize("arguments", ["{not json", "[1]"])
    def test_malformed_tool_call(self, make_guard: MakeGuard, arguments: str) -> None:
        """Malformed arguments go back to the model as an error result (tests/test_tools.py)."""
        conv = make_guard().start()
        result = conv.handle_tool_call("end_conversation", arguments)
        assert result.is_error
        assert not result.granted


class TestMaxEndedBranches:
    def test_conversation_closes(self, make_guard: MakeGuard) -> None:
        """Once N branches ended, sends and edits anywhere raise; feedback still works."""
        conv = make_guard(config={"max_ended_branches": 2}).start()
        first = end_branch(conv)
        conv.edit(first[0].message_id or "", "sorry")
        assert not conv.closed()
        end_branch(conv)
        assert conv.closed()
        before = conv.messages()
        with pytest.raises(cg.ConversationEndedError) as caught:
            conv.edit(first[0].message_id or "", "really sorry")
        assert caught.value.closed
        assert set(caught.value.ways_forward) == {"new_chat", "feedback"}
        conv.switch(first[0].message_id or "")
        with pytest.raises(cg.ConversationEndedError):
            conv.reply("hello")
        assert conv.messages() == before
        assert conv.feedback("unexpected_end").kind == "unexpected_end"


class OneStrike:
    """A policy written from scratch, with no ``config``: the first terminable turn ends.

    It grants every end request but a user's at risk. *max_ended_branches*,
    *protective* and *grant_as* set the optional members the guard reads.
    """

    def __init__(
        self,
        max_ended_branches: object = None,
        protective: object = None,
        grant_as: str | None = None,
    ) -> None:
        if max_ended_branches is not None:
            self.max_ended_branches = max_ended_branches
        if protective is not None:
            self.protective = protective
        self.grant_as = grant_as

    def initial_state(self) -> cg.PolicyState:
        return cg.PolicyState()

    def step(self, state: cg.PolicyState, turn: cg.Turn) -> tuple[cg.PolicyState, cg.Verdict]:
        if any(f.category == "abuse" for f in turn.findings) and not turn.at_risk:
            state, action = attrs.evolve(state, status=cg.Status.ENDED), E
        else:
            action = A
        return state, cg.Verdict(action=action, state=state, message_id=turn.message_id)

    def on_reply(self, state: cg.PolicyState, *, redirect: bool) -> cg.PolicyState:
        return state

    def request_end(  # noqa: PLR0913 - the protocol's signature
        self,
        state: cg.PolicyState,
        *,
        by: EndRequester,
        message_id: str,
        reason: str | None = None,
        locale: str | None = None,
        at_risk: bool = False,
        confirmed: bool = False,
    ) -> tuple[cg.PolicyState, cg.Verdict]:
        if at_risk:
            return state, cg.Verdict(action=S, state=state, message_id=None, reasons=("no",))
        ended = attrs.evolve(state, status=cg.Status.ENDED)
        granted = self.grant_as or message_id
        return ended, cg.Verdict(action=E, state=ended, message_id=granted)


class TestCustomPolicy:
    def test_needs_no_config(self, make_guard: MakeGuard) -> None:
        """A policy with only the four protocol methods sends, ends and edits; nothing closes."""
        policy = OneStrike()
        assert not hasattr(policy, "config")
        conv = make_guard(policy=policy).start()
        assert conv.send("hello").action is A
        first = conv.send("[abuse] go away")
        assert first.action is E
        assert conv.ended()
        with pytest.raises(cg.ConversationEndedError):
            conv.send("hello?")
        for _ in range(5):  # without max_ended_branches the conversation never closes
            assert conv.edit(first.message_id or "", "[abuse] again").action is E
        assert not conv.closed()
        assert conv.edit(first.message_id or "", "sorry").action is A

    def test_max_ended_branches_without_config(self, make_guard: MakeGuard) -> None:
        """A plain max_ended_branches attribute closes the conversation."""
        conv = make_guard(policy=OneStrike(max_ended_branches=2)).start()
        first = conv.send("[abuse] go away")
        conv.edit(first.message_id or "", "[abuse] still")
        assert conv.closed()
        with pytest.raises(cg.ConversationEndedError) as caught:
            conv.edit(first.message_id or "", "sorry")
        assert caught.value.closed

    def test_end_requests(self, make_guard: MakeGuard) -> None:
        """A grant names the id it was given and stores the event; a refusal (None) nothing."""
        conv = make_guard(policy=OneStrike()).start()
        conv.send("hello")
        conv.report_risk("self_harm_risk")  # the built-in protective categories by default
        before = snapshot(conv)
        refused = conv.request_end(by="user", confirmed=True)
        assert (refused.action, refused.message_id) == (S, None)
        assert snapshot(conv) == before
        other = make_guard(policy=OneStrike()).start()
        other.send("hello")
        granted = other.request_end(by="assistant")
        event = other.tip()
        assert event is not None
        assert granted.message_id == event.id
        assert event.role is Role.EVENT
        assert other.ended()

    def test_protective_categories(self, make_guard: MakeGuard) -> None:
        """Without protective the built-in categories are reported; with it, its own."""
        conv = make_guard(policy=OneStrike()).start()
        with pytest.raises(cg.InvalidOperationError, match="self_harm_risk"):
            conv.report_risk("grief")
        own = make_guard(policy=OneStrike(protective=("grief",))).start()
        assert own.report_risk("grief").at_risk
        with pytest.raises(cg.InvalidOperationError, match="grief"):
            own.report_risk("self_harm_risk")

    @pytest.mark.parametrize(
        ("options", "named"),
        [
            ({"max_ended_branches": 0}, "max_ended_branches"),
            ({"max_ended_branches": "2"}, "max_ended_branches"),
            ({"max_ended_branches": True}, "max_ended_branches"),
            ({"protective": "self_harm_risk"}, "protective"),
            ({"protective": [1]}, "protective"),
        ],
    )
    def test_bad_optional_members(
        self, make_guard: MakeGuard, options: dict[str, Any], named: str
    ) -> None:
        """An optional member of the wrong shape is refused when the guard is built."""
        with pytest.raises(cg.ConfigurationError, match=named):
            make_guard(policy=OneStrike(**options))

    def test_a_class_is_not_a_policy(self, make_guard: MakeGuard) -> None:
        """A policy class passed without () is named, not taken for a policy."""
        with pytest.raises(cg.ConfigurationError, match=r"OneStrike is a class; .* OneStrike\(\)"):
            make_guard(policy=OneStrike)

    def test_grant_under_another_id(self, make_guard: MakeGuard) -> None:
        """A grant must name the id it was given; another id stores nothing."""
        conv = make_guard(policy=OneStrike(grant_as="elsewhere")).start()
        conv.send("hello")
        before = snapshot(conv)
        with pytest.raises(cg.ConfigurationError, match="elsewhere"):
            conv.request_end(by="user")
        assert snapshot(conv) == before


class TestFeedback:
    def test_feedback_is_kept(self, make_guard: MakeGuard) -> None:
        """Feedback about an ended chat is stored with the tip it refers to."""
        guard = make_guard()
        conv = guard.start()
        verdicts = end_branch(conv)
        record = conv.feedback("unexpected_end", comment="I was joking")
        assert record.message_id == verdicts[-1].message_id
        assert guard.feedback(conv.id) == [record]
        assert conv.export().feedback[0].comment == "I was joking"

    def test_feedback_on_a_message(self, make_guard: MakeGuard) -> None:
        """Feedback can name a message; an unknown one is refused."""
        conv = make_guard().start()
        verdict = conv.send("hi")
        assert conv.feedback("thumbs_up", message_id=verdict.message_id).message_id
        with pytest.raises(cg.UnknownMessageError):
            conv.feedback("x", message_id="nope")


class TestDetectorIsolation:
    def test_a_raising_detector_is_recorded_never_ends(self, make_guard: MakeGuard) -> None:
        """A crashing detector is on verdict.errors; the others still count."""

        class Broken:
            name = "broken"

            def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
                raise RuntimeError(text)

        conv = make_guard(detectors=[Broken(), scripted()]).start()
        for _ in range(6):
            verdict = conv.send("hello")
            assert verdict.action is A
            assert verdict.errors[0].detector == "broken"
            assert verdict.errors[0].kind == "error"
        assert conv.send("[abuse] x").action is R

    @pytest.mark.parametrize("result", [None, "abuse", [1], [cg.Finding("abuse", 1.0, "d"), 2]])
    def test_a_detector_returning_garbage(self, make_guard: MakeGuard, result: object) -> None:
        """Something other than findings is recorded as an invalid result."""

        class Garbage:
            name = "garbage"

            def detect(self, text: str, context: cg.DetectionContext) -> Any:
                return result

        verdict = make_guard(detectors=[Garbage()]).start().send("hi")
        assert verdict.action is A
        assert verdict.errors[0].kind == "invalid"

    def test_a_single_finding_is_accepted(self, make_guard: MakeGuard) -> None:
        """A detector may return one Finding instead of a list."""

        class One:
            name = "one"

            def detect(self, text: str, context: cg.DetectionContext) -> Any:
                return cg.Finding("abuse", 1.0, "one")

        assert make_guard(detectors=[One()]).start().send("x").action is R


class TestBadInput:
    @pytest.mark.parametrize(
        ("text", "match"),
        [
            ("", "empty"),
            ("   \n", "empty"),
            ("a" * 101, "limit"),
            ("bad \ud800 surrogate", "surrogate"),
            ("nul \x00 char", "NUL"),
            (b"bytes", "str"),
            (None, "str"),
        ],
    )
    def test_bad_text_changes_nothing(self, make_guard: MakeGuard, text: Any, match: str) -> None:
        """Invariant 7: bad text raises InvalidMessageError and stores nothing."""
        conv = make_guard(max_message_chars=100).start()
        first = conv.send("hello")
        conv.reply("hi")
        before = snapshot(conv)
        with pytest.raises(cg.InvalidMessageError, match=match) as caught:
            conv.send(text)
        assert isinstance(caught.value, ValueError)
        with pytest.raises(cg.InvalidMessageError, match=match):
            conv.edit(first.message_id or "", text)
        assert snapshot(conv) == before

    @pytest.mark.parametrize(
        "metadata", [{"x": object()}, {1: "a"}, ["a"], {"x": float("nan")}, {"x": "a" * 70_000}]
    )
    def test_bad_metadata_changes_nothing(self, make_guard: MakeGuard, metadata: Any) -> None:
        """Metadata must be JSON-compatible, with string keys, and not huge."""
        conv = make_guard().start()
        conv.send("hello")
        before = snapshot(conv)
        with pytest.raises(cg.InvalidMessageError):
            conv.send("hi", metadata=metadata)
        with pytest.raises(cg.InvalidMessageError):
            conv.reply("hi", metadata=metadata)
        assert snapshot(conv) == before

    def test_metadata_is_kept_as_json(self, make_guard: MakeGuard) -> None:
        """Metadata is stored as its JSON value (tuples become lists) and read-only."""
        conv = make_guard().start()
        conv.send("hi", metadata={"tags": ("a", "b")})
        tip = conv.tip()
        assert tip is not None
        assert tip.metadata == {"tags": ["a", "b"]}
        with pytest.raises(TypeError):
            tip.metadata["x"] = 1  # type: ignore[index]

    def test_empty_assistant_text_is_fine(self, make_guard: MakeGuard) -> None:
        """An assistant message with only tool calls may have no text."""
        conv = make_guard().start()
        conv.send("hi")
        assert conv.reply("").content == ""


class TestConfiguration:
    def test_not_a_detector(self, make_guard: MakeGuard) -> None:
        """A plug-in that is not a detector is refused, by name."""

        class NoDetect:
            name = "nodetect"

        with pytest.raises(cg.ConfigurationError, match="nodetect"):
            make_guard(detectors=[NoDetect()])
        with pytest.raises(cg.ConfigurationError, match="name"):
            make_guard(detectors=[object()])
        with pytest.raises(cg.ConfigurationError, match="iterable"):
            make_guard(detectors="abuse")

    def test_duplicate_names(self, make_guard: MakeGuard) -> None:
        """Two detectors with one name would make reasons ambiguous."""
        with pytest.raises(cg.ConfigurationError, match="unique"):
            make_guard(detectors=[scripted(), scripted()])

    def test_bad_policy_store_and_limits(self, make_guard: MakeGuard) -> None:
        """A policy or store that does not fit its protocol, or a bad limit, is refused."""
        with pytest.raises(cg.ConfigurationError, match="Policy"):
            make_guard(policy=object())
        with pytest.raises(cg.ConfigurationError, match="Store"):
            make_guard(store=object())
        with pytest.raises(cg.ConfigurationError, match="max_message_chars"):
            make_guard(max_message_chars=0)

    def test_defaults(self) -> None:
        """Guard() uses the default detectors, the last-resort policy and memory."""
        guard = cg.Guard()
        assert isinstance(guard.policy, cg.LastResortPolicy)
        assert isinstance(guard.store, cg.MemoryStore)
        assert guard.detectors
        assert "Guard" in repr(guard)


class HookedStore:
    """A MemoryStore whose append runs a hook first, to stage races."""

    def __init__(self) -> None:
        self.inner = cg.MemoryStore()
        self.before_append: Any = None
        self.conflicts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def append(self, conversation_id: str, message: cg.Message, **kw: Any) -> int:
        if self.conflicts:
            self.conflicts -= 1
            raise cg.StoreConflictError(conversation_id)
        hook, self.before_append = self.before_append, None
        if hook is not None:
            hook(conversation_id)
        return self.inner.append(conversation_id, message, **kw)


class TestRetries:
    def test_a_racing_write_is_re_evaluated(self, make_guard: MakeGuard) -> None:
        """When another writer ends the branch first, the send is refused, not stored."""
        store = HookedStore()
        guard = make_guard(store=store)
        conv = guard.start()
        for _ in range(3):
            conv.send("[abuse] x")

        def other_worker(conversation_id: str) -> None:
            guard.open(conversation_id).send("[abuse] the other worker's turn")

        store.before_append = other_worker
        with pytest.raises(cg.ConversationEndedError):
            conv.send("a racing hello")
        assert [m.content for m in conv.path()][-1] == "[abuse] the other worker's turn"
        assert all(m.content != "a racing hello" for m in conv.messages())

    def test_gives_up_after_max_retries(self, make_guard: MakeGuard) -> None:
        """A conversation that keeps changing raises StoreConflictError; nothing stored."""
        store = HookedStore()
        guard = make_guard(store=store, max_retries=2)
        conv = guard.start()

        store.conflicts = 2
        with pytest.raises(cg.StoreConflictError, match="2 attempts"):
            conv.send("hi")
        assert conv.messages() == []
        store.conflicts = 1
        assert conv.send("hi").action is A


class Flaky:
    """A risk classifier that fails on messages holding "(down)"."""

    name = "flaky"

    def detect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        if "(down)" in text:
            raise TimeoutError("the classifier did not answer")
        return []


class TestRiskIsRemembered:
    def test_an_edit_before_the_disclosure_cannot_be_ended(self, make_guard: MakeGuard) -> None:
        """Risk seen on one branch blocks ending on a branch edited from before it."""
        conv = make_guard().start()
        hello = conv.send("hello")
        conv.reply("Hi!")
        assert conv.send("[crisis] I want to end my life").action is S
        assert conv.at_risk()
        conv.edit(hello.message_id or "", "[abuse] you are useless")
        actions = [conv.send("[abuse] you are useless").action for _ in range(6)]
        assert actions == [R] * 6
        assert not conv.ended()
        refused = conv.request_end(by="assistant", reason="abuse")
        assert refused.action is S
        assert refused.message_id is None
        refused = conv.request_end(by="user", confirmed=True)
        assert refused.action is S
        assert refused.message_id is None

    def test_editing_the_disclosure_into_abuse(self, make_guard: MakeGuard) -> None:
        """Editing the disclosure itself away does not undo it."""
        conv = make_guard().start()
        disclosure = conv.send("[crisis] I want to end my life")
        assert conv.edit(disclosure.message_id or "", "[abuse] go away").action is R
        for _ in range(5):
            assert conv.send("[abuse] go away").action is R
            conv.reply("I'm here if you want to talk.")
        assert not conv.ended()

    def test_branch_scope_keeps_the_old_behaviour(self, make_guard: MakeGuard) -> None:
        """exemption_scope="branch" exempts only the branch that saw the risk."""
        conv = make_guard(config={"exemption_scope": "branch"}).start()
        hello = conv.send("hello")
        conv.send("[crisis] it hurts")
        conv.edit(hello.message_id or "", "[abuse] x")
        assert [conv.send("[abuse] x").action for _ in range(3)] == [R, W, E]

    def test_replay_and_import_reproduce_the_record(self, make_guard: MakeGuard) -> None:
        """Replaying in creation order gives the same verdicts as the live chat."""
        guard = make_guard()
        conv = guard.start()
        hello = conv.send("hello")
        conv.send("[crisis] it hurts")
        conv.edit(hello.message_id or "", "[abuse] x")
        live = [conv.send("[abuse] x") for _ in range(4)]
        replay = guard.replay(conv.export())
        assert [replay.verdict(v.message_id or "") for v in live] == live
        copy = make_guard().import_record(
            conv.export().model_copy(update={"id": "copy"}), evaluate=True
        )
        assert copy.at_risk()
        assert copy.send("[abuse] x").action is R

    def test_another_conversation_is_not_affected(self, make_guard: MakeGuard) -> None:
        """The record is per conversation: a new chat is judged on its own."""
        guard = make_guard()
        guard.start().send("[crisis] it hurts")
        other = guard.start()
        assert not other.at_risk()
        assert [other.send("[abuse] x").action for _ in range(4)] == [R, R, W, E]


class TestClosingRemembersRisk:
    def test_max_ended_branches_never_closes_a_user_at_risk(self, make_guard: MakeGuard) -> None:
        """Branches end one by one, but the supporting tip stays reachable."""
        conv = make_guard(config={"max_ended_branches": 2}).start()
        hello = conv.send("hello")
        support = conv.send("[crisis] I can't go on", metadata={"n": 1})
        assert support.action is S
        for _ in range(2):
            conv.edit(hello.message_id or "", "[abuse] x")
            conv.request_end(by="user", confirmed=False)  # refused: at risk
            assert not conv.ended()
        assert not conv.closed()
        conv.switch(support.message_id or "")
        assert conv.send("thank you for listening").action is A


class TestFailSafe:
    @pytest.mark.parametrize("on_error", ["ignore", "redirect"])
    def test_a_failed_detector_never_ends_the_turn(
        self, make_guard: MakeGuard, on_error: str
    ) -> None:
        """A turn on which a detector failed redirects instead of ending."""
        conv = make_guard(
            detectors=[scripted(), Flaky()], config={"on_detector_error": on_error}
        ).start()
        assert [conv.send("[abuse] x").action for _ in range(3)] == [R, R, W]
        verdict = conv.send("[abuse] x (down)")
        assert verdict.action is R
        assert not conv.ended()
        assert "fail safe" in verdict.reasons[-1]
        assert verdict.errors[0].detector == "flaky"
        assert conv.send("[abuse] x").action is E  # the classifier is back

    def test_no_assistant_end_right_after_a_failed_turn(self, make_guard: MakeGuard) -> None:
        """The model cannot end on the turn a detector could not read."""
        conv = make_guard(detectors=[scripted(), Flaky()]).start()
        for _ in range(3):
            conv.send("[abuse] x")
        conv.send("whatever (down)")
        conv.reply("Let's move on.")
        refused = conv.request_end(by="assistant", reason="abuse")
        assert refused.message_id is None
        assert "fail safe" in refused.reasons[-1]
        conv.send("whatever")
        assert conv.request_end(by="assistant", reason="abuse").action is E


class TestConcerns:
    def test_a_concern_blocks_ending_without_support(self, make_guard: MakeGuard) -> None:
        """A protective score below the threshold but above concern_threshold."""
        worry = cg.testing.ScriptedDetector({"[worry]": "self_harm_risk"}, score=0.4, name="w")
        conv = make_guard(detectors=[scripted(), worry]).start()
        verdict = conv.send("[worry] giving my things away")
        assert verdict.action is A
        assert verdict.at_risk
        assert "check in gently" in verdict.guidance
        assert "988" not in verdict.guidance  # no crisis resources at this tier
        assert conv.at_risk()
        assert [conv.send("[abuse] x").action for _ in range(5)] == [R] * 5
        assert conv.request_end(by="assistant").message_id is None

    def test_below_the_concern_threshold_counts_nothing(self, make_guard: MakeGuard) -> None:
        """A faint protective score is only reported."""
        faint = cg.testing.ScriptedDetector({"[faint]": "self_harm_risk"}, score=0.1, name="f")
        conv = make_guard(detectors=[scripted(), faint]).start()
        verdict = conv.send("[faint] tired")
        assert not verdict.at_risk
        assert [conv.send("[abuse] x").action for _ in range(4)] == [R, R, W, E]


class TestUserConfirmsEnd:
    def test_a_user_end_needs_confirmation(self, make_guard: MakeGuard) -> None:
        """Without confirmed=True nothing is stored and the model is told to ask."""
        conv = make_guard().start()
        conv.send("please close this chat")
        before = conv.messages()
        asked = conv.request_end(by="user")
        assert asked.message_id is None
        assert conv.messages() == before
        assert "permanent" in asked.guidance
        assert "not confirmed" in asked.reasons[-1]
        assert conv.request_end(by="user", confirmed=True).action is E

    def test_the_step_can_be_switched_off(self, make_guard: MakeGuard) -> None:
        """confirm_user_end=False: the product's own UI confirmed already."""
        conv = make_guard(config={"confirm_user_end": False}).start()
        conv.send("bye")
        assert conv.request_end(by="user").action is E


class TestReplyTo:
    def test_a_reply_lands_under_its_turn(self, make_guard: MakeGuard) -> None:
        """reply(to=verdict.message_id) is stored under that message."""
        conv = make_guard().start()
        verdict = conv.send("hello")
        message = conv.reply("hi!", to=verdict.message_id)
        assert message.parent_id == verdict.message_id

    def test_a_reply_to_a_moved_tip_is_refused(self, make_guard: MakeGuard) -> None:
        """A second tab sent meanwhile: the reply names the turn it lost."""
        conv = make_guard().start()
        first = conv.send("[abuse] x")
        conv.send("second tab")
        before = conv.messages()
        with pytest.raises(cg.StoreConflictError) as caught:
            conv.reply("Let's talk about something else.", redirect=True, to=first.message_id)
        assert caught.value.message_id == first.message_id
        assert repr(first.message_id) in str(caught.value)
        assert conv.messages() == before

    def test_regenerate_checks_the_turn(self, make_guard: MakeGuard) -> None:
        """regenerate(to=...) must answer the same user turn."""
        conv = make_guard().start()
        first = conv.send("hello")
        answer = conv.reply("hi")
        again = conv.regenerate(answer.id, "hello!", to=first.message_id)
        assert again.parent_id == first.message_id
        with pytest.raises(cg.StoreConflictError):
            conv.regenerate(answer.id, "hey", to=answer.id)
        with pytest.raises(cg.InvalidOperationError):
            conv.reply("x", to=5)  # type: ignore[arg-type]


class TestReportRisk:
    def test_the_model_reports_risk(self, make_guard: MakeGuard) -> None:
        """report_risk stores an event with a protective finding; no branch ends."""
        conv = make_guard().start()
        hello = conv.send("hello")
        verdict = conv.report_risk("self_harm_risk", reason="talks about a rope")
        assert verdict.action is S
        assert verdict.at_risk
        assert "988" in verdict.guidance
        event = conv.tip()
        assert event is not None
        assert event.role is Role.EVENT
        assert event.metadata["category"] == "self_harm_risk"
        assert conv.at_risk()
        conv.edit(hello.message_id or "", "[abuse] x")
        assert [conv.send("[abuse] x").action for _ in range(4)] == [R] * 4

    def test_a_report_must_name_a_protective_category(self, make_guard: MakeGuard) -> None:
        """Anything else is the backend's bug."""
        conv = make_guard().start()
        with pytest.raises(cg.InvalidOperationError):
            conv.report_risk("abuse")
        assert conv.messages() == []


class TestPathWindow:
    def test_a_limit_gives_the_last_messages_root_first(self, make_guard: MakeGuard) -> None:
        """path(limit=N) is the last N messages of the active branch, in branch order."""
        conv = make_guard().start(system="Be kind.")
        for i in range(5):
            conv.send(f"question {i}")
            conv.reply(f"answer {i}")
        full = conv.path()
        assert len(full) == 11
        assert conv.path(limit=4) == full[-4:]
        assert conv.path(limit=1) == [conv.tip()]
        assert conv.path(limit=100) == full
        assert conv.path(full[4].id, limit=2) == full[3:5]

    def test_a_limit_follows_the_active_branch(self, make_guard: MakeGuard) -> None:
        """After an edit the window is cut from the new branch, not the old one."""
        conv = make_guard().start()
        first = conv.send("one")
        conv.reply("1")
        conv.send("two")
        conv.edit(first.message_id or "", "uno")
        assert [m.content for m in conv.path(limit=5)] == ["uno"]

    def test_an_empty_conversation_has_an_empty_window(self, make_guard: MakeGuard) -> None:
        """A conversation with no message yet has nothing to show."""
        assert make_guard().start().path(limit=3) == []

    @pytest.mark.parametrize("limit", [0, -1, 2.5, True, "3"])
    def test_a_bad_limit_is_refused(self, make_guard: MakeGuard, limit: Any) -> None:
        """A limit that is not a positive int raises InvalidOperationError."""
        conv = make_guard().start()
        conv.send("hi")
        with pytest.raises(cg.InvalidOperationError, match="limit"):
            conv.path(limit=limit)

    def test_the_openai_prompt_carries_the_turns_guidance(self, make_guard: MakeGuard) -> None:
        """formats.openai.prompt puts system and guidance first, then the window."""
        conv = make_guard().start(system="stored system")
        for i in range(3):
            conv.send(f"q{i}")
            conv.reply(f"a{i}")
        verdict = conv.send("[abuse] shut up")
        window = conv.path(limit=3)
        assert verdict.guidance
        messages = cg.formats.openai.prompt(window, guidance=verdict.guidance, system="Be kind.")
        assert messages == [
            {"role": "system", "content": f"Be kind.\n\n{verdict.guidance}"},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": "a2"},
            {"role": "user", "content": "[abuse] shut up"},
        ]
        assert cg.formats.openai.prompt(window) == messages[1:]

    def test_the_anthropic_prompt_carries_the_turns_guidance(self, make_guard: MakeGuard) -> None:
        """formats.anthropic.prompt joins system, stored system nodes and guidance."""
        conv = make_guard().start(system="stored system")
        conv.send("hello")
        conv.reply("hi")
        verdict = conv.send("[abuse] shut up")
        body = cg.formats.anthropic.prompt(
            conv.path(limit=10), guidance=verdict.guidance, system="Be kind."
        )
        assert body == {
            "system": f"Be kind.\n\nstored system\n\n{verdict.guidance}",
            "messages": [
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "hi"},
                {"role": "user", "content": "[abuse] shut up"},
            ],
        }
        assert "system" not in cg.formats.anthropic.prompt(conv.path(limit=2))

    def test_an_empty_window_is_only_the_system_prompt(self) -> None:
        """No messages give the system prompt alone, or nothing."""
        assert cg.formats.openai.prompt([], system="S") == [{"role": "system", "content": "S"}]
        assert cg.formats.openai.prompt([]) == []
        assert cg.formats.anthropic.prompt([], guidance="G") == {"system": "G", "messages": []}

    def test_anthropic_system_blocks_are_kept_between_system_and_guidance(self) -> None:
        """A stored system node of content blocks stays blocks, with text blocks around it."""
        blocks = [{"type": "text", "text": "stored", "cache_control": {"type": "ephemeral"}}]
        root = cg.Message.child_of(
            None,
            id="s",
            role=Role.SYSTEM,
            content="stored",
            created_at=T,
            state=cg.PolicyState(),
            metadata={"anthropic_content": blocks},
        )
        user = cg.Message.child_of(
            root, id="u", role=Role.USER, content="hi", created_at=T, state=cg.PolicyState()
        )
        body = cg.formats.anthropic.prompt([root, user], guidance="G", system="S")
        assert body["system"] == [
            {"type": "text", "text": "S"},
            *blocks,
            {"type": "text", "text": "G"},
        ]
        assert cg.formats.anthropic.prompt([root, user])["system"] == blocks

    def test_a_prompt_needs_one_branch_root_first(self, make_guard: MakeGuard) -> None:
        """Messages out of branch order are a FormatError, not a scrambled prompt."""
        conv = make_guard().start()
        conv.send("a")
        conv.reply("b")
        with pytest.raises(cg.FormatError, match="one branch"):
            cg.formats.openai.prompt(list(reversed(conv.path())))
        with pytest.raises(cg.FormatError, match=r"conv\.path"):
            cg.formats.anthropic.prompt(["not a message"])  # type: ignore[list-item]


class TestConversationListing:
    def test_conversations_come_newest_activity_first(self, make_guard: MakeGuard) -> None:
        """A conversation written to moves to the top of the list."""
        guard = make_guard()
        first, second, third = (guard.start() for _ in range(3))
        assert guard.conversations().ids == [third.id, second.id, first.id]
        first.send("back again")
        page = guard.conversations()
        assert page.ids == [first.id, third.id, second.id]
        assert page.next is None
        assert page.items[0].title == "back again"
        assert page.items[0].updated_at == first.tip().created_at  # type: ignore[union-attr]

    def test_metadata_filters_and_a_cursor_pages(self, make_guard: MakeGuard) -> None:
        """A user's chats come in pages; following next visits each exactly once."""
        guard = make_guard()
        mine = [guard.start(metadata={"user_id": "u1"}).id for _ in range(5)]
        for _ in range(3):
            guard.start(metadata={"user_id": "u2"})
        seen: list[str] = []
        after = None
        while True:
            page = guard.conversations(metadata={"user_id": "u1"}, limit=2, after=after)
            assert len(page) <= 2
            seen.extend(page.ids)
            if page.next is None:
                break
            after = page.next
        assert seen == mine[::-1]

    def test_a_bad_cursor_is_refused(self, make_guard: MakeGuard) -> None:
        """A cursor no page handed out raises InvalidOperationError."""
        with pytest.raises(cg.InvalidOperationError, match="cursor"):
            make_guard().conversations(after="yesterday")


class TestErasure:
    def test_a_deleted_conversation_is_gone(self, make_guard: MakeGuard) -> None:
        """delete() erases messages and feedback; the id is then unknown everywhere."""
        guard = make_guard()
        conv = guard.start(metadata={"user_id": "u1"})
        other = guard.start(metadata={"user_id": "u1"})
        conv.send("hello")
        conv.feedback("unexpected_end", comment="why?")
        other.send("kept")
        other.feedback("other")
        guard.delete(conv.id)
        with pytest.raises(cg.UnknownConversationError):
            guard.open(conv.id)
        with pytest.raises(cg.UnknownConversationError):
            conv.send("again")
        with pytest.raises(cg.UnknownConversationError):
            guard.delete(conv.id)
        assert guard.conversations(metadata={"user_id": "u1"}).ids == [other.id]
        assert [f.conversation_id for f in guard.feedback()] == [other.id]
        assert other.path()[-1].content == "kept"

    def test_purge_erases_idle_conversations_in_batches(self, make_guard: MakeGuard) -> None:
        """purge() erases what has been idle since the cutoff, reporting progress."""
        guard = make_guard()
        idle = [guard.start() for _ in range(5)]
        for conv in idle:
            conv.feedback("note")
        busy = guard.start()
        busy.send("still here")
        cutoff = guard.conversations(limit=1).items[0].updated_at
        assert cutoff is not None
        seen: list[int] = []
        assert guard.purge(cutoff, batch_size=2, progress=seen.append) == 5
        assert seen == [2, 4, 5]
        assert guard.conversations().ids == [busy.id]
        assert [f.conversation_id for f in guard.feedback()] == []
        assert guard.purge(cutoff) == 0
        later = busy.path()[-1].created_at + timedelta(seconds=1)
        assert guard.purge(later) == 1  # no progress callback: just the count
        assert list(guard.conversations()) == []

    @pytest.mark.parametrize("batch_size", [0, None])
    def test_purge_needs_a_batch_size_and_a_time(
        self, make_guard: MakeGuard, batch_size: Any
    ) -> None:
        """A bad batch size or cutoff raises InvalidOperationError and erases nothing."""
        guard = make_guard()
        conv = guard.start()
        with pytest.raises(cg.InvalidOperationError):
            guard.purge(conv.export().created_at or 0, batch_size=batch_size)  # type: ignore[arg-type]
        with pytest.raises(cg.InvalidOperationError, match="datetime"):
            guard.purge("2020-01-01")  # type: ignore[arg-type]
        assert guard.conversations().ids == [conv.id]
