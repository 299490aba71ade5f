"""``convguard demo``: the walk-through a newcomer runs first."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

import convguard as cg
from convguard._cli import main
from convguard._cli._console import Output
from convguard._cli.cmd_demo import EDIT_MARK, ENDED_MARK, TIP_MARK, draw_tree

_ACTION_LINE = re.compile(r"^  (ALLOW|REDIRECT|WARN|SUPPORT|END)$")


def run_demo(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``convguard demo`` in-process and return what it printed."""
    assert main(["demo", *args]) == 0
    return capsys.readouterr().out


def sections(output: str) -> dict[int, str]:
    """Split plain output into its numbered chapters."""
    parts = re.split(r"^== (\d)\. .*==$", output, flags=re.MULTILINE)
    return {int(number): body for number, body in zip(parts[1::2], parts[2::2], strict=True)}


def actions(text: str) -> list[str]:
    """Return the verdict actions printed in *text*, in order."""
    return [m.group(1) for line in text.splitlines() if (m := _ACTION_LINE.match(line))]


@pytest.fixture
def plain(capsys: pytest.CaptureFixture[str]) -> dict[int, str]:
    """The chapters of ``convguard demo --plain``."""
    return sections(run_demo(capsys, "--plain"))


class TestDemoStory:
    """What the walk-through shows a newcomer."""

    def test_plain_output_reads_in_any_terminal(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With --plain the demo exits 0 and prints only ASCII, in six chapters."""
        output = run_demo(capsys, "--plain")
        assert output.isascii()
        assert sorted(sections(output)) == [1, 2, 3, 4, 5, 6]

    def test_persistent_abuse_is_redirected_warned_then_ended(self, plain: dict[int, str]) -> None:
        """Insults get REDIRECT, REDIRECT, WARN, END, each with its reasons and guidance."""
        chapter = plain[1]
        assert actions(chapter) == ["ALLOW", "REDIRECT", "REDIRECT", "WARN", "END"]
        assert chapter.count("because: terminable: abuse") == 4
        assert "redirections used, warned; end" in chapter
        assert chapter.count("guidance for the model:") == 4
        assert "The insults got: REDIRECT, REDIRECT, WARN, END." in chapter

    def test_message_after_the_end_is_refused(self, plain: dict[int, str]) -> None:
        """The next message raises ConversationEndedError, which lists the ways forward."""
        chapter = plain[2]
        assert "conv.ended() is True" in chapter
        assert "refused: ConversationEndedError:" in chapter
        assert "ways_forward: new_chat, edit, feedback" in chapter

    def test_edit_and_retry_opens_a_live_branch(self, plain: dict[int, str]) -> None:
        """Editing the first insult is allowed and leaves the active branch live."""
        chapter = plain[3]
        assert "(edited)" in chapter
        assert actions(chapter) == ["ALLOW"]
        assert "The active branch is live: conv.ended() is False." in chapter
        rows = [line.split() for line in chapter.splitlines() if re.match(r"^\d\s", line)]
        assert rows == [["1", "9", "True", "False"], ["2", "4", "False", "True"]]

    def test_user_at_risk_is_supported_and_never_ended(self, plain: dict[int, str]) -> None:
        """A crisis disclosure gets SUPPORT; later insults are redirected, never warned or ended."""
        chapter = plain[4]
        assert actions(chapter) == ["ALLOW", "SUPPORT", *["REDIRECT"] * 4, "SUPPORT"]
        assert "protective: self_harm_risk" in chapter
        assert chapter.count("(exempt); redirect, not counted") == 4
        assert "988" in chapter

    def test_assistant_end_request_is_refused_for_a_user_at_risk(
        self, plain: dict[int, str]
    ) -> None:
        """request_end(by='assistant') is refused with the reason, and nothing is stored."""
        chapter = plain[4]
        assert "refused: the user may be at risk of harm" in chapter
        assert "The request is refused; nothing was stored. conv.ended() is False" in chapter
        assert "conv.state().status is supporting" in chapter

    def test_new_chat_and_feedback(self, plain: dict[int, str]) -> None:
        """A new chat is live, and 'unexpected_end' feedback is kept for review."""
        chapter = plain[5]
        assert actions(chapter) == ["ALLOW"]
        assert "stored feedback 'unexpected_end'" in chapter
        assert "now holds 1 record(s)" in chapter

    def test_tree_marks_the_ended_leaf_the_edit_and_the_tip(self, plain: dict[int, str]) -> None:
        """The tree shows the ended leaf, the edit beside the first insult, and the tip."""
        lines = [line for line in plain[6].splitlines() if re.match(r"^ *[|`]", line)]
        ended = [line for line in lines if ENDED_MARK in line]
        edits = [line for line in lines if EDIT_MARK in line]
        tips = [line for line in lines if TIP_MARK in line]
        assert len(ended) == 1
        assert "[END]" in ended[0]
        assert len(edits) == 1
        assert len(tips) == 1
        assert tips[0].lstrip(" |`-").startswith("assistant")
        first_insult = next(line for line in lines if "[REDIRECT]" in line)
        # Siblings: the edit hangs from the same parent as the insult it replaces.
        assert edits[0].index("user") == first_insult.index("user")
        assert lines.index(first_insult) < lines.index(ended[0]) < lines.index(edits[0])

    def test_rich_output_draws_a_tree(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --plain and with rich installed, the story is the same, drawn with rich."""
        pytest.importorskip("rich")
        output = run_demo(capsys)
        assert "└── " in output
        assert ENDED_MARK in output
        for action in ("REDIRECT", "WARN", "END", "SUPPORT"):
            assert f"  {action}\n" in output

    def test_help_lists_the_demo(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`convguard --help` lists demo, and `convguard demo --help` lists --plain."""
        with pytest.raises(SystemExit) as done:
            main(["--help"])
        assert done.value.code == 0
        assert "demo" in capsys.readouterr().out
        with pytest.raises(SystemExit):
            main(["demo", "--help"])
        assert "--plain" in capsys.readouterr().out


class TestDrawTree:
    """The tree drawing the demo ends with."""

    @staticmethod
    def deep_conversation(depth: int) -> cg.Conversation:
        """Return a conversation with one branch of *depth* messages."""
        conv = cg.Guard(detectors=[]).start()
        for number in range(depth // 2):
            conv.send(f"question {number}")
            conv.reply(f"answer {number}")
        return conv

    @pytest.mark.parametrize("plain", [True, False])
    def test_deep_branches_draw_without_recursion_errors(
        self, plain: bool, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A branch deeper than Python's recursion limit still draws."""
        if not plain:
            pytest.importorskip("rich")
        conv = self.deep_conversation(1200)
        tip = conv.tip()
        assert tip is not None
        draw_tree(Output(plain=plain), "deep", conv.messages(), tip_id=tip.id)
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == "deep"
        if plain:  # rich stops once the indentation fills the terminal's width
            assert len(lines) == 1201
            assert "question 599" in lines[-2]
            assert TIP_MARK in lines[-1]

    def test_empty_conversation_draws_its_title(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A conversation with no messages draws just its title."""
        draw_tree(Output(plain=True), "empty", [], tip_id=None)
        assert capsys.readouterr().out == "empty\n"

    def test_several_roots_draw_as_siblings(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Editing the first message gives two roots, drawn as siblings."""
        conv = cg.Guard(detectors=[], clock=lambda: datetime(2026, 1, 1, tzinfo=UTC)).start()
        first = conv.send("hello")
        conv.edit(first.message_id or "", "hello again")
        draw_tree(Output(plain=True), "roots", conv.messages(), tip_id=None)
        assert capsys.readouterr().out.splitlines()[1:] == [
            "|-- user [ALLOW]: hello",
            f"`-- user [ALLOW] {EDIT_MARK}: hello again",
        ]
