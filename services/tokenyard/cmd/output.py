"""How the client commands print lists: full ids always (a printed id is accepted by the next command), times as
`YYYY-MM-DD HH:MM` UTC, a table when it fits the terminal and one block per item when it does not."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console()
ID_COLUMNS = frozenset({"id", "app", "model"})  # values other commands take as arguments: never cut
_COMFORT = 10  # characters a non-id column gets at least before the table is too cramped to read


def when(value: object) -> str:
    """A timestamp (ISO 8601 string or Unix seconds) as `YYYY-MM-DD HH:MM` in UTC; empty for none."""
    if value in (None, "", 0):
        return ""
    try:
        if isinstance(value, (int, float)):
            t = dt.datetime.fromtimestamp(value, dt.timezone.utc)
        else:
            t = dt.datetime.fromisoformat(str(value))
            t = t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return str(value)
    return t.strftime("%Y-%m-%d %H:%M")


def _cells(rows: Sequence[Sequence[object]]) -> list[list[str]]:
    return [["" if v is None else str(v) for v in r] for r in rows]


def _fits(columns: Sequence[str], rows: list[list[str]], width: int) -> bool:
    need = 1 + 3 * len(columns)  # borders and padding
    for i, name in enumerate(columns):
        longest = max([len(name), *(len(r[i]) for r in rows)])
        need += longest if name in ID_COLUMNS else min(longest, max(len(name), _COMFORT))
    return need <= width


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows as a table if it fits the terminal width, else as one block per row; ids are never cut."""
    cells = _cells(rows)
    if not _fits(columns, cells, console.width):
        _print_records(title, columns, cells)
        return
    table = Table(title=title)
    for i, name in enumerate(columns):
        if name in ID_COLUMNS:
            table.add_column(name, no_wrap=True, min_width=max([len(name), *(len(r[i]) for r in cells)]))
        else:
            table.add_column(name, overflow="fold")
    for r in cells:
        table.add_row(*(Text(c) for c in r))  # names are user text, never rich markup
    console.print(table)


def _print_records(title: str, columns: Sequence[str], rows: list[list[str]]) -> None:
    label = max(len(c) for c in columns[1:]) if len(columns) > 1 else 0
    console.print(f"[bold]{title}[/bold]", highlight=False)
    for r in rows:
        console.print()
        console.print(Text(r[0], style="bold"), soft_wrap=True)
        for name, value in zip(columns[1:], r[1:]):
            if value:
                console.print(f"  {name:<{label}}  {value}", highlight=False, soft_wrap=True, markup=False)
