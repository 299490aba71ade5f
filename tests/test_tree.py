"""The conversation tree: append-only, O(1) forks, branches and paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import convguard as cg
from convguard import ConversationTree, Message, PolicyState, Role, Status

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LIVE = PolicyState()
ENDED = PolicyState(status=Status.ENDED)


def node(
    node_id: str,
    parent: Message | None = None,
    *,
    role: Role = Role.USER,
    state: PolicyState = LIVE,
) -> Message:
    return Message.child_of(
        parent, id=node_id, role=role, content=f"text of {node_id}", created_at=T0, state=state
    )


@pytest.fixture
def tree() -> ConversationTree:
    """root -> a -> b, and root -> c (an edit of a)."""
    tree = ConversationTree("c1")
    root = node("root", role=Role.SYSTEM)
    a = node("a", root)
    tree.add(root)
    tree.add(a)
    tree.add(node("b", a, role=Role.ASSISTANT))
    tree.add(node("c", root))
    return tree


class TestAdd:
    def test_add_moves_the_tip(self, tree: ConversationTree) -> None:
        """A new node becomes the tip unless asked otherwise."""
        assert tree.tip_id == "c"
        tree.add(node("d", tree.get("c")), move_tip=False)
        assert tree.tip_id == "c"
        assert len(tree) == 5
        assert "d" in tree

    def test_duplicate_id(self, tree: ConversationTree) -> None:
        """An id can be used once."""
        with pytest.raises(cg.InvalidOperationError, match="already"):
            tree.add(node("a"))
        assert len(tree) == 4

    def test_missing_parent(self, tree: ConversationTree) -> None:
        """The parent must be in the tree."""
        orphan = Message(
            id="x",
            parent_id="nope",
            role=Role.USER,
            content="t",
            created_at=T0,
            state=LIVE,
            depth=1,
        )
        with pytest.raises(cg.UnknownMessageError):
            tree.add(orphan)
        assert "x" not in tree

    def test_ended_parent_refused(self, tree: ConversationTree) -> None:
        """Invariant 1: no node is ever added under an ended node."""
        end = node("end", tree.get("b"), state=ENDED)
        tree.add(end)
        assert tree.ended_branches == 1
        with pytest.raises(cg.ConversationEndedError) as caught:
            tree.add(node("after", end))
        assert caught.value.message_id == "end"
        assert "after" not in tree

    def test_wrong_depth(self, tree: ConversationTree) -> None:
        """A node's depth must be its parent's plus one."""
        bad = Message(
            id="x", parent_id="a", role=Role.USER, content="t", created_at=T0, state=LIVE, depth=7
        )
        with pytest.raises(cg.InvalidOperationError, match="depth"):
            tree.add(bad)


class TestEditing:
    def test_append_answers_the_tip(self, tree: ConversationTree) -> None:
        """append() takes a child of the tip only."""
        tree.append(node("d", tree.get("c"), role=Role.ASSISTANT))
        assert tree.tip_id == "d"
        with pytest.raises(cg.InvalidOperationError, match="tip"):
            tree.append(node("e", tree.get("a")))

    def test_edit_adds_a_user_sibling(self, tree: ConversationTree) -> None:
        """edit() keeps the original and adds a sibling under the same parent."""
        tree.edit("a", node("a2", tree.get("root")))
        assert [m.id for m in tree.children("root")] == ["a", "c", "a2"]
        with pytest.raises(cg.InvalidOperationError, match="user"):
            tree.edit("b", node("b2", tree.get("a")))
        with pytest.raises(cg.InvalidOperationError, match="sibling"):
            tree.edit("a", node("a3", tree.get("a")))

    def test_regenerate_adds_an_assistant_sibling(self, tree: ConversationTree) -> None:
        """regenerate() works on assistant messages only."""
        tree.regenerate("b", node("b2", tree.get("a"), role=Role.ASSISTANT))
        assert tree.tip_id == "b2"
        with pytest.raises(cg.InvalidOperationError, match="assistant"):
            tree.regenerate("a", node("x", tree.get("root"), role=Role.ASSISTANT))


class TestRead:
    def test_path_from_the_root(self, tree: ConversationTree) -> None:
        """path() walks from the root to the tip or a given node."""
        assert [m.id for m in tree.path()] == ["root", "c"]
        assert [m.id for m in tree.path("b")] == ["root", "a", "b"]
        assert ConversationTree().path() == []

    def test_ancestors_are_bounded(self, tree: ConversationTree) -> None:
        """ancestors(limit) reads at most limit nodes, nearest first."""
        assert [m.id for m in tree.ancestors("b", 2)] == ["b", "a"]

    def test_children_and_leaves(self, tree: ConversationTree) -> None:
        """Children keep their order; leaves are nodes without children."""
        assert [m.id for m in tree.children("root")] == ["a", "c"]
        assert [m.id for m in tree.children(None)] == ["root"]
        assert [m.id for m in tree.leaves()] == ["b", "c"]
        with pytest.raises(cg.UnknownMessageError):
            tree.children("nope")

    def test_branches_mark_the_active_one(self, tree: ConversationTree) -> None:
        """Each leaf is a branch; the one holding the tip is active."""
        assert tree.branches() == [
            cg.Branch("b", ended=False, length=3, active=False),
            cg.Branch("c", ended=False, length=2, active=True),
        ]

    def test_an_inner_tip_activates_the_leaves_below(self, tree: ConversationTree) -> None:
        """With the tip on an inner node, every branch through it is active."""
        tree.switch("root")
        assert [b.active for b in tree.branches()] == [True, True]
        assert tree.tip == tree.get("root")

    def test_unknown_ids(self, tree: ConversationTree) -> None:
        """Unknown ids raise UnknownMessageError naming the conversation."""
        with pytest.raises(cg.UnknownMessageError) as caught:
            tree.get("nope")
        assert caught.value.conversation_id == "c1"
        with pytest.raises(cg.UnknownMessageError):
            tree.switch("nope")

    def test_iteration_and_repr(self, tree: ConversationTree) -> None:
        """Iteration yields parents before children; the repr shows size and tip."""
        assert [m.id for m in tree] == ["root", "a", "b", "c"]
        assert "messages=4" in repr(tree)


class TestMessage:
    def test_messages_are_frozen_and_hashable(self) -> None:
        """A message cannot change; its metadata is read-only."""
        message = Message.child_of(
            None,
            id="m",
            role=Role.USER,
            content="hi",
            created_at=T0,
            state=LIVE,
            metadata={"k": [1]},
        )
        with pytest.raises(AttributeError):
            message.content = "changed"  # type: ignore[misc]
        with pytest.raises(TypeError):
            message.metadata["k"] = 2  # type: ignore[index]
        same = Message.child_of(
            None, id="m", role=Role.USER, content="hi", created_at=T0, state=LIVE
        )
        assert hash(message) == hash(same)
        assert not message.ended

    def test_child_of_takes_parent_id_and_depth_from_the_parent(self) -> None:
        """child_of(None) builds a root; child_of(parent) the node right under it."""
        root = Message.child_of(
            None, id="r", role=Role.SYSTEM, content="be kind", created_at=T0, state=LIVE
        )
        assert (root.parent_id, root.depth, root.verdict, root.metadata) == (None, 0, None, {})
        child = Message.child_of(
            root, id="u", role=Role.USER, content="hi", created_at=T0, state=ENDED
        )
        grandchild = Message.child_of(
            child, id="a", role=Role.ASSISTANT, content="ok", created_at=T0, state=LIVE
        )
        assert (child.parent_id, child.depth, child.ended) == ("r", 1, True)
        assert (grandchild.parent_id, grandchild.depth) == ("u", 2)
        tree = ConversationTree()
        tree.add(root)
        tree.add(child)
        assert tree.path() == [root, child]

    def test_forks_share_their_ancestors(self, tree: ConversationTree) -> None:
        """Two branches reuse the same ancestor objects: nothing is copied."""
        assert tree.path("b")[0] is tree.path("c")[0]
