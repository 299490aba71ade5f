"""A reference chat service on convguard: FastAPI, a web page, and a tool-calling model.

Run it with ``make serve`` (or ``uvicorn --app-dir examples --factory
chat_service.app:create_app``); see ``examples/chat_service/README.md``.
"""
