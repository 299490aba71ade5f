"""Output for the CLI: rich when installed (the ``cli`` extra), plain text otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, TypeVar

__all__ = ["Output"]

_T = TypeVar("_T")


class Output:
    """Print headings, tables and progress, nicer with rich, readable without.

    Args:
        plain: Never use rich, even when installed.
        file: Where to write; standard output by default.
    """

    def __init__(self, *, plain: bool = False, file: IO[str] | None = None) -> None:
        """Pick rich or plain output."""
        self.file = file or sys.stdout
        self._rich: Any = None
        if not plain:
            try:
                from rich.console import Console  # noqa: PLC0415 - optional extra
            except ImportError:
                pass
            else:
                self._rich = Console(file=self.file, highlight=False)

    @property
    def rich(self) -> bool:
        """Whether rich is in use."""
        return self._rich is not None

    def line(self, text: str = "", *, style: str | None = None) -> None:
        """Print a line (styled with rich markup style when available)."""
        if self._rich is not None:
            from rich.text import Text  # noqa: PLC0415 - optional extra

            self._rich.print(Text(text, style=style or ""))
        else:
            print(text, file=self.file)

    def heading(self, text: str) -> None:
        """Print a section heading."""
        if self._rich is not None:
            self._rich.rule(f"[bold]{text}")
        else:
            print(f"\n== {text} ==", file=self.file)

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """Print a table."""
        cells = [[str(cell) for cell in row] for row in rows]
        if self._rich is not None:
            from rich.table import Table  # noqa: PLC0415 - optional extra

            table = Table(title=title)
            for column in columns:
                table.add_column(column)
            for row in cells:
                table.add_row(*row)
            self._rich.print(table)
            return
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        print(title, file=self.file)
        print(
            "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
            file=self.file,
        )
        print("  ".join("-" * w for w in widths), file=self.file)
        for row in cells:
            print(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)),
                file=self.file,
            )

    def progress(
        self, items: Iterable[_T], *, total: int | None = None, description: str = ""
    ) -> Iterator[_T]:
        """Yield *items*, showing a progress bar on a terminal (stderr)."""
        if self._rich is None or not sys.stderr.isatty():
            yield from items
            return
        from rich.progress import Progress  # noqa: PLC0415 - optional extra

        with Progress(transient=True) as bar:
            task = bar.add_task(description, total=total)
            for item in items:
                yield item
                bar.advance(task)
