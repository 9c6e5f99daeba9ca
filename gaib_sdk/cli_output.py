"""What `gaib` prints for a person: rich tables, colour and progress bars on a terminal; plain text, the same
figures, when stdout (or stderr, for progress) is not a terminal or ``NO_COLOR`` is set, so that tests, pipes
and logs see plain lines. ``FORCE_COLOR`` draws the rich form off a terminal too. rich is imported only when
it draws something."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import IO, Any

import click

__all__ = ["error", "fancy", "fields", "human", "print_json", "progress", "table", "working"]


def fancy(stream: IO[str] | None = None) -> bool:
    """Whether to draw with rich on ``stream`` (default stdout): a terminal, or FORCE_COLOR; never NO_COLOR."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def _json_default(value: object) -> object:
    if isinstance(value, Decimal | date):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default))


def human(value: Any) -> str:
    """A value for a person: no Python reprs (dicts and lists as words, 0E-18 as 0), long lists counted."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, str) and "E" in value:
        try:
            return human(Decimal(value))
        except ArithmeticError:
            return value
    if isinstance(value, dict):
        return ", ".join(f"{k} {human(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return f"{len(value)} items" if len(value) > 4 else (", ".join(human(v) for v in value) or "-")
    return str(value)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, force_terminal=True if os.environ.get("FORCE_COLOR") else None, highlight=False)


def fields(data: dict[str, Any]) -> None:
    """One line per field, ``key value``: a two-column table on a terminal."""
    if not fancy():
        for key, value in data.items():
            click.echo(f"{key:<32} {human(value)}")
        return
    from rich.table import Table

    grid = Table(show_header=False, box=None, padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in data.items():
        shown = human(value)
        grid.add_row(key, f"[green]{shown}[/]" if value is True else f"[red]{shown}[/]" if value is False else shown)
    _console().print(grid, markup=True)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[str] = ()) -> None:
    """A table of ``rows`` under ``columns``; the ``right`` columns (figures) aligned right. Plain: aligned
    text columns, a header line first."""
    shown = [[human(v) if not isinstance(v, str) else v for v in row] for row in rows]
    if not fancy():
        widths = [max([len(c), *(len(r[i]) for r in shown)]) for i, c in enumerate(columns)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                (c.rjust(w) if col in right else c.ljust(w)) for c, w, col in zip(cells, widths, columns, strict=True)
            ).rstrip()

        click.echo(line(columns))
        for row in shown:
            click.echo(line(row))
        return
    from rich.table import Table

    grid = Table(header_style="bold cyan")
    for col in columns:
        grid.add_column(col, justify="right" if col in right else "left")
    for row in shown:
        grid.add_row(*row)
    _console().print(grid)


def error(message: str) -> None:
    """``error: message`` on stderr, the word in red on a terminal."""
    color = False if os.environ.get("NO_COLOR") else (True if os.environ.get("FORCE_COLOR") else None)
    click.echo(click.style("error:", fg="red", bold=True) + " " + message, err=True, color=color)


def hint(message: str) -> None:
    color = False if os.environ.get("NO_COLOR") else (True if os.environ.get("FORCE_COLOR") else None)
    click.echo(click.style(message, dim=True), err=True, color=color)


@contextlib.contextmanager
def progress(what: str, *, quiet: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A ``(done, total)`` callback that draws a progress bar on stderr (stdout stays the result): rich's on a
    terminal, a line of ``#`` otherwise; nothing when ``quiet`` (--json)."""
    if quiet:
        yield lambda done, total: None
        return
    if not fancy(sys.stderr):

        def bar(done: int, total: int) -> None:
            width = 30
            filled = width * done // max(total, 1)
            end = "\n" if done >= total else ""
            print(
                f"\r  [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}", end=end, file=sys.stderr, flush=True
            )

        yield bar
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=_console(True)
    ) as bars:
        task = bars.add_task(what, total=None)

        def advance(done: int, total: int) -> None:
            bars.update(task, completed=done, total=total)

        yield advance


@contextlib.contextmanager
def working(what: str, *, quiet: bool = False) -> Iterator[None]:
    """Say on stderr what a long command is doing: a spinner on a terminal, one line otherwise, nothing when
    ``quiet`` (--json)."""
    if quiet:
        yield
        return
    if not fancy(sys.stderr):
        print(f"{what} ...", file=sys.stderr, flush=True)
        yield
        return
    with _console(True).status(what):
        yield
