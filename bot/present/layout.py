"""Tables that fit the console they are printed on. The first column (what a row is about)
and columns of short words are never cut or wrapped; free text wraps; when even that leaves
no room, each row becomes plain lines. No line ends in padding: a pipe or a file keeps only
what was said."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.segment import Segment
from rich.table import Table as RichTable
from rich.text import Text

from bot.results import Table

SHORT = 20  # a column whose cells are this short holds words to keep whole
TOKEN = 32  # a cell with no space in it (an id, a sparkline) this short is one word too
FREE_MIN = 16  # a wrapping column narrower than this is no longer readable
GAP = "  "
INDENT = 2


@dataclass(frozen=True)
class Column:
    header: str
    width: int  # its widest cell, header included
    whole: bool  # never wrapped nor cut


def columns(table: Table) -> list[Column]:
    found = []
    for i, header in enumerate(table.columns):
        cells = [row[i] for row in table.rows if i < len(row)]
        width = max(map(cell_len, [header, *cells]))
        whole = i == 0 or all(_short(cell) for cell in cells)
        found.append(Column(header, width, whole))
    return found


def _short(cell: str) -> bool:
    return cell_len(cell) <= SHORT or (
        cell_len(cell) <= TOKEN and not any(c.isspace() for c in cell)
    )


def needed(cols: list[Column]) -> int:
    """The narrowest console the table reads well in: whole columns at their width, free ones
    at FREE_MIN (or less when they are narrower), a space either side and a rule between."""
    inner = sum(c.width if c.whole else min(c.width, FREE_MIN) for c in cols)
    return inner + 2 * len(cols) + len(cols) - 1


@dataclass(frozen=True)
class Fitted:
    """A results Table laid out when the console's width is known."""

    table: Table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        cols = columns(self.table)
        if needed(cols) <= options.max_width:
            yield _rich(self.table, cols)
        else:
            yield _lines(self.table, cols, options.max_width)


def _rich(table: Table, cols: list[Column]) -> RichTable:
    out = RichTable(show_edge=False, header_style="bold")
    for col in cols:
        if col.whole:
            out.add_column(col.header, no_wrap=True, min_width=col.width)
        else:
            out.add_column(col.header, overflow="fold")
    for row in table.rows:
        out.add_row(*(Text(cell) for cell in row))  # plain text: `[secret ab12]` is not markup
    return out


def _lines(table: Table, cols: list[Column], width: int) -> Group:
    """Each row as a line of its whole columns, aligned, then its free text indented below,
    each named by its column (on one line when they fit)."""
    whole = [i for i, c in enumerate(cols) if c.whole]
    free = [i for i, c in enumerate(cols) if not c.whole]

    def aligned(cells: list[str]) -> str:
        return GAP.join(
            cell + " " * (cols[i].width - cell_len(cell))
            for i, cell in zip(whole, cells, strict=True)
        ).rstrip()

    parts: list[RenderableType] = []
    if len(whole) > 1:
        parts.append(Text(aligned([cols[i].header for i in whole]), style="dim"))
    for row in table.rows:
        cells = [*row, *[""] * (len(cols) - len(row))]
        line = Text(aligned([cells[i] for i in whole]))
        line.stylize("bold", 0, cell_len(cells[0]))
        parts.append(line)
        said = [f"{cols[i].header}: {cells[i]}" for i in free]
        one = " · ".join(said)
        for text in [one] if cell_len(one) <= width - INDENT else said:
            parts.append(Padding(Text(text, overflow="fold"), (0, 0, 0, INDENT)))
    return Group(*parts)


@dataclass(frozen=True)
class Trimmed:
    """Its content as rendered, without the spaces that pad the end of each line."""

    content: RenderableType

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in console.render_lines(self.content, options, pad=False):
            yield from _rstrip(line)
            yield Segment.line()


def _rstrip(line: list[Segment]) -> Iterable[Segment]:
    kept = list(line)
    while kept and not kept[-1].control:
        last = kept.pop()
        text = last.text.rstrip(" ")
        if text:
            kept.append(Segment(text, last.style, last.control))
            break
    return kept
