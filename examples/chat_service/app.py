"""The HTTP layer: FastAPI routes over :class:`~chat_service.service.ChatService`.

Configuration comes from the environment:

* ``CONVGUARD_DSN``: a PostgreSQL DSN (``postgresql://...``) to share chats
  between worker processes; ``CONVGUARD_SCHEMA`` names its schema
  (``convguard``). Without it chats live in the SQLite file
  ``CONVGUARD_SQLITE`` (``convguard-chat.db``).
* ``CHAT_MODEL_CLIENT``: ``scripted``, ``openai`` or ``anthropic``; by default
  the SDK whose API key is set, else the scripted model. ``CHAT_MODEL`` names
  the model.

Run it::

    uvicorn --app-dir examples --factory chat_service.app:create_app

The caller is named by the ``X-User-Id`` header. That is a placeholder for
your authentication: put the user id your auth layer vouches for there.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

import convguard as cg

from .models import ModelClient, model_from_env
from .service import ChatService

__all__ = ["create_app", "guard_from_env"]

STATIC: Final = Path(__file__).resolve().parent / "static"

UserId = Annotated[str, Header(alias="X-User-Id", min_length=1, max_length=200)]


class StartBody(BaseModel):
    """Start a chat."""

    title: str | None = Field(default=None, max_length=200)


class TextBody(BaseModel):
    """A user message, new or edited."""

    text: str


class SwitchBody(BaseModel):
    """The message (usually a branch's leaf) to make the active tip."""

    message_id: str


class EndBody(BaseModel):
    """The user asks to end the chat; ``confirmed`` once they know it is permanent."""

    confirmed: bool = False
    reason: str | None = Field(default=None, max_length=1000)


class FeedbackBody(BaseModel):
    """The user's feedback, e.g. on an end they did not expect."""

    kind: str = Field(default="unexpected_end", min_length=1, max_length=100)
    comment: str | None = Field(default=None, max_length=10_000)
    message_id: str | None = None


def guard_from_env() -> cg.Guard:
    """The built-in detectors and the last-resort policy on the configured store."""
    dsn = os.environ.get("CONVGUARD_DSN")
    store: cg.Store
    if dsn:
        store = cg.PostgresStore(dsn, schema=os.environ.get("CONVGUARD_SCHEMA", "convguard"))
    else:
        store = cg.SQLiteStore(os.environ.get("CONVGUARD_SQLITE", "convguard-chat.db"))
    return cg.Guard(store=store)


def _error(status_code: int, exc: Exception, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "error": type(exc).__name__, **extra}, status_code)


def _handlers() -> dict[type[Exception], Callable[[Request, Exception], JSONResponse]]:
    """convguard's errors as HTTP answers; the most specific class wins."""

    def ended(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, cg.ConversationEndedError)  # noqa: S101 - registered for it
        return _error(
            status.HTTP_409_CONFLICT,
            exc,
            ways_forward=list(exc.ways_forward),
            closed=exc.closed,
            message_id=exc.message_id,
        )

    def by_status(code: int) -> Callable[[Request, Exception], JSONResponse]:
        return lambda _, exc: _error(code, exc)

    return {
        cg.ConversationEndedError: ended,
        cg.UnknownConversationError: by_status(status.HTTP_404_NOT_FOUND),
        cg.UnknownMessageError: by_status(status.HTTP_404_NOT_FOUND),
        cg.InvalidMessageError: by_status(status.HTTP_422_UNPROCESSABLE_CONTENT),
        cg.InvalidOperationError: by_status(status.HTTP_422_UNPROCESSABLE_CONTENT),
        cg.StoreConflictError: by_status(status.HTTP_409_CONFLICT),
        cg.StoreUnavailableError: by_status(status.HTTP_503_SERVICE_UNAVAILABLE),
        NotImplementedError: by_status(status.HTTP_501_NOT_IMPLEMENTED),
    }


def _service(request: Request) -> ChatService:
    service: ChatService = request.app.state.service
    return service


Service = Annotated[ChatService, Depends(_service)]
router = APIRouter(prefix="/api")


@router.post("/chats", status_code=status.HTTP_201_CREATED)
def start(service: Service, user: UserId, body: StartBody | None = None) -> dict[str, Any]:
    """Start a chat: always live."""
    return service.start(user, None if body is None else body.title)


@router.get("/chats")
def chats(
    service: Service, user: UserId, limit: int = 20, after: str | None = None
) -> dict[str, Any]:
    """The caller's chats, newest first; pass ``next`` as ``after`` for the next page."""
    return service.chats(user, limit=max(1, min(limit, 100)), after=after)


@router.get("/chats/{chat_id}")
def view(service: Service, user: UserId, chat_id: str) -> dict[str, Any]:
    """The active branch, each turn's action and reasons, and the branches."""
    return service.view(user, chat_id)


@router.delete("/chats/{chat_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(service: Service, user: UserId, chat_id: str) -> Response:
    """Erase the chat and its feedback."""
    service.delete(user, chat_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/chats/{chat_id}/messages")
def send(service: Service, user: UserId, chat_id: str, body: TextBody) -> dict[str, Any]:
    """Send a message; ``409`` with ``ways_forward`` once the branch has ended."""
    return service.send(user, chat_id, body.text)


@router.post("/chats/{chat_id}/messages/{message_id}/edit")
def edit(
    service: Service, user: UserId, chat_id: str, message_id: str, body: TextBody
) -> dict[str, Any]:
    """Edit-and-retry a user message: a new branch, live unless the edit ends it."""
    return service.edit(user, chat_id, message_id, body.text)


@router.post("/chats/{chat_id}/switch")
def switch(service: Service, user: UserId, chat_id: str, body: SwitchBody) -> dict[str, Any]:
    """Make another branch active."""
    return service.switch(user, chat_id, body.message_id)


@router.post("/chats/{chat_id}/end")
def end(service: Service, user: UserId, chat_id: str, body: EndBody) -> dict[str, Any]:
    """The user asks to end the chat; granted only with ``confirmed``."""
    return service.end(user, chat_id, confirmed=body.confirmed, reason=body.reason)


@router.post("/chats/{chat_id}/feedback", status_code=status.HTTP_201_CREATED)
def feedback(service: Service, user: UserId, chat_id: str, body: FeedbackBody) -> dict[str, Any]:
    """Leave feedback, also after an end."""
    return service.feedback(
        user, chat_id, kind=body.kind, comment=body.comment, message_id=body.message_id
    )


def create_app(guard: cg.Guard | None = None, model: ModelClient | None = None) -> FastAPI:
    """Build the app: *guard* and *model* from the environment when omitted.

    A guard built here is closed when the app shuts down; one passed in is
    the caller's to close.
    """
    service = ChatService(guard or guard_from_env(), model or model_from_env())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if guard is None:
            service.guard.store.close()

    app = FastAPI(title="convguard chat service", lifespan=lifespan)
    app.state.service = service
    for error, handler in _handlers().items():
        app.add_exception_handler(error, handler)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app
