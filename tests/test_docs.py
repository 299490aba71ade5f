"""Every code sample the project shows must run as written.

Each ```python block of a docs page (and of README.md) runs, the page's blocks
in order and sharing one namespace, in a fresh temporary working directory.
Each script in examples/ runs as ``python examples/NAME.py`` would, with the
same interpreter, from a temporary directory. A block may use top-level
``await``. Blocks fenced as ``pycon``,
``text``, ``console``, ``toml``, ``mermaid`` and so on are shown, not run.

Pages and examples are found by glob, so a new page is tested the moment it
lands; a failure names the page and the line of the block in its traceback.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Final, NamedTuple

import pytest

ROOT: Final = Path(__file__).resolve().parent.parent
RUN_LANGUAGES: Final = frozenset({"python", "py", "python3"})
_FENCE: Final = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*)$")
_EXAMPLE_TIMEOUT: Final = 300


class Block(NamedTuple):
    """One fenced code block to run."""

    line: int
    """The 1-based line of the block's first code line in its file."""
    code: str


def python_blocks(text: str) -> list[Block]:
    """Return the ```python blocks of a Markdown text, in order.

    Fences may be indented (inside lists and admonitions); the block is
    dedented by the fence's indentation. A fence closes on the same
    character repeated at least as often as it opened.
    """
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        i += 1
        if opening is None:
            continue
        fence = opening["fence"]
        info = opening["info"].strip()
        language = re.split(r"[\s{]", info, maxsplit=1)[0].lower() if info else ""
        start = i
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            i += 1
        body = lines[start:i]
        i += 1  # past the closing fence (or the end of the text)
        if language in RUN_LANGUAGES:
            code = textwrap.dedent("\n".join(body))
            blocks.append(Block(start + 1, code + "\n"))
    return blocks


def run_blocks(path: Path, blocks: list[Block]) -> dict[str, object]:
    """Run *blocks* in order in one namespace; tracebacks show *path* and its lines.

    A block may use top-level ``await``, as an async REPL would; the page's
    awaiting blocks share one event loop.
    """
    namespace: dict[str, object] = {"__name__": "__docs__", "__file__": str(path)}
    with asyncio.Runner() as runner:
        for block in blocks:
            # Padding with newlines makes traceback line numbers those of the file.
            source = "\n" * (block.line - 1) + block.code
            code = compile(source, str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if code.co_flags & inspect.CO_COROUTINE:
                runner.run(eval(code, namespace))  # noqa: S307 - running the docs is the point
            else:
                exec(code, namespace)  # noqa: S102 - running the docs is the point
    return namespace


def _pages() -> list[Path]:
    pages = sorted((ROOT / "docs").rglob("*.md"))
    readme = ROOT / "README.md"
    if readme.exists():
        pages.insert(0, readme)
    return pages


def _examples() -> list[Path]:
    return sorted((ROOT / "examples").glob("*.py"))


def _ids(paths: list[Path]) -> list[str]:
    return [path.relative_to(ROOT).as_posix() for path in paths]


class TestPages:
    """The Markdown pages: README.md and docs/."""

    @pytest.mark.parametrize("page", _pages(), ids=_ids(_pages()))
    def test_python_blocks_run(
        self, page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every ```python block of the page runs, in order, as written."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.syspath_prepend(str(tmp_path))
        run_blocks(page, python_blocks(page.read_text(encoding="utf-8")))

    def test_readme_opens_with_the_two_commands(self) -> None:
        """A newcomer reads `make demo` and `make test` before anything else."""
        text = (ROOT / "README.md").read_text(encoding="utf-8")
        first_block = re.search(r"```(?:console|sh|bash|text)?\n(.*?)```", text, re.DOTALL)
        assert first_block is not None
        commands = [
            line.removeprefix("$ ").strip()
            for line in first_block.group(1).splitlines()
            if line.strip()
        ]
        assert commands == ["make demo", "make test"]

    def test_readme_prints_what_it_says(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The tour's output shown under "It prints:" is what the tour prints."""
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        shown = re.search(r"It prints:\n\n```text\n(.*?)```", text, re.DOTALL)
        assert shown is not None
        monkeypatch.chdir(tmp_path)
        run_blocks(readme, python_blocks(text))
        assert capsys.readouterr().out == shown.group(1)


class TestExamples:
    """The scripts in examples/."""

    @pytest.mark.parametrize("script", _examples(), ids=_ids(_examples()))
    def test_script_runs(self, script: Path, tmp_path: Path) -> None:
        """`python examples/NAME.py` exits 0 from any directory."""
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=_EXAMPLE_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, (
            f"{script.name} exited {done.returncode}\n--- stdout\n{done.stdout}\n"
            f"--- stderr\n{done.stderr}"
        )


class TestBlockFinder:
    """How ```python blocks are found in a page."""

    def test_only_python_blocks_are_run(self) -> None:
        """Blocks fenced as pycon, text, console, toml or mermaid are shown, not run."""
        page = (
            "# Title\n"
            "```python\nx = 1\n```\n"
            "```pycon\n>>> boom\n```\n"
            "```text\nboom\n```\n"
            "```console\n$ boom\n```\n"
            "```toml\nboom = 1\n```\n"
            "```mermaid\nstateDiagram-v2\n```\n"
            "```\nboom\n```\n"
            '```py title="two.py"\ny = 2\n```\n'
        )
        blocks = python_blocks(page)
        assert [b.code for b in blocks] == ["x = 1\n", "y = 2\n"]
        assert [b.line for b in blocks] == [3, 24]

    def test_indented_fences_are_dedented(self) -> None:
        """A block inside a list item or an admonition runs without its indentation."""
        page = "- step\n\n    ```python\n    if True:\n        z = 3\n    ```\n"
        assert python_blocks(page) == [Block(4, "if True:\n    z = 3\n")]

    def test_longer_fences_hold_shorter_ones(self) -> None:
        """A four-backtick fence may show a three-backtick fence inside it."""
        page = "````python\ns = '''\n```\n'''\n````\n"
        assert python_blocks(page) == [Block(2, "s = '''\n```\n'''\n")]

    def test_tilde_fences_and_an_unclosed_block(self) -> None:
        """Tilde fences count, and a block left open runs to the end of the page."""
        page = "~~~python\na = 1\n~~~\n```python\nb = 2\n"
        assert python_blocks(page) == [Block(2, "a = 1\n"), Block(5, "b = 2\n")]

    def test_blocks_share_a_namespace_and_name_the_page(self, tmp_path: Path) -> None:
        """Later blocks see earlier names; a failure points at the page and its line."""
        page = tmp_path / "page.md"
        text = "```python\nx = 41\n```\n\ntext\n\n```python\nx += 1\nraise RuntimeError(x)\n```\n"
        with pytest.raises(RuntimeError, match="42") as caught:
            run_blocks(page, python_blocks(text))
        last = caught.traceback[-1]
        assert Path(str(last.path)) == page
        assert last.lineno + 1 == 9

    def test_top_level_await_runs_in_one_loop_per_page(self, tmp_path: Path) -> None:
        """A block may await at top level; the page's async blocks share an event loop."""
        text = (
            "```python\nimport asyncio\nloop = asyncio.get_running_loop()\n"
            "await asyncio.sleep(0)\n```\n"
            "```python\nplain = 1\n```\n"
            "```python\nsame = await asyncio.sleep(0, result=asyncio.get_running_loop())\n```\n"
        )
        namespace = run_blocks(tmp_path / "page.md", python_blocks(text))
        assert namespace["same"] is namespace["loop"]
        assert namespace["plain"] == 1
