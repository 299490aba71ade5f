"""examples/chat_service: the reference chat service, over HTTP, in Chromium and on PostgreSQL.

The service runs the built-in detectors and the scripted model, so every
turn's outcome is known from its text: a persistent insult is redirected
twice, warned, then ended. The HTTP tests use FastAPI's TestClient; the
browser test drives Debian's chromium through chromedriver against a live
uvicorn server, and writes a screenshot of each state (into
``$CONVGUARD_SCREENSHOTS`` when set, e.g. ``docs/img``); the race test runs two
uvicorn worker processes on one PostgreSQL schema.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from fastapi.testclient import TestClient
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

import convguard as cg

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

from chat_service.app import create_app, guard_from_env  # noqa: E402
from chat_service.models import (  # noqa: E402
    GUIDANCE_HEADING,
    AnthropicModel,
    ChatMessage,
    ModelClient,
    ModelTurn,
    OpenAIModel,
    ScriptedModel,
    ToolCall,
    model_from_env,
)

HELLO = "Hi! Can you help me plan a weekend in Lisbon?"
INSULT = "You are a useless, stupid bot."
SORRY = "Sorry, long day. Which area should I stay in?"
CRISIS = "I want to kill myself tonight"
ANA = {"X-User-Id": "ana"}
BOB = {"X-User-Id": "bob"}

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1100,820",
)
DSN = os.environ.get("CONVGUARD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


class Recording:
    """Wrap a model client, keeping every system prompt and message list it was given."""

    def __init__(self, inner: ModelClient) -> None:
        self.inner = inner
        self.name = inner.name
        self.systems: list[str] = []
        self.calls: list[list[ChatMessage]] = []

    def complete(self, system: str, messages: Sequence[ChatMessage]) -> ModelTurn:
        self.systems.append(system)
        self.calls.append(list(messages))
        return self.inner.complete(system, messages)


class Script:
    """A model that answers from a list of turns, in order."""

    name = "script"

    def __init__(self, *turns: ModelTurn) -> None:
        self.turns = list(turns)

    def complete(self, system: str, messages: Sequence[ChatMessage]) -> ModelTurn:
        return self.turns.pop(0)


@pytest.fixture(scope="module")
def detectors() -> Sequence[cg.Detector]:
    """The built-in detectors, built once for the module (they take a few seconds)."""
    return cg.default_detectors()


@pytest.fixture
def guard(tmp_path: Path, detectors: Sequence[cg.Detector]) -> Iterator[cg.Guard]:
    """The service's guard: the built-in detectors on a SQLite file."""
    store = cg.SQLiteStore(tmp_path / "chat.db")
    yield cg.Guard(detectors=detectors, store=store)
    store.close()


@pytest.fixture
def model() -> Recording:
    """The scripted model, recording what it was given."""
    return Recording(ScriptedModel())


@pytest.fixture
def client(guard: cg.Guard, model: Recording) -> Iterator[TestClient]:
    """The app over HTTP, as ana."""
    with TestClient(create_app(guard=guard, model=model), headers=ANA) as test_client:
        yield test_client


def start(client: TestClient, headers: dict[str, str] = ANA) -> str:
    response = client.post("/api/chats", headers=headers)
    assert response.status_code == 201, response.text
    chat_id: str = response.json()["id"]
    return chat_id


def say(client: TestClient, chat_id: str, text: str) -> dict[str, Any]:
    response = client.post(f"/api/chats/{chat_id}/messages", json={"text": text})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ended_chat(client: TestClient) -> tuple[str, list[dict[str, Any]]]:
    """A chat brought to its end by insults: the turns' answers."""
    chat_id = start(client)
    turns = [say(client, chat_id, text) for text in [HELLO, INSULT, INSULT, INSULT, INSULT]]
    return chat_id, turns


class TestHTTP:
    """The JSON API against the app, in process."""

    def test_insults_are_redirected_warned_then_ended(
        self, client: TestClient, model: Recording
    ) -> None:
        _, turns = ended_chat(client)
        actions = [turn["verdict"]["action"] for turn in turns]
        assert actions == ["allow", "redirect", "redirect", "warn", "end"]
        # Every answered turn: the guidance went into the system prompt, the
        # reply was stored under the turn it answers.
        for turn in turns[:4]:
            guidance = turn["verdict"]["guidance"]
            assert turn["reply"]["parent_id"] == turn["verdict"]["message_id"]
            prompts = [s for s in model.systems if guidance and guidance in s]
            assert bool(prompts) == bool(guidance)
        assert GUIDANCE_HEADING not in model.systems[0]  # ALLOW has no guidance
        # The model asked to end on each redirect; the policy refused, saying why.
        for turn in turns[1:3]:
            (call,) = turn["tool_calls"]
            assert call["name"] == "end_conversation"
            assert not call["granted"]
            assert call["content"].startswith("Not ended: ending is a last resort")
        assert "I will end this chat" in turns[3]["reply"]["content"]
        # The end: no model call, no reply, the ways forward.
        end = turns[4]
        assert end["reply"] is None
        assert len(model.systems) == 6  # 4 turns, 2 of them with a second round after the tool
        assert end["chat"]["ended"]
        assert end["chat"]["ways_forward"] == ["new_chat", "edit", "feedback"]
        assert end["chat"]["messages"][-1]["verdict"]["action"] == "end"
        assert any("3 of 3 redirections used" in r for r in end["verdict"]["reasons"])

    def test_a_send_after_the_end_is_409_with_the_ways_forward(
        self, client: TestClient, guard: cg.Guard
    ) -> None:
        chat_id, _ = ended_chat(client)
        count = guard.store.info(chat_id).message_count
        response = client.post(f"/api/chats/{chat_id}/messages", json={"text": "Hello?"})
        assert response.status_code == 409
        body = response.json()
        assert body["error"] == "ConversationEndedError"
        assert body["ways_forward"] == ["new_chat", "edit", "feedback"]
        assert body["closed"] is False
        assert guard.store.info(chat_id).message_count == count  # nothing stored

    def test_edit_and_retry_opens_a_live_branch_and_switch_returns(
        self, client: TestClient
    ) -> None:
        chat_id, turns = ended_chat(client)
        first_insult = turns[1]["verdict"]["message_id"]
        retried = client.post(
            f"/api/chats/{chat_id}/messages/{first_insult}/edit", json={"text": SORRY}
        ).json()
        assert retried["verdict"]["action"] == "allow"
        assert retried["reply"]["parent_id"] == retried["verdict"]["message_id"]
        chat = retried["chat"]
        assert not chat["ended"]
        assert chat["ways_forward"] == []
        assert [(b["ended"], b["active"]) for b in chat["branches"]] == [
            (True, False),
            (False, True),
        ]
        assert [m["content"] for m in chat["messages"] if m["role"] == "user"] == [HELLO, SORRY]
        assert say(client, chat_id, "And where should I eat?")["verdict"]["action"] == "allow"
        # Back to the ended branch: viewable, and still closed to new messages.
        leaf = chat["branches"][0]["leaf_id"]
        back = client.post(f"/api/chats/{chat_id}/switch", json={"message_id": leaf}).json()
        assert back["ended"]
        assert back["messages"][-1]["id"] == leaf
        assert client.post(f"/api/chats/{chat_id}/messages", json={"text": "hi"}).status_code == 409
        missing = client.post(f"/api/chats/{chat_id}/switch", json={"message_id": "nope"})
        assert missing.status_code == 404

    def test_the_user_ends_a_chat_only_once_they_confirm(
        self, client: TestClient, guard: cg.Guard
    ) -> None:
        chat_id = start(client)
        say(client, chat_id, HELLO)
        count = guard.store.info(chat_id).message_count
        asked = client.post(f"/api/chats/{chat_id}/end", json={}).json()
        assert not asked["granted"]
        assert "permanent" in asked["verdict"]["guidance"]
        assert not asked["chat"]["ended"]
        assert guard.store.info(chat_id).message_count == count
        done = client.post(f"/api/chats/{chat_id}/end", json={"confirmed": True}).json()
        assert done["granted"]
        assert done["chat"]["ended"]
        assert done["chat"]["messages"][-1]["role"] == "event"
        # Feedback is still welcome after the end.
        given = client.post(
            f"/api/chats/{chat_id}/feedback", json={"comment": "I clicked it by mistake"}
        )
        assert given.status_code == 201
        (record,) = guard.feedback(chat_id)
        assert (record.kind, record.comment) == ("unexpected_end", "I clicked it by mistake")

    def test_a_user_at_risk_is_supported_and_never_ended(self, client: TestClient) -> None:
        chat_id = start(client)
        support = say(client, chat_id, CRISIS)
        assert support["verdict"]["action"] == "support"
        assert "988" in support["reply"]["content"]
        for _ in range(5):
            turn = say(client, chat_id, INSULT)
            assert turn["verdict"]["action"] == "redirect"
            (call,) = turn["tool_calls"]  # the model asks to end; refused: the user may be at risk
            assert (call["name"], call["granted"]) == ("end_conversation", False)
        refused = client.post(f"/api/chats/{chat_id}/end", json={"confirmed": True}).json()
        assert not refused["granted"]
        assert refused["verdict"]["action"] == "support"
        assert not refused["chat"]["ended"]
        assert refused["chat"]["at_risk"]

    def test_the_model_reports_risk_the_detectors_missed(self, client: TestClient) -> None:
        chat_id = start(client)
        turn = say(client, chat_id, "I've been giving my things away lately")
        (call,) = turn["tool_calls"]
        assert (call["name"], call["granted"]) == ("report_risk", True)
        roles = [m["role"] for m in turn["chat"]["messages"]]
        assert roles[-3:] == ["user", "event", "assistant"]
        event = turn["chat"]["messages"][-2]
        assert event["verdict"]["action"] == "support"
        assert turn["reply"]["parent_id"] == event["id"]  # the answer lands under the report
        assert "988" in turn["reply"]["content"]
        assert turn["chat"]["at_risk"]
        actions = [say(client, chat_id, INSULT)["verdict"]["action"] for _ in range(5)]
        assert "end" not in actions
        assert "warn" not in actions

    def test_a_reply_lands_under_its_turn_or_not_at_all(self, guard: cg.Guard) -> None:
        """A message that arrives while the model answers (a second tab) supersedes the answer."""

        class SecondTab:
            name = "second-tab"

            def complete(self, system: str, messages: Sequence[ChatMessage]) -> ModelTurn:
                (chat_id,) = guard.conversations().ids
                guard.open(chat_id).send("sent from another tab")
                return ModelTurn(text="an answer to the first message")

        with TestClient(create_app(guard=guard, model=SecondTab()), headers=ANA) as client:
            chat_id = start(client)
            turn = say(client, chat_id, HELLO)
        assert turn["superseded"]
        assert turn["reply"] is None
        messages = guard.open(chat_id).messages()
        assert [m.role for m in messages] == [cg.Role.SYSTEM, cg.Role.USER, cg.Role.USER]
        assert messages[2].parent_id == turn["verdict"]["message_id"]

    def test_an_end_from_another_worker_mid_answer_supersedes_it(self, guard: cg.Guard) -> None:
        class OtherWorker:
            name = "other-worker"

            def complete(self, system: str, messages: Sequence[ChatMessage]) -> ModelTurn:
                (chat_id,) = guard.conversations().ids
                assert guard.open(chat_id).request_end(by="user", confirmed=True).ended
                return ModelTurn(text="an answer nobody will read")

        with TestClient(create_app(guard=guard, model=OtherWorker()), headers=ANA) as client:
            chat_id = start(client)
            turn = say(client, chat_id, HELLO)
        assert turn["superseded"]
        assert turn["reply"] is None
        assert turn["chat"]["ended"]
        roles = [m.role for m in guard.open(chat_id).messages()]
        assert roles == [cg.Role.SYSTEM, cg.Role.USER, cg.Role.EVENT]

    def test_a_message_from_another_worker_mid_view_is_no_error(
        self, detectors: Sequence[cg.Detector]
    ) -> None:
        """A send landing between the view's reads (another worker) does not break the view."""

        class Interleaving:
            """A store that lets another writer in right after a read of the messages."""

            def __init__(self) -> None:
                self.store = cg.MemoryStore()
                self.writer: Callable[[], object] | None = None

            def __getattr__(self, name: str) -> Any:
                return getattr(self.store, name)

            def messages(self, conversation_id: str) -> list[cg.Message]:
                out = self.store.messages(conversation_id)
                writer, self.writer = self.writer, None
                if writer is not None:
                    writer()
                return out

        store = Interleaving()
        guard = cg.Guard(detectors=detectors, store=store)
        with TestClient(create_app(guard=guard, model=ScriptedModel()), headers=ANA) as client:
            chat_id = start(client)
            say(client, chat_id, HELLO)
            store.writer = lambda: guard.open(chat_id).send("from the other worker")
            view = client.get(f"/api/chats/{chat_id}")
            assert view.status_code == 200, view.text
            assert view.json()["messages"][-1]["role"] == "assistant"
            after = client.get(f"/api/chats/{chat_id}").json()
            assert after["messages"][-1]["content"] == "from the other worker"

    def test_tool_calls_the_model_gets_wrong_are_answered_not_raised(self, guard: cg.Guard) -> None:
        model = Script(
            ModelTurn(
                tool_calls=(
                    ToolCall("c1", "end_conversation", "{not json"),
                    ToolCall("c2", "web_search", {"q": "Lisbon"}),
                )
            ),
            ModelTurn(text="Lisbon it is."),
        )
        with TestClient(create_app(guard=guard, model=model), headers=ANA) as client:
            chat_id = start(client)
            turn = say(client, chat_id, HELLO)
        malformed, unknown = turn["tool_calls"]
        assert malformed["is_error"]
        assert "malformed arguments" in malformed["content"]
        assert unknown == {
            "name": "web_search",
            "granted": False,
            "content": "Error: there is no tool named 'web_search'.",
        }
        assert turn["reply"]["content"] == "Lisbon it is."
        assert turn["reply"]["tool_calls"] == turn["tool_calls"]  # kept for operators
        assert not turn["chat"]["ended"]

    def test_a_model_that_fails_keeps_the_turn_and_says_so(self, guard: cg.Guard) -> None:
        """The model's client raising is no 500: the turn is stored, the answer is missing."""

        class Down:
            name = "down"

            def complete(self, system: str, messages: Sequence[ChatMessage]) -> ModelTurn:
                raise TimeoutError("the model API did not answer in 30 s")

        with TestClient(create_app(guard=guard, model=Down()), headers=ANA) as client:
            chat_id = start(client)
            turn = say(client, chat_id, HELLO)
        assert turn["reply"] is None
        assert turn["model_error"] == "TimeoutError: the model API did not answer in 30 s"
        assert turn["verdict"]["action"] == "allow"
        assert [m["role"] for m in turn["chat"]["messages"]] == ["system", "user"]
        assert turn["chat"]["messages"][-1]["content"] == HELLO

    def test_a_model_that_only_calls_tools_is_cut_off(self, guard: cg.Guard) -> None:
        looping = ModelTurn(tool_calls=(ToolCall("c", "end_conversation", {}),))
        with TestClient(
            create_app(guard=guard, model=Script(*[looping] * 4)), headers=ANA
        ) as client:
            chat_id = start(client)
            turn = say(client, chat_id, HELLO)
        assert len(turn["tool_calls"]) == 3
        assert turn["reply"]["content"] == "Sorry, I lost my train of thought."

    def test_chats_are_listed_per_user_newest_first_and_paged(self, client: TestClient) -> None:
        ids = []
        for place in ["Lisbon", "Porto", "Faro"]:
            chat_id = start(client)
            say(client, chat_id, f"Plan me a weekend in {place}")
            ids.append(chat_id)
        bobs = start(client, BOB)
        first = client.get("/api/chats", params={"limit": 2}).json()
        assert [c["id"] for c in first["chats"]] == [ids[2], ids[1]]
        assert first["chats"][0]["title"] == "Plan me a weekend in Faro"
        second = client.get("/api/chats", params={"limit": 2, "after": first["next"]}).json()
        assert [c["id"] for c in second["chats"]] == [ids[0]]
        assert second["next"] is None
        assert [c["id"] for c in client.get("/api/chats", headers=BOB).json()["chats"]] == [bobs]
        # Someone else's chat is as unknown as a missing one.
        assert client.get(f"/api/chats/{ids[0]}", headers=BOB).status_code == 404
        assert (
            client.post(
                f"/api/chats/{ids[0]}/messages", json={"text": "hi"}, headers=BOB
            ).status_code
            == 404
        )
        assert client.delete(f"/api/chats/{ids[0]}", headers=BOB).status_code == 404
        assert client.get("/api/chats/no-such-chat").status_code == 404

    def test_delete_erases_the_chat_and_its_feedback(
        self, client: TestClient, guard: cg.Guard
    ) -> None:
        chat_id, _ = ended_chat(client)
        client.post(f"/api/chats/{chat_id}/feedback", json={"comment": "why?"})
        assert client.delete(f"/api/chats/{chat_id}").status_code == 204
        assert client.get(f"/api/chats/{chat_id}").status_code == 404
        assert client.get("/api/chats").json()["chats"] == []
        assert guard.feedback() == []
        with pytest.raises(cg.UnknownConversationError):
            guard.open(chat_id)

    def test_bad_input_is_a_clear_error(self, client: TestClient) -> None:
        chat_id = start(client)
        turn = say(client, chat_id, HELLO)
        anonymous = client.post("/api/chats", headers={"X-User-Id": ""})
        assert anonymous.status_code == 422
        reply_id = turn["reply"]["id"]
        edit = client.post(f"/api/chats/{chat_id}/messages/{reply_id}/edit", json={"text": "x"})
        assert edit.status_code == 422
        assert edit.json()["error"] == "InvalidOperationError"
        surrogate = client.post(
            f"/api/chats/{chat_id}/messages",
            content='{"text": "bad \\ud800 text"}',
            headers={"Content-Type": "application/json"},
        )
        assert surrogate.status_code == 422
        assert surrogate.json()["error"] == "InvalidMessageError"

    def test_the_page_and_its_script_are_served(self, client: TestClient) -> None:
        page = client.get("/")
        assert page.status_code == 200
        assert 'id="messages"' in page.text
        assert client.get("/static/app.js").status_code == 200
        assert client.get("/static/style.css").status_code == 200


class TestConfiguration:
    """The store and the model come from the environment."""

    def test_the_scripted_model_unless_a_key_or_a_choice_is_set(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in ["CHAT_MODEL_CLIENT", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"]:
            monkeypatch.delenv(name, raising=False)
        assert isinstance(model_from_env(), ScriptedModel)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        assert isinstance(model_from_env(), AnthropicModel)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        assert isinstance(model_from_env(), OpenAIModel)
        monkeypatch.setenv("CHAT_MODEL_CLIENT", "scripted")
        assert isinstance(model_from_env(), ScriptedModel)
        monkeypatch.setenv("CHAT_MODEL_CLIENT", "gpt")
        with pytest.raises(ValueError, match="scripted, openai or anthropic"):
            model_from_env()

    def test_sqlite_by_default_postgres_from_a_dsn(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.delenv("CONVGUARD_DSN", raising=False)
        monkeypatch.setenv("CONVGUARD_SQLITE", str(tmp_path / "here.db"))
        guard = guard_from_env()
        assert isinstance(guard.store, cg.SQLiteStore)
        assert (tmp_path / "here.db").exists()
        guard.store.close()
        monkeypatch.setenv("CONVGUARD_DSN", "not a dsn")
        with pytest.raises(cg.ConfigurationError):
            guard_from_env()


def _sdk_client(module: Any, responses: list[dict[str, Any]], seen: list[dict[str, Any]]) -> Any:
    """An SDK client whose HTTP calls are answered from *responses*, in order."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        return httpx2.Response(200, json=responses.pop(0))

    transport = httpx2.MockTransport(answer)
    return module(
        api_key="test", base_url="http://model.test", http_client=httpx2.Client(transport=transport)
    )


class TestSDKs:
    """The OpenAI and Anthropic clients, through their real SDKs, over a mocked transport."""

    def test_openai(self, guard: cg.Guard) -> None:
        import openai

        def completion(message: dict[str, Any]) -> dict[str, Any]:
            choice = {"index": 0, "finish_reason": "stop", "message": message}
            return {
                "id": "c",
                "object": "chat.completion",
                "created": 1,
                "model": "m",
                "choices": [choice],
            }

        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "end_conversation", "arguments": '{"reason": "insults"}'},
        }
        seen: list[dict[str, Any]] = []
        responses = [
            completion({"role": "assistant", "content": None, "tool_calls": [call]}),
            completion({"role": "assistant", "content": "Back to your trip?"}),
        ]
        sdk = OpenAIModel("m", client=_sdk_client(openai.OpenAI, responses, seen))
        with TestClient(create_app(guard=guard, model=sdk), headers=ANA) as client:
            turn = say(client, start(client), INSULT)
        assert turn["reply"]["content"] == "Back to your trip?"
        assert turn["tool_calls"][0]["granted"] is False
        first, second = seen
        assert {t["function"]["name"] for t in first["tools"]} == {
            "end_conversation",
            "report_risk",
        }
        assert first["messages"][0]["role"] == "system"
        assert turn["verdict"]["guidance"] in first["messages"][0]["content"]
        assert first["messages"][-1] == {"role": "user", "content": INSULT}
        assert second["messages"][-2]["tool_calls"] == [call]
        assert second["messages"][-1] == {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": turn["tool_calls"][0]["content"],
        }

    def test_anthropic(self, guard: cg.Guard) -> None:
        import anthropic

        def message(*content: dict[str, Any]) -> dict[str, Any]:
            return {
                "id": "msg",
                "type": "message",
                "role": "assistant",
                "model": "m",
                "content": list(content),
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            }

        use = {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "report_risk",
            "input": {"category": "self_harm_risk"},
        }
        seen: list[dict[str, Any]] = []
        responses = [message(use), message({"type": "text", "text": "I'm here for you."})]
        sdk = AnthropicModel("m", client=_sdk_client(anthropic.Anthropic, responses, seen))
        with TestClient(create_app(guard=guard, model=sdk), headers=ANA) as client:
            turn = say(client, start(client), "I'd rather not be around anymore")
        assert turn["reply"]["content"] == "I'm here for you."
        assert turn["tool_calls"][0]["granted"] is True
        assert turn["chat"]["at_risk"]
        first, second = seen
        assert {t["name"] for t in first["tools"]} == {"end_conversation", "report_risk"}
        assert first["messages"] == [
            {"role": "user", "content": "I'd rather not be around anymore"}
        ]
        assert second["messages"][-2] == {"role": "assistant", "content": [use]}
        (result,) = second["messages"][-1]["content"]
        assert result["type"] == "tool_result"
        assert result["tool_use_id"] == "toolu_1"
        assert "988" in result["content"]


# -- in a real browser ------------------------------------------------------------


def _browser_reason() -> str | None:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return (
            f"needs Debian's chromium at {CHROMIUM} and chromedriver at {CHROMEDRIVER} "
            "(apt-get install chromium chromium-driver; .ci/run installs them)"
        )
    return None


@pytest.fixture
def live_server(guard: cg.Guard) -> Iterator[str]:
    """The app served by uvicorn on a free port, in a thread."""
    config = uvicorn.Config(
        create_app(guard=guard, model=ScriptedModel()),
        host="127.0.0.1",
        port=0,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


class Page:
    """The chat page in a browser, with the few moves the test makes."""

    def __init__(self, driver: WebDriver, shots: Path) -> None:
        self.driver = driver
        self.shots = shots
        self.wait = WebDriverWait(driver, 20)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def every(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def until(self, check: Callable[[], object]) -> None:
        self.wait.until(lambda _: check())

    def send(self, text: str) -> WebElement:
        """Type and send; return the user's message once the page shows its verdict."""
        users = len(self.every(".msg.user"))
        self.find("#input").send_keys(text)
        self.find("#send").click()
        self.until(
            lambda: len(self.every(".msg.user")) == users + 1 and self.find("#send").is_enabled()
        )
        return self.every(".msg.user")[-1]

    def last_reply(self) -> str:
        return self.every(".msg.assistant")[-1].text

    def shot(self, name: str) -> None:
        path = self.shots / f"chat_{name}.png"
        assert self.driver.save_screenshot(str(path))
        assert path.stat().st_size > 10_000


def action(message: WebElement) -> str:
    """The action the operator view shows for a user message."""
    return message.find_element(By.CSS_SELECTOR, ".op .action").text


def _redirected_warned_ended(page: Page) -> None:
    assert action(page.send(HELLO)) == "allow"
    assert "Lisbon" in page.last_reply()

    first_insult = page.send(INSULT)
    assert action(first_insult) == "redirect"
    assert "rule 2: redirection 1 of 3; redirect" in first_insult.text
    assert "tool end_conversation: refused" in page.last_reply()
    page.shot("redirected")

    assert action(page.send(INSULT)) == "redirect"
    assert action(page.send(INSULT)) == "warn"
    assert "I will end this chat" in page.last_reply()
    page.shot("warned")

    assert action(page.send(INSULT)) == "end"
    page.until(lambda: page.find("#ended").is_displayed())
    assert [b.text for b in page.every("#ways-forward button")] == [
        "Start a new chat",
        "Edit one of your earlier messages to continue from there",
        "Tell us if this end was a mistake",
    ]
    assert not page.find("#composer").is_displayed()
    assert page.every(".msg")[-1].get_attribute("data-role") == "user"  # the turn that ended it
    page.shot("ended")


def _edit_and_retry(page: Page) -> None:
    """Edit the first insult: a live branch, and the branch switcher appears."""
    page.every(".msg.user")[1].find_element(By.CSS_SELECTOR, ".edit").click()
    box = page.find(".edit-text")
    box.clear()
    box.send_keys(SORRY)
    page.find(".edit-save").click()
    page.until(lambda: not page.find("#ended").is_displayed())
    users = page.every(".msg.user")
    assert [u.find_element(By.CSS_SELECTOR, ".text").text for u in users] == [HELLO, SORRY]
    assert action(users[-1]) == "allow"
    assert page.find("#composer").is_displayed()
    options = [o.text for o in Select(page.find("#branches")).options]
    assert options == ["Branch 1: 10 messages, ended", "Branch 2: 5 messages"]
    page.shot("edited")


@pytest.mark.skipif(_browser_reason() is not None, reason=_browser_reason() or "")
def test_the_page_in_chromium(live_server: str, guard: cg.Guard, tmp_path: Path) -> None:
    """Click through a chat that is redirected, warned and ended, then edit-and-retry."""
    shots = Path(os.environ.get("CONVGUARD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        page = Page(driver, shots)
        driver.get(live_server)
        page.until(lambda: page.find("#chat-title").text.startswith("Chat "))
        chat_id = driver.execute_script("return chatId")
        _redirected_warned_ended(page)
        _edit_and_retry(page)
        # The ended branch is still there with its ways forward; feedback from the banner.
        Select(page.find("#branches")).select_by_index(0)
        page.until(lambda: page.find("#ended").is_displayed())
        page.find('#ways-forward button[data-way="feedback"]').click()
        page.find("#feedback-comment").send_keys("I was only joking")
        page.find("#feedback button[type=submit]").click()
        page.until(lambda: page.find("#feedback-done").is_displayed())
        assert [f.comment for f in guard.feedback(chat_id)] == ["I was only joking"]
        # An operator view that can be hidden.
        assert page.every(".op")[0].is_displayed()
        page.find("#operator").click()
        assert not page.every(".op")[0].is_displayed()
        # A new chat from the banner; the user ends it after confirming.
        page.find('#ways-forward button[data-way="new_chat"]').click()
        page.until(lambda: driver.execute_script("return chatId") != chat_id)
        assert not page.find("#ended").is_displayed()
        assert len(page.every("#chat-list button")) == 2
        page.send(HELLO)
        page.find("#end-chat").click()
        assert "permanent" in page.find("#confirm-end").text
        page.find("#confirm-end-yes").click()
        page.until(lambda: page.find("#ended").is_displayed())
        assert page.every(".msg")[-1].get_attribute("data-role") == "event"
    finally:
        driver.quit()


# -- two worker processes on PostgreSQL ---------------------------------------------


def _postgres_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'convguard[postgres]')"
    try:
        with psycopg.connect(DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {DSN}: {exc}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def pg_schema() -> Iterator[str]:
    import psycopg

    schema = f"chat_race_{uuid.uuid4().hex[:10]}"
    yield schema
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def workers(pg_schema: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two uvicorn worker processes of the service on one PostgreSQL schema."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"CONVGUARD_DSN": DSN, "CONVGUARD_SCHEMA": pg_schema, "CHAT_MODEL_CLIENT": "scripted"}
    urls, procs = [], []
    for _ in range(2):
        port = _free_port()
        command = [
            sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES), "--factory",
            "chat_service.app:create_app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning",
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        )
        urls.append(f"http://127.0.0.1:{port}")
        time.sleep(0.5)  # the first creates the schema; let it start first
    try:
        for url, proc in zip(urls, procs, strict=True):
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, f"worker exited: {proc.communicate()[1]}"
                assert time.monotonic() < deadline, "worker did not start"
                try:
                    if httpx.get(f"{url}/api/chats", headers=ANA).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.communicate(timeout=20)


TEXTS = ("Which museum first?", INSULT)


def _race(
    chat_id: str, senders: list[tuple[httpx.Client, str]]
) -> tuple[list[dict[str, Any]], list[int], list[BaseException]]:
    """Each sender in its own thread sends its text until the chat has ended."""
    results: list[dict[str, Any]] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send_until_ended(client: httpx.Client, text: str) -> None:
        for i in range(60):
            response = client.post(f"/api/chats/{chat_id}/messages", json={"text": f"{text} {i}"})
            if response.status_code == 409:
                assert response.json()["ways_forward"] == ["new_chat", "edit", "feedback"]
                with lock:
                    refused.append(response.status_code)
                return
            assert response.status_code == 200, response.text
            with lock:
                results.append(response.json())

    def run(client: httpx.Client, text: str) -> None:
        try:
            send_until_ended(client, text)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=sender) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, refused, errors


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(_postgres_reason() is not None, reason=_postgres_reason() or "")
def test_two_workers_race_one_chat(workers: list[str], pg_schema: str) -> None:
    """Benign messages and insults through two workers at once: exactly one end, nothing lost."""
    a, b = (httpx.Client(base_url=url, headers=ANA, timeout=30) for url in workers)
    chat_id = a.post("/api/chats").json()["id"]
    for client, text in [(a, HELLO), (b, INSULT), (a, INSULT), (b, INSULT)]:
        client.post(f"/api/chats/{chat_id}/messages", json={"text": text}).raise_for_status()
    # Warned: the next insult to land ends the branch, whichever worker takes it.
    results, refused, errors = _race(chat_id, [(c, text) for c in (a, b) for text in TEXTS])
    a.close()
    b.close()
    assert errors == []
    assert len(refused) == 4  # every sender was told the chat had ended
    verdicts = Counter(r["verdict"]["action"] for r in results)
    assert verdicts["end"] == 1
    store = cg.PostgresStore(DSN, schema=pg_schema)
    try:
        info = store.info(chat_id)
        messages = store.messages(chat_id)
    finally:
        store.close()
    assert info.ended_branches == 1
    by_id = {m.id: m for m in messages}
    users = {m.id for m in messages if m.role is cg.Role.USER}
    acknowledged = {r["verdict"]["message_id"] for r in results}
    assert acknowledged <= users  # nothing acknowledged was lost
    assert len(users) == 4 + len(acknowledged)  # and nothing refused was stored
    for message in messages:
        parent = by_id.get(message.parent_id or "")
        assert parent is None or not parent.ended  # nothing under the end
        if message.role is cg.Role.ASSISTANT:
            assert parent is not None
            assert parent.role in {cg.Role.USER, cg.Role.EVENT}
    assert sum(m.ended for m in messages) == 1
