"""Feedback for operators: unexpected-end reports with the verdicts of their branch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import convguard as cg
from convguard._cli import main
from convguard._feedback import FeedbackReview, format_reviews, review_feedback
from convguard.testing import MARKERS, FakeClock, ScriptedDetector


def _ended(conv: cg.Conversation) -> None:
    for _ in range(4):
        conv.send("[abuse] again")


class TestReview:
    """review_feedback() against any store."""

    def test_unexpected_end_with_its_branch(self, guard: cg.Guard) -> None:
        """Each report comes with the actions and reasons of the branch it is about."""
        conv = guard.start()
        _ended(conv)
        conv.feedback("unexpected_end", comment="I was quoting a film")
        conv.feedback("thumbs_up")
        [review] = review_feedback(guard.store)
        assert review.feedback.comment == "I was quoting a film"
        assert review.ended
        actions = [verdict.action for _, verdict in review.turns]
        assert actions == [
            cg.Action.REDIRECT,
            cg.Action.REDIRECT,
            cg.Action.WARN,
            cg.Action.END,
        ]
        assert "rule 2: 3 of 3 redirections used, warned; end" in review.turns[-1][1].reasons

    def test_every_kind_and_one_conversation(self, guard: cg.Guard) -> None:
        """kind=None lists every kind; conversation_id narrows to one chat."""
        first, second = guard.start(), guard.start()
        first.send("hi")
        first.feedback("thumbs_up")
        second.feedback("unexpected_end")
        assert len(review_feedback(guard.store, None)) == 2
        [only] = review_feedback(guard.store, None, conversation_id=first.id)
        assert only.feedback.kind == "thumbs_up"
        assert not only.ended

    def test_feedback_about_no_message(self, guard: cg.Guard) -> None:
        """Feedback on an empty chat has an empty branch."""
        conv = guard.start()
        conv.feedback("unexpected_end")
        [review] = review_feedback(guard.store)
        assert review.path == ()
        assert not review.ended
        assert "branch: (not found)" in format_reviews([review])

    def test_feedback_on_a_message_the_store_lost(self) -> None:
        """A report naming a message the store no longer has still lists, without a branch."""
        store = cg.MemoryStore()
        guard = cg.Guard([], store=store)
        conv = guard.start()
        conv.send("hi")
        record = conv.feedback("unexpected_end")

        class Forgetful:
            def __getattr__(self, name: str) -> Any:
                return getattr(store, name)

            def ancestors(self, *args: Any) -> Any:
                raise cg.UnknownMessageError(conv.id, record.message_id or "")

        forgetful: Any = Forgetful()
        if not isinstance(forgetful, cg.Store):
            pytest.skip("the Store protocol needs real attributes")
        assert review_feedback(forgetful)[0].path == ()

    def test_not_a_store(self) -> None:
        """Something that is not a store is refused with a clear error."""
        with pytest.raises(cg.InvalidOperationError, match="takes a store"):
            review_feedback("db.sqlite")  # type: ignore[arg-type]


class TestFormat:
    """The text an operator reads."""

    def test_text(self, guard: cg.Guard) -> None:
        """Each report shows kind, comment, branch state, and each turn with its reasons."""
        conv = guard.start()
        _ended(conv)
        conv.feedback("unexpected_end", comment="please look")
        text = format_reviews(review_feedback(guard.store))
        assert text.startswith(f"unexpected_end on conversation {conv.id} at ")
        assert "  comment: please look" in text
        assert "  branch: ended" in text
        assert "  - user '[abuse] again': warn" in text
        assert "      rule 2: redirection 3 of 3 is the last; warn" in text

    def test_events_and_no_comment(self, guard: cg.Guard) -> None:
        """A user-requested end shows as an event; a missing comment says so."""
        conv = guard.start()
        conv.send("a very long message " * 10)
        conv.request_end(by="user", reason="done", confirmed=True)
        conv.feedback("unexpected_end")
        text = format_reviews(review_feedback(guard.store))
        assert "  comment: (none)" in text
        assert '  - event "conversation ended at the user\'s request: done": end' in text
        assert "…" in text

    def test_nothing_to_review(self) -> None:
        """No feedback prints one line saying so."""
        assert format_reviews([]) == "no feedback\n"
        assert isinstance(FeedbackReview, type)


def _sqlite(path: Path) -> Any:
    sqlite = pytest.importorskip("convguard.stores._sqlite")
    return sqlite.SQLiteStore(str(path))


class TestCommand:
    """`convguard feedback DB`."""

    def test_lists_reports_from_a_sqlite_database(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The command reads a SQLite database and prints each report with its branch."""
        db = tmp_path / "chats.db"
        store = _sqlite(db)
        guard = cg.Guard([ScriptedDetector(MARKERS)], store=store, clock=FakeClock())
        conv = guard.start()
        _ended(conv)
        conv.feedback("unexpected_end", comment="I was joking")
        conv.feedback("thumbs_down")
        store.close()
        assert main(["feedback", str(db)]) == 0
        out = capsys.readouterr().out
        assert "unexpected_end on conversation" in out
        assert "comment: I was joking" in out
        assert "thumbs_down" not in out
        assert main(["feedback", str(db), "--all", "--conversation", conv.id]) == 0
        assert "thumbs_down" in capsys.readouterr().out
        assert main(["feedback", str(db), "--kind", "other"]) == 0
        assert capsys.readouterr().out == "no feedback\n"

    def test_missing_database(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A path with no database exits 2 and creates nothing."""
        db = tmp_path / "nope.db"
        assert main(["feedback", str(db)]) == 2
        assert "no database" in capsys.readouterr().err
        assert not db.exists()
