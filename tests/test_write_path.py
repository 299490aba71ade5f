"""The write path: a handle's own last write saves the next turn a read of the head.

These classes also run on ``AsyncGuard`` (``test_aio.py`` picks them up).
"""

from __future__ import annotations

from typing import Any

import pytest

import convguard as cg
from tests.conftest import MakeGuard

A = cg.Action


class CountingStore:
    """A MemoryStore that counts the head and history reads the guard makes."""

    def __init__(self) -> None:
        self.inner = cg.MemoryStore()
        self.heads = 0
        self.walks = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def head(self, conversation_id: str) -> cg.stores.Head:
        self.heads += 1
        return self.inner.head(conversation_id)

    def ancestors(
        self, conversation_id: str, message_id: str, limit: int | None = None
    ) -> list[cg.Message]:
        self.walks += 1
        return self.inner.ancestors(conversation_id, message_id, limit)


class HistoryRecorder:
    """A multi-turn detector: reads the history window, records what it saw."""

    name = "history"

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def detect(self, text: str, context: cg.DetectionContext) -> list[cg.Finding]:
        self.seen.append([m.content for m in context.history])
        return []


class TestKnownHead:
    def test_a_reply_after_a_send_does_not_read_the_head_again(self, make_guard: MakeGuard) -> None:
        """A whole turn reads the head once: the reply starts from what the send wrote."""
        store = CountingStore()
        conv = make_guard(store=store).start()
        store.heads = 0
        verdict = conv.send("hello")
        conv.reply("hi there", to=verdict.message_id)
        assert store.heads == 1
        conv.send("and again")  # the next send starts from the reply's write
        assert store.heads == 1
        assert [m.content for m in conv.path()] == ["hello", "hi there", "and again"]

    def test_the_next_turn_s_history_is_what_the_handle_wrote(self, make_guard: MakeGuard) -> None:
        """The history window is read once; later turns extend it, and see the same."""
        store = CountingStore()
        recorder = HistoryRecorder()
        conv = make_guard(store=store, detectors=[recorder], history_window=3).start(system="sys")
        for turn in ("one", "two", "three"):
            conv.send(turn)
            conv.reply(f"re {turn}")
        assert store.walks == 1  # the first turn's
        assert recorder.seen == [
            ["sys"],
            ["sys", "one", "re one"],
            ["re one", "two", "re two"],
        ]
        # A fresh handle reads the store and sees the same window.
        fresh = make_guard(store=store, detectors=[recorder], history_window=3).open(conv.id)
        fresh.send("four")
        assert recorder.seen[-1] == ["two", "re two", "three", "re three"][-3:]
        assert store.walks == 2

    def test_an_edit_reads_the_history_of_its_own_branch(self, make_guard: MakeGuard) -> None:
        """Editing an earlier message: its parent's history, not the tip's."""
        recorder = HistoryRecorder()
        conv = make_guard(detectors=[recorder]).start()
        first = conv.send("one")
        conv.reply("re one")
        conv.send("two")
        conv.reply("re two")
        conv.edit(first.message_id or "", "one, edited")
        conv.send("after the edit")
        assert recorder.seen[-2:] == [[], ["one, edited"]]

    def test_another_writer_in_between_is_seen(self, make_guard: MakeGuard) -> None:
        """A stale guess fails its compare-and-set; the write is redone on a fresh head."""
        guard = make_guard()
        mine = guard.start()
        mine.send("hello")
        theirs = guard.open(mine.id)
        theirs.reply("their answer")
        mine.reply("my answer")  # no `to`: it goes under the tip as it is now
        assert [m.content for m in mine.path()] == ["hello", "their answer", "my answer"]

    def test_a_reply_to_a_moved_tip_is_refused(self, make_guard: MakeGuard) -> None:
        """With `to`, a reply whose turn another writer moved on is not stored."""
        guard = make_guard()
        mine = guard.start()
        verdict = mine.send("hello")
        guard.open(mine.id).send("a second tab")
        with pytest.raises(cg.StoreConflictError) as caught:
            mine.reply("late answer", to=verdict.message_id)
        assert caught.value.message_id == verdict.message_id
        assert all(m.content != "late answer" for m in mine.messages())

    def test_an_end_written_by_another_worker_is_respected(self, make_guard: MakeGuard) -> None:
        """The guess says live, the store says ended: the send is refused, nothing stored."""
        guard = make_guard()
        mine = guard.start()
        mine.send("hello")
        assert guard.open(mine.id).request_end(by="user", confirmed=True).action is A.END
        with pytest.raises(cg.ConversationEndedError):
            mine.send("still there?")
        assert all(m.content != "still there?" for m in mine.messages())

    def test_a_refusal_is_not_judged_on_a_guess(self, make_guard: MakeGuard) -> None:
        """A request that writes nothing proves no head: it is checked on a fresh one."""
        guard = make_guard()
        mine = guard.start()
        mine.send("hello")
        assert guard.open(mine.id).request_end(by="user", confirmed=True).action is A.END
        # Unconfirmed, this is refused without a write on the live head the
        # handle remembers; the store's head says the branch has ended.
        with pytest.raises(cg.ConversationEndedError):
            mine.request_end(by="user")

    def test_a_tool_call_is_not_judged_on_a_guess(self, make_guard: MakeGuard) -> None:
        """The model's end request after another worker ended the branch: ended, as fresh."""
        guard = make_guard()
        mine = guard.start()
        mine.send("hello")
        assert guard.open(mine.id).request_end(by="user", confirmed=True).action is A.END
        with pytest.raises(cg.ConversationEndedError):
            mine.handle_tool_call("end_conversation", '{"reason": "abuse"}')

    def test_a_switch_forgets_the_guess(self, make_guard: MakeGuard) -> None:
        """After a switch to an ended branch, an end request there is refused as ended."""
        conv = make_guard(config={"max_redirections": 0, "warn_before_end": False}).start()
        ended = conv.send("[abuse] again")
        assert ended.action is A.END
        conv.edit(ended.message_id or "", "hello there")
        conv.switch(ended.message_id or "")
        with pytest.raises(cg.ConversationEndedError):
            conv.request_end(by="user")

    def test_the_head_a_write_leaves_carries_the_risk_record(self, make_guard: MakeGuard) -> None:
        """After a disclosure, writes that start from the guessed head still never end."""
        conv = make_guard().start()
        first = conv.send("hello")
        conv.reply("hi")
        assert conv.send("[crisis] I can't go on").action is A.SUPPORT
        # A new branch without the disclosure on its path; every write below
        # starts from the head the one before it left.
        conv.edit(first.message_id or "", "[abuse] x")
        for _ in range(6):
            conv.reply("let's keep it civil")
            assert conv.send("[abuse] x").action is not A.END
        assert conv.at_risk()
