"""AsyncGuard and AsyncConversation: the behaviour tests of Guard, and what async adds.

Every behaviour class of ``tests/test_guard.py`` runs here again against
``AsyncGuard``, through a small synchronous facade that runs each coroutine on
one event loop kept for the test.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

import convguard as cg
import tests.test_guard as behaviour
import tests.test_tools as tools_behaviour
import tests.test_write_path as write_path
from convguard._aio import AsyncConversation, AsyncGuard
from convguard._store_threads import StoreInThreads
from convguard.stores import SQLiteStore
from convguard.stores._base import ConversationPage, Feedback
from tests.conftest import MakeGuard, StepClock, counter_ids, scripted

_T = TypeVar("_T")
A, R, W, S, E = (
    cg.Action.ALLOW,
    cg.Action.REDIRECT,
    cg.Action.WARN,
    cg.Action.SUPPORT,
    cg.Action.END,
)


class Runner:
    """Runs coroutines to completion on one event loop.

    Called from a worker thread while the loop is busy (a store hook staging a
    race), it hands the coroutine to the loop and waits for it there.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __call__(self, coro: Coroutine[Any, Any, _T]) -> _T:
        if self.loop.is_running():
            return asyncio.run_coroutine_threadsafe(coro, self.loop).result()
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


class SyncConversation:
    """The sync face of an AsyncConversation, shaped like ``cg.Conversation``."""

    def __init__(self, run: Runner, conv: AsyncConversation) -> None:
        self._run = run
        self.inner = conv
        self.id = conv.id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SyncConversation) and self.inner == other.inner

    def __hash__(self) -> int:
        return hash(self.inner)

    def tip(self) -> cg.Message | None:
        return self._run(self.inner.tip())

    def state(self) -> cg.PolicyState:
        return self._run(self.inner.state())

    def ended(self) -> bool:
        return self._run(self.inner.ended())

    def closed(self) -> bool:
        return self._run(self.inner.closed())

    def at_risk(self) -> bool:
        return self._run(self.inner.at_risk())

    def get(self, message_id: str) -> cg.Message:
        return self._run(self.inner.get(message_id))

    def path(self, message_id: str | None = None, *, limit: int | None = None) -> list[cg.Message]:
        return self._run(self.inner.path(message_id, limit=limit))

    def messages(self) -> list[cg.Message]:
        return self._run(self.inner.messages())

    def tree(self) -> cg.ConversationTree:
        return self._run(self.inner.tree())

    def branches(self) -> list[cg.Branch]:
        return self._run(self.inner.branches())

    def send(self, text: str, **kwargs: Any) -> cg.Verdict:
        return self._run(self.inner.send(text, **kwargs))

    def edit(self, message_id: str, text: str, **kwargs: Any) -> cg.Verdict:
        return self._run(self.inner.edit(message_id, text, **kwargs))

    def reply(self, text: str, **kwargs: Any) -> cg.Message:
        return self._run(self.inner.reply(text, **kwargs))

    def add(self, role: str, text: str, **kwargs: Any) -> cg.Message:
        return self._run(self.inner.add(role, text, **kwargs))

    def regenerate(self, message_id: str, text: str, **kwargs: Any) -> cg.Message:
        return self._run(self.inner.regenerate(message_id, text, **kwargs))

    def switch(self, message_id: str) -> cg.Message:
        return self._run(self.inner.switch(message_id))

    def request_end(self, **kwargs: Any) -> cg.Verdict:
        return self._run(self.inner.request_end(**kwargs))

    def report_risk(self, category: str, **kwargs: Any) -> cg.Verdict:
        return self._run(self.inner.report_risk(category, **kwargs))

    def handle_tool_call(self, call: Any, arguments: Any = None, **kwargs: Any) -> cg.ToolResult:
        return self._run(self.inner.handle_tool_call(call, arguments, **kwargs))

    def feedback(self, kind: str, **kwargs: Any) -> Feedback:
        return self._run(self.inner.feedback(kind, **kwargs))

    def export(self) -> cg.ConversationRecord:
        return self._run(self.inner.export())


class SyncGuard:
    """The sync face of an AsyncGuard, shaped like ``cg.Guard``."""

    def __init__(self, run: Runner, guard: AsyncGuard) -> None:
        self._run = run
        self.inner = guard

    @property
    def policy(self) -> cg.Policy:
        return self.inner.policy

    @property
    def store(self) -> cg.Store:
        store = self.inner.store
        if isinstance(store, AwaitedStore):
            return store.inner  # the tests read it directly, without awaiting
        assert isinstance(store, cg.Store)
        return store

    @property
    def detectors(self) -> tuple[Any, ...]:
        return self.inner.detectors

    def start(self, **kwargs: Any) -> SyncConversation:
        return SyncConversation(self._run, self._run(self.inner.start(**kwargs)))

    def open(self, conversation_id: str) -> SyncConversation:
        return SyncConversation(self._run, self._run(self.inner.open(conversation_id)))

    def conversations(self, **kwargs: Any) -> ConversationPage:
        return self._run(self.inner.conversations(**kwargs))

    def delete(self, conversation_id: str) -> None:
        self._run(self.inner.delete(conversation_id))

    def purge(self, older_than: datetime, **kwargs: Any) -> int:
        return self._run(self.inner.purge(older_than, **kwargs))

    def feedback(self, conversation_id: str | None = None) -> list[Feedback]:
        return self._run(self.inner.feedback(conversation_id))

    def replay(self, record: cg.ConversationRecord) -> cg.Replay:
        return self._run(self.inner.replay(record))

    def import_record(
        self, record: cg.ConversationRecord, *, evaluate: bool = False
    ) -> SyncConversation:
        conv = self._run(self.inner.import_record(record, evaluate=evaluate))
        return SyncConversation(self._run, conv)


@pytest.fixture
def runner() -> Iterator[Runner]:
    """One event loop for the test."""
    run = Runner()
    yield run
    run.close()


def build_async_guard(**kwargs: Any) -> AsyncGuard:
    """Build a deterministic AsyncGuard, as ``conftest.build_guard`` builds a Guard."""
    kwargs.setdefault("detectors", [scripted()])
    kwargs.setdefault("clock", StepClock())
    kwargs.setdefault("ids", counter_ids())
    config = kwargs.pop("config", None)
    if config is not None:
        kwargs["policy"] = cg.LastResortPolicy(cg.PolicyConfig(**config))
    return AsyncGuard(**kwargs)


class OnAsyncGuard:
    """Mixin: the ``make_guard`` fixture builds AsyncGuards behind the sync facade."""

    @pytest.fixture
    def make_guard(self, runner: Runner) -> MakeGuard:
        """Build AsyncGuards wrapped to look like Guards."""

        def make(**kwargs: Any) -> cg.Guard:
            return cast("cg.Guard", SyncGuard(runner, build_async_guard(**kwargs)))

        return make


class AwaitedStore:
    """A sync store behind the AsyncStore protocol, each call yielding to the loop first.

    The way a store with native asyncio I/O (``AsyncPostgresStore``) is
    awaited: no worker thread, a suspension at every call.
    """

    def __init__(self, inner: cg.Store | None = None) -> None:
        self.inner = cg.MemoryStore() if inner is None else inner
        self.threads: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.inner, name)

        async def awaited(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            self.threads.add(threading.get_ident())
            if isinstance(self.inner, cg.MemoryStore):
                return call(*args, **kwargs)
            # A test's store that stages a race by calling the guard from
            # inside a store call must not run on the loop it waits for.
            return await asyncio.to_thread(call, *args, **kwargs)

        return awaited


class OnAsyncGuardWithAwaitedStore:
    """Mixin: as :class:`OnAsyncGuard`, on an AsyncStore awaited without threads."""

    @pytest.fixture
    def make_guard(self, runner: Runner) -> MakeGuard:
        """Build AsyncGuards on awaited stores, wrapped to look like Guards."""

        def make(**kwargs: Any) -> cg.Guard:
            kwargs["store"] = AwaitedStore(kwargs.get("store"))
            return cast("cg.Guard", SyncGuard(runner, build_async_guard(**kwargs)))

        return make


class OnAsyncGuardWithSQLite:
    """Mixin: as :class:`OnAsyncGuard`, on a SQLite store called through worker threads."""

    @pytest.fixture
    def make_guard(self, runner: Runner, tmp_path: Path) -> Iterator[MakeGuard]:
        """Build AsyncGuards on fresh SQLite files, wrapped to look like Guards."""
        stores: list[SQLiteStore] = []

        def make(**kwargs: Any) -> cg.Guard:
            if "store" not in kwargs:
                stores.append(SQLiteStore(tmp_path / f"chats-{len(stores)}.db"))
                kwargs["store"] = stores[-1]
            return cast("cg.Guard", SyncGuard(runner, build_async_guard(**kwargs)))

        yield make
        for store in stores:
            store.close()


# Every behaviour class of test_guard.py and test_write_path.py, again on
# AsyncGuard (in memory, and on SQLite through threads); new classes join by
# themselves.
for _name, _cls in [*vars(behaviour).items(), *vars(write_path).items()]:
    if _name.startswith("Test") and isinstance(_cls, type):
        for _mixin, _suffix in (
            (OnAsyncGuard, "OnAsyncGuard"),
            (OnAsyncGuardWithSQLite, "OnAsyncSQLite"),
            (OnAsyncGuardWithAwaitedStore, "OnAwaitedStore"),
        ):
            globals()[f"{_name}{_suffix}"] = type(f"{_name}{_suffix}", (_mixin, _cls), {})

# The tool-call classes of test_tools.py that take a conversation, again on AsyncGuard.
for _cls in tools_behaviour.CONVERSATION_CLASSES:
    _name = f"{_cls.__name__}OnAsyncGuard"
    globals()[_name] = type(_name, (OnAsyncGuard, _cls), {})


# -- what is particular to AsyncGuard --------------------------------------------


class Hanging:
    """An async detector that awaits an event nobody sets."""

    name = "hanging"

    async def adetect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        await asyncio.Event().wait()
        return []  # pragma: no cover - never reached


class Yielding:
    """An async scripted detector that yields to the loop first, so turns interleave."""

    name = "yielding"

    async def adetect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        await asyncio.sleep(0)
        return scripted().detect(text, context)


class HistoryRecorder:
    """Records the history each turn saw."""

    name = "history"

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    async def adetect(self, text: str, context: cg.DetectionContext) -> Sequence[cg.Finding]:
        self.seen.append([m.content for m in context.history])
        return []


class TestTimeouts:
    def test_a_hanging_detector_is_cut_off_and_the_turn_completes(self) -> None:
        """The turn is judged and stored; the timeout is on verdict.errors."""

        async def main() -> tuple[cg.Verdict, list[cg.Message]]:
            guard = build_async_guard(detectors=[Hanging(), scripted()], detector_timeout=0.01)
            conv = await guard.start()
            verdict = await conv.send("[abuse] hello")
            return verdict, await conv.path()

        verdict, path = asyncio.run(main())
        assert verdict.action is R
        assert [(e.detector, e.kind) for e in verdict.errors] == [("hanging", "timeout")]
        assert path[-1].id == verdict.message_id
        assert any("timeout" in reason for reason in verdict.reasons)

    def test_threaded_sync_detectors(self) -> None:
        """sync_detectors='thread' runs sync detectors off the loop; verdicts are the same."""

        async def main() -> list[cg.Action]:
            guard = build_async_guard(sync_detectors="thread")
            conv = await guard.start()
            return [(await conv.send("[abuse] x")).action for _ in range(4)]

        assert asyncio.run(main()) == [R, R, W, E]

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"detector_timeout": 0}, "detector_timeout"),
            ({"sync_detectors": "fork"}, "sync_detectors"),
            ({"blocking_store": "yes"}, "blocking_store"),
            ({"store": object()}, "Store"),
            ({"detectors": [object()]}, "name"),
        ],
    )
    def test_bad_options(self, kwargs: dict[str, Any], match: str) -> None:
        """Bad options are refused at construction with a ConfigurationError."""
        with pytest.raises(cg.ConfigurationError, match=match):
            build_async_guard(**kwargs)


class TestStores:
    def test_memory_store_is_called_directly_others_in_threads(self) -> None:
        """The default decides by type; it can be forced either way."""

        def blocking(guard: cg.AsyncGuard) -> bool:
            store = guard._store
            assert isinstance(store, StoreInThreads)
            return store.blocking

        assert not blocking(build_async_guard())
        assert blocking(build_async_guard(store=behaviour.HookedStore()))
        assert blocking(build_async_guard(blocking_store=True))
        assert not blocking(build_async_guard(store=behaviour.HookedStore(), blocking_store=False))

    def test_an_async_store_is_awaited_in_the_event_loop(self) -> None:
        """An AsyncStore is used as it is: no wrapper, no worker thread."""
        store = AwaitedStore()

        async def main() -> int:
            guard = build_async_guard(store=store, blocking_store=True)
            assert guard.store is store
            assert guard._store is store
            conv = await guard.start()
            verdict = await conv.send("hello")
            await conv.reply("hi", to=verdict.message_id)
            assert [m.content for m in await conv.path()] == ["hello", "hi"]
            return threading.get_ident()

        assert store.threads == {asyncio.run(main())}

    def test_the_sync_guard_refuses_an_async_store(self) -> None:
        """Guard cannot await: an AsyncStore is a ConfigurationError that says where it goes."""
        with pytest.raises(cg.ConfigurationError, match=r"AsyncStore.*AsyncGuard"):
            cg.Guard(store=AwaitedStore())

    def test_neither_protocol_is_refused(self) -> None:
        with pytest.raises(cg.ConfigurationError, match="Store protocol"):
            build_async_guard(store=object())

    @pytest.mark.parametrize("blocking", [False, True, "awaited"])
    def test_history_is_the_same_either_way(self, blocking: bool | str) -> None:
        """Detectors see the same history whether the store blocks, or is awaited, or not."""
        recorder = HistoryRecorder()

        async def main() -> None:
            options: dict[str, Any] = (
                {"store": AwaitedStore()} if blocking == "awaited" else {"blocking_store": blocking}
            )
            guard = build_async_guard(detectors=[recorder], history_window=2, **options)
            conv = await guard.start(system="sys")
            await conv.send("one")
            await conv.reply("two")
            await conv.send("three")

        asyncio.run(main())
        assert recorder.seen == [["sys"], ["one", "two"]]

    def test_no_history_window(self) -> None:
        """history_window=0 gives detectors no history."""
        recorder = HistoryRecorder()

        async def main() -> None:
            conv = await build_async_guard(detectors=[recorder], history_window=0).start()
            await conv.send("one")
            await conv.send("two")

        asyncio.run(main())
        assert recorder.seen == [[], []]


class TestConcurrency:
    @pytest.mark.parametrize("blocking", [False, True])
    def test_racing_sends_never_land_under_an_end(self, blocking: bool) -> None:
        """Invariant 1 under concurrent writers: one END lands, the rest are refused."""

        async def main() -> tuple[list[object], list[cg.Message]]:
            guard = build_async_guard(detectors=[Yielding()], blocking_store=blocking)
            conv = await guard.start()
            for _ in range(3):
                await conv.send("[abuse] x")
            racers = [guard.open(conv.id) for _ in range(6)]
            opened = await asyncio.gather(*racers)
            results = await asyncio.gather(
                *(c.send(f"[abuse] racer {i}") for i, c in enumerate(opened)),
                return_exceptions=True,
            )
            return list(results), await conv.messages()

        results, messages = asyncio.run(main())
        ends = [r for r in results if isinstance(r, cg.Verdict)]
        assert len(ends) == 1
        assert ends[0].action is E
        assert all(isinstance(r, cg.ConversationEndedError) for r in results if r not in ends)
        by_id = {m.id: m for m in messages}
        assert all(m.parent_id is None or not by_id[m.parent_id].ended for m in messages)

    def test_racing_sends_on_sqlite(self, tmp_path: Path) -> None:
        """A SQLite store, called in worker threads, keeps invariant 1 under racing tasks."""
        store = SQLiteStore(tmp_path / "chats.db")

        async def main() -> tuple[list[object], list[cg.Message]]:
            guard = build_async_guard(detectors=[Yielding()], store=store)
            conv = await guard.start()
            for _ in range(3):
                await conv.send("[abuse] x")
            results = await asyncio.gather(
                *(conv.send(f"[abuse] racer {i}") for i in range(4)), return_exceptions=True
            )
            return list(results), await conv.messages()

        try:
            results, messages = asyncio.run(main())
        finally:
            store.close()
        assert sum(isinstance(r, cg.Verdict) for r in results) == 1
        assert all(isinstance(r, cg.Verdict | cg.ConversationEndedError) for r in results)
        assert len(messages) == 4

    def test_other_detectors_run_while_one_waits(self) -> None:
        """Async detectors of one turn run at the same time, not one after another."""
        gate = threading.Event()

        class First:
            name = "first"

            def __init__(self) -> None:
                self.event = asyncio.Event()

            async def adetect(
                self, text: str, context: cg.DetectionContext
            ) -> Sequence[cg.Finding]:
                await self.event.wait()
                gate.set()
                return []

        first = First()

        class Second:
            name = "second"

            async def adetect(
                self, text: str, context: cg.DetectionContext
            ) -> Sequence[cg.Finding]:
                first.event.set()
                return []

        async def main() -> cg.Verdict:
            conv = await build_async_guard(detectors=[first, Second()]).start()
            return await conv.send("hi")

        assert asyncio.run(main()).errors == ()
        assert gate.is_set()


class TestAwaitableShape:
    def test_reading_methods_are_coroutines(self) -> None:
        """tip, state, ended and closed are awaited methods of the conversation."""

        async def main() -> tuple[Any, ...]:
            guard = build_async_guard(config={"max_ended_branches": 1})
            conv = await guard.start()
            before = (await conv.tip(), await conv.ended(), await conv.closed())
            for _ in range(4):
                await conv.send("[abuse] x")
            after = (await conv.ended(), await conv.closed(), (await conv.state()).status)
            return before, after, repr(conv), repr(guard), conv == 1

        before, after, conv_repr, guard_repr, equal = asyncio.run(main())
        assert before == (None, False, False)
        assert after == (True, True, cg.Status.ENDED)
        assert conv_repr.startswith("<AsyncConversation")
        assert "AsyncGuard" in guard_repr
        assert "detector_timeout=2.0" in guard_repr
        assert equal is False

    def test_an_empty_conversation(self) -> None:
        """Before the first message: no path, an empty tree; conversations hash by id."""

        async def main() -> tuple[list[cg.Message], cg.ConversationTree, AsyncConversation]:
            conv = await build_async_guard().start(conversation_id="c1")
            return await conv.path(), await conv.tree(), conv

        path, tree, conv = asyncio.run(main())
        assert path == []
        assert tree.path() == []
        assert hash(conv) == hash("c1")

    def test_closed_is_false_without_a_limit(self) -> None:
        """Without max_ended_branches a conversation never closes."""

        async def main() -> bool:
            conv = await build_async_guard().start()
            for _ in range(4):
                await conv.send("[abuse] x")
            return await conv.closed()

        assert asyncio.run(main()) is False

    def test_options_are_readable(self) -> None:
        """The guard shows its detectors, policy, store and timeout."""
        guard = build_async_guard(detector_timeout=None)
        assert guard.detector_timeout is None
        assert guard.detectors[0].name == "scripted"
        assert isinstance(guard.store, cg.MemoryStore)

    def test_bad_locale(self) -> None:
        """A non-string locale is refused."""

        async def main() -> None:
            await build_async_guard().start(locale=5)  # type: ignore[arg-type]

        with pytest.raises(cg.InvalidOperationError, match="locale"):
            asyncio.run(main())

    def test_default_detectors(self) -> None:
        """AsyncGuard() uses the built-in detectors and the last-resort policy."""
        guard = AsyncGuard()
        assert guard.detectors
        assert isinstance(guard.policy, cg.LastResortPolicy)


class TestRecords:
    def test_replay_and_import_match_the_sync_guard(self) -> None:
        """Invariant 6: the same record gives the same verdicts through either guard."""
        sync_conv = cg.Guard(detectors=[scripted()]).start()
        for text in ("hi", "[abuse] a", "[abuse] b", "[crisis] c", "[abuse] d"):
            sync_conv.send(text)
            sync_conv.reply("ok")
        record = sync_conv.export()
        expected = cg.Guard(detectors=[scripted()]).replay(record)

        async def main() -> tuple[cg.Replay, list[cg.Message], bool]:
            guard = build_async_guard(detectors=[Yielding()])
            replay = await guard.replay(record)
            conv = await guard.import_record(record, evaluate=True)
            return replay, await conv.path(), await conv.ended()

        replay, path, ended = asyncio.run(main())
        assert [b.actions for b in replay.branches] == [b.actions for b in expected.branches]
        assert [m.id for m in path] == [m.id for m in sync_conv.path()]
        assert not ended

    def test_not_a_record(self) -> None:
        """replay() and import_record() refuse anything but a record with FormatError."""
        guard = build_async_guard()
        bad: Any = {"id": "x"}
        with pytest.raises(cg.FormatError):
            asyncio.run(guard.replay(bad))
        with pytest.raises(cg.FormatError):
            asyncio.run(guard.import_record(bad))

    def test_as_is_import_refuses_messages_after_an_end(self) -> None:
        """Without evaluation, a node under an ended node is a FormatError; nothing is stored."""
        record = cg.ConversationRecord(
            id="c",
            messages=[
                {"id": "a", "role": "user", "content": "x", "state": {"status": "ended"}},
                {"id": "b", "parent_id": "a", "role": "user", "content": "y"},
            ],
        )
        guard = build_async_guard()
        with pytest.raises(cg.FormatError, match="ended") as caught:
            asyncio.run(guard.import_record(record))
        assert (caught.value.conversation_id, caught.value.field) == ("c", "messages")
        assert asyncio.run(guard.conversations()).ids == []

    def test_import_without_evaluation_keeps_the_record(self) -> None:
        """evaluate=False stores states and verdicts as recorded, feedback included."""
        conv = cg.Guard(detectors=[scripted()]).start(locale="de")
        verdict = conv.send("[abuse] x")
        conv.feedback("unexpected_end")
        record = conv.export()

        async def main() -> tuple[cg.Verdict | None, list[Feedback]]:
            guard = build_async_guard(detectors=[])
            imported = await guard.import_record(record)
            tip = await imported.tip()
            return (None if tip is None else tip.verdict), await guard.feedback(imported.id)

        stored, feedback = asyncio.run(main())
        assert stored == verdict
        assert [f.kind for f in feedback] == ["unexpected_end"]
