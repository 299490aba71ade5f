"""scripts/unasync.py: the sync modules are written from their async sources, and checked."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

import convguard as cg

ROOT = Path(__file__).resolve().parent.parent


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync", ROOT / "scripts" / "unasync.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["unasync"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def unasync() -> ModuleType:
    return load_script()


class TestGenerator:
    def test_the_committed_sync_files_are_what_the_script_writes(self, unasync: ModuleType) -> None:
        """The check `make lint` runs passes on the tree as committed."""
        assert unasync.main(["--check"]) == 0

    @pytest.mark.parametrize(
        ("index", "method"), [(0, "start"), (1, "send"), (2, "tip"), (3, "append")]
    )
    def test_a_hand_edit_of_a_sync_file_fails_the_check(  # noqa: PLR0913 - fixtures
        self,
        unasync: ModuleType,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        index: int,
        method: str,
    ) -> None:
        """An edit made in a generated file, not in its source, is caught with a diff."""
        pair = unasync.PAIRS[index]
        target = tmp_path / pair.target.name
        text = pair.target.read_text(encoding="utf-8")
        target.write_text(text.replace(f"def {method}(", f"def {method}_(", 1), encoding="utf-8")
        pairs = list(unasync.PAIRS)
        pairs[index] = unasync.Pair(pair.source, target, pair.header, pair.subs)
        monkeypatch.setattr(unasync, "PAIRS", tuple(pairs))
        assert unasync.main(["--check"]) == 1
        err = capsys.readouterr().err
        assert f"-    def {method}_(" in err
        assert f"+    def {method}(" in err
        assert "run: python scripts/unasync.py" in err
        assert unasync.main([]) == 0
        assert target.read_text(encoding="utf-8") == text
        target.unlink()
        assert unasync.main(["--check"]) == 1

    def test_rewrites(self, unasync: ModuleType) -> None:
        """Awaits and async names go; imports of a source name its sync twin."""
        source = (
            '"""Doc."""\n'
            "from ._conversation_async import AsyncConversation\n"
            "from .stores._store_async import AsyncStore\n"
            "async def f(self, store: AsyncStore) -> AsyncConversation:\n"
            "    a = await self._guard._store.get(self.id, message_id)\n"
            "    async with lock:\n"
            "        await self.tip()\n"
            "    return AsyncConversation(_AsyncGuardBase, AsyncGuard)\n"
        )
        out = unasync.unasync(unasync.PAIRS[0], source)
        assert "Doc." not in out
        assert out.startswith("# Written by scripts/unasync.py from _front_async.py")
        assert "from ._conversation import Conversation\n" in out
        assert "from .stores._store import Store\n" in out
        assert "def f(self, store: Store) -> Conversation:" in out
        assert "a = self._guard._store.get(self.id, message_id)" in out
        assert "    with lock:\n        self.tip()" in out
        assert "return Conversation(_GuardBase, Guard)" in out

    @pytest.mark.parametrize(
        ("source", "leftover"),
        [
            ('"""Doc."""\nimport asyncio\n', "asyncio"),
            ('"""Doc."""\nx = AsyncThing()\n', "AsyncThing"),
        ],
    )
    def test_what_it_cannot_rewrite_is_refused(
        self, unasync: ModuleType, source: str, leftover: str
    ) -> None:
        """An async name without a rewrite stops the script instead of leaking through."""
        with pytest.raises(SystemExit, match=leftover):
            unasync.unasync(unasync.PAIRS[0], source)

    def test_the_store_protocol_is_written_from_the_async_one(self, unasync: ModuleType) -> None:
        """Every method of AsyncStore is a coroutine; Store has the same ones, plain."""
        from convguard.stores._store_async import AsyncStore

        def methods(cls: type) -> set[str]:
            return {n for n in vars(cls) if not n.startswith("_")}

        assert methods(AsyncStore) == methods(cg.Store)
        assert all(asyncio.iscoroutinefunction(getattr(AsyncStore, n)) for n in methods(AsyncStore))
        assert not any(asyncio.iscoroutinefunction(getattr(cg.Store, n)) for n in methods(cg.Store))
        assert "awaited" not in (cg.Store.__doc__ or "")

    def test_the_source_must_open_with_a_docstring(self, unasync: ModuleType) -> None:
        with pytest.raises(SystemExit, match="module docstring"):
            unasync.unasync(unasync.PAIRS[0], "import attrs\n")


class TestOneShape:
    def test_both_front_ends_have_the_same_public_methods(self) -> None:
        """What one front end offers, the other does too (the reads are methods in both)."""

        def public(cls: type) -> set[str]:
            return {n for n in dir(cls) if not n.startswith("_")}

        assert public(cg.Conversation) == public(cg.AsyncConversation)
        assert public(cg.Guard) == public(cg.AsyncGuard)
        for name in ("tip", "state", "ended", "closed", "at_risk"):
            assert callable(getattr(cg.Conversation, name))

    def test_detector_timeout_is_readable_on_both(self) -> None:
        assert cg.Guard(detectors=[]).detector_timeout is None
        assert cg.Guard(detectors=[], detector_timeout=1.5).detector_timeout == 1.5
        assert cg.AsyncGuard(detectors=[]).detector_timeout == 2.0

    def test_conversations_compare_and_show_alike(self) -> None:
        """Equality, hashing and repr are the same code in both front ends."""
        guard = cg.Guard(detectors=[])
        conv = guard.start(conversation_id="c1")
        assert repr(conv) == "<Conversation 'c1'>"
        assert conv == guard.open("c1")
        assert hash(conv) == hash(guard.open("c1"))
        assert conv != "c1"
        assert conv != cg.Guard(detectors=[], store=guard.store).open("c1")

        async def main() -> None:
            aguard = cg.AsyncGuard(detectors=[])
            aconv = await aguard.start(conversation_id="c1")
            assert repr(aconv) == "<AsyncConversation 'c1'>"
            assert aconv == await aguard.open("c1")
            assert aconv != conv

        asyncio.run(main())
