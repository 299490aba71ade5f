"""Where format files come from and go to: paths, directories and open files.

A *source* is a path (``str`` or :class:`os.PathLike`) or an open file, text
or binary; a directory stands for the files in it that match a pattern.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeAlias

from .._errors import FormatError

__all__ = [
    "Source",
    "Sources",
    "dump_json",
    "expand",
    "name_of",
    "open_text",
    "open_write",
    "parse_json",
    "read_json",
    "write_text",
]

Source: TypeAlias = "str | os.PathLike[str] | IO[str] | IO[bytes]"
"""A path or an open file (text or binary)."""

Sources: TypeAlias = "Source | Sequence[Source]"
"""One source, or several read one after the other (a directory counts as its files)."""


def name_of(source: object) -> str | None:
    """Return the file name of a source, if it has one."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else None


def _is_path(source: object) -> bool:
    return isinstance(source, (str, os.PathLike))


def expand(sources: Sources, pattern: str = "conversations*.json") -> list[Source]:
    """Return the files of *sources*: directories become their matching files.

    A directory holding files that match *pattern* (the ChatGPT and Claude
    exports' ``conversations.json`` or split ``conversations-000.json`` …)
    gives those, in name order; otherwise every ``*.json`` and ``*.jsonl``.

    Raises:
        FormatError: For a path that does not exist or an empty directory.
    """
    single = _is_path(sources) or not isinstance(sources, Sequence)
    items: list[Source] = [sources] if single else list(sources)  # type: ignore[list-item, arg-type]
    files: list[Source] = []
    for item in items:
        if not _is_path(item):
            if not hasattr(item, "read"):
                msg = f"expected a path or an open file, not {type(item).__name__}"
                raise FormatError(msg)
            files.append(item)
            continue
        path = Path(item)  # type: ignore[arg-type]
        if path.is_dir():
            found = sorted(path.glob(pattern)) or sorted(
                p for p in path.iterdir() if p.suffix in {".json", ".jsonl"}
            )
            if not found:
                msg = f"no {pattern} (nor any .json or .jsonl file) in the directory"
                raise FormatError(msg, path=str(path))
            files.extend(found)
        elif not path.exists():
            msg = "no such file"
            raise FormatError(msg, path=str(path))
        else:
            files.append(path)
    return files


@contextmanager
def open_text(source: Source) -> Iterator[IO[str]]:
    """Yield *source* as a text stream (UTF-8; a BOM is skipped).

    An open file is not closed; a path is opened and closed here.

    Raises:
        FormatError: When the file cannot be opened.
    """
    if _is_path(source):
        try:
            handle = Path(source).open(encoding="utf-8-sig")  # type: ignore[arg-type]  # noqa: SIM115 - closed by the with below, after the except
        except OSError as exc:
            msg = f"cannot open: {exc.strerror}"
            raise FormatError(msg, path=name_of(source)) from exc
        with handle:
            yield handle
        return
    stream: IO[Any] = source  # type: ignore[assignment]
    if isinstance(stream, io.TextIOBase) or isinstance(stream.read(0), str):
        yield stream
        return
    wrapper = io.TextIOWrapper(stream, encoding="utf-8-sig")
    try:
        yield wrapper
    finally:
        wrapper.detach()  # leave the caller's file open


def read_json(source: Source) -> Any:  # noqa: ANN401 - parsed JSON is any shape
    """Parse the whole of *source* as one JSON document.

    Raises:
        FormatError: For unreadable files and malformed JSON (with the line).
    """
    with open_text(source) as stream:
        try:
            text = stream.read()
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read: {exc}"
            raise FormatError(msg, path=name_of(source)) from exc
    return parse_json(text, name_of(source))


def parse_json(text: str, path: str | None, line: int | None = None) -> Any:  # noqa: ANN401 - parsed JSON
    """Parse *text*; on error name *path* and the line.

    Raises:
        FormatError: For malformed JSON.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = line if line is not None else exc.lineno
        msg = f"line {where}: not valid JSON: {exc.msg}"
        raise FormatError(msg, path=path) from exc
    except RecursionError as exc:
        msg = "JSON nested too deeply"
        raise FormatError(msg, path=path) from exc


def dump_json(data: object, target: Source, *, indent: int | None = 2) -> None:
    """Write *data* as JSON to a path or an open text or binary file.

    Raises:
        FormatError: When the file cannot be written.
    """
    text = json.dumps(data, ensure_ascii=False, indent=indent) + "\n"
    write_text(text, target)


def write_text(text: str, target: Source) -> None:
    """Write *text* to a path or an open text or binary file.

    Raises:
        FormatError: When the file cannot be written.
    """
    with open_write(target) as stream:
        try:
            stream.write(text)
        except OSError as exc:
            msg = f"cannot write: {exc.strerror}"
            raise FormatError(msg, path=name_of(target)) from exc


@contextmanager
def open_write(target: Source) -> Iterator[IO[str]]:
    """Yield a text stream writing to a path (created or truncated) or an open file.

    Raises:
        FormatError: When the file cannot be opened.
    """
    if _is_path(target):
        try:
            handle = Path(target).open("w", encoding="utf-8")  # type: ignore[arg-type]  # noqa: SIM115 - closed by the with below, after the except
        except OSError as exc:
            msg = f"cannot write: {exc.strerror}"
            raise FormatError(msg, path=name_of(target)) from exc
        with handle:
            yield handle
        return
    stream: IO[Any] = target  # type: ignore[assignment]
    if isinstance(stream, io.TextIOBase):
        yield stream
        return
    if not isinstance(stream, (io.RawIOBase, io.BufferedIOBase)):
        msg = f"expected a path or an open file, not {type(target).__name__}"
        raise FormatError(msg)
    wrapper = io.TextIOWrapper(stream, encoding="utf-8")
    try:
        yield wrapper
    finally:
        wrapper.flush()
        wrapper.detach()  # leave the caller's file open
