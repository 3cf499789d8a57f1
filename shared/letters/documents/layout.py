"""Two flowables that stand in for ReportLab Tables: rows of cells in fixed columns (a section's labelled rows, the
people table) and a one-row band of columns (the letterhead, the signature).

A Table lays out and draws every cell through its general machinery (cell styles, spans, a font change per cell,
its line commands); a letter pays that on every row of every letter. These put the ink where the letter's Tables
put it (`tests/shared/letters/documents/test_layout.py` compares the pixels), for a fraction of the cost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, TypeAlias

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph

# what a row's cell holds: a string set on one line, or a Paragraph (a text too long for one line, a column title)
Cell: TypeAlias = str | Paragraph

EMPTY_CELL_HEIGHT = 12  # what an empty Table cell asks for (its default style's leading): a band's least height


class Padding(NamedTuple):
    """Space between a cell's edges and what it holds, in points."""

    top: float = 0
    right: float = 0
    bottom: float = 0
    left: float = 0


NO_PADDING = Padding()


class Rows(Flowable):
    """Rows of cells in fixed columns, each cell top-aligned and set flush left within its padding, optionally ruled
    as a Table's GRID rules them; splits between rows as a Table splits, the first `repeat` rows (a header) repeated
    on the next page."""

    def __init__(self, rows: Sequence[Sequence[Cell]], widths: Sequence[float], style: ParagraphStyle, *,
                 padding: Padding = NO_PADDING, rule: float = 0, repeat: int = 0, align: str = "CENTER") -> None:
        super().__init__()
        self.rows, self.widths, self.style = rows, widths, style
        self.padding, self.rule, self.repeat = padding, rule, repeat
        self.hAlign = align
        self.row_heights: list[float] = []

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.row_heights = [self._row_height(row) for row in self.rows]
        self.width, self.height = sum(self.widths), sum(self.row_heights)
        return self.width, self.height

    def _row_height(self, row: Sequence[Cell]) -> float:
        pad = self.padding
        heights = [self.style.leading if isinstance(cell, str) else cell.wrap(width - pad.left - pad.right, 72000)[1]
                   for cell, width in zip(row, self.widths, strict=True)]
        return max(heights) + pad.top + pad.bottom

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        self.wrap(availWidth, availHeight)
        used, fitting = 0.0, 0
        for height in self.row_heights:
            if used + height > availHeight:
                break
            used, fitting = used + height, fitting + 1
        if fitting <= self.repeat:  # not one row beyond the header fits: all of it goes to the next page
            return []
        if fitting == len(self.rows):
            return [self]
        rest = [*self.rows[:self.repeat], *self.rows[fitting:]]
        return [self._part(self.rows[:fitting]), self._part(rest)]

    def _part(self, rows: Sequence[Sequence[Cell]]) -> Rows:
        return Rows(rows, self.widths, self.style, padding=self.padding, rule=self.rule, repeat=self.repeat,
                    align=self.hAlign)

    def draw(self) -> None:
        pad, text, top = self.padding, self.canv.beginText(), self.height
        text.setFont(self.style.fontName, self.style.fontSize, self.style.leading)
        for row, height in zip(self.rows, self.row_heights, strict=True):
            left = 0.0
            for cell, width in zip(row, self.widths, strict=True):
                if isinstance(cell, str):
                    if cell:  # the first baseline where a Table sets it: one font size below the padding
                        text.setTextOrigin(left + pad.left, top - pad.top - self.style.fontSize)
                        text.textOut(cell)
                else:
                    cell.drawOn(self.canv, left + pad.left, top - pad.top - cell.height)
                left += width
            top -= height
        self.canv.drawText(text)
        if self.rule:
            self._draw_rules()

    def _draw_rules(self) -> None:
        # one line per row edge and per column edge, round caps and joins, as a Table's GRID draws them
        canvas = self.canv
        canvas.setLineWidth(self.rule)
        canvas.setLineCap(1)
        canvas.setLineJoin(1)
        edges, y = [self.height], self.height
        for height in self.row_heights:
            y -= height
            edges.append(y)
        for y in edges:
            canvas.line(0, y, self.width, y)
        x = 0.0
        for width in (0, *self.widths):
            x += width
            canvas.line(x, self.height, x, 0)


class Band(Flowable):
    """One row of columns, each a stack of flowables (or nothing), set flush left in its column and aligned in the
    row MIDDLE or BOTTOM, with no padding; never split."""

    def __init__(self, columns: Sequence[Sequence[Flowable]], widths: Sequence[float], valign: str) -> None:
        super().__init__()
        if valign not in ("MIDDLE", "BOTTOM"):
            raise ValueError(f"valign {valign!r}: expected MIDDLE or BOTTOM")
        self.columns, self.widths, self.valign = columns, widths, valign
        self.hAlign = "CENTER"
        self.sizes: list[list[tuple[float, float]]] = []

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        # the sizes are kept: a flowable need not remember its own (an emblem's height is only what wrap returns)
        self.sizes = [[flowable.wrap(width, availHeight) for flowable in column]
                      for column, width in zip(self.columns, self.widths, strict=True)]
        self.width = sum(self.widths)
        self.height = max(_stack_height(column, sizes) for column, sizes in zip(self.columns, self.sizes, strict=True))
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        return []

    def draw(self) -> None:
        left = 0.0
        for column, sizes, width in zip(self.columns, self.sizes, self.widths, strict=True):
            stack = _stack_height(column, sizes)
            top = stack if self.valign == "BOTTOM" else (self.height + stack) / 2
            top += column[0].getSpaceBefore() if column else 0  # the first flowable's space is not in the stack
            for flowable, (_width, height) in zip(column, sizes, strict=True):
                top -= flowable.getSpaceBefore() + height
                flowable.drawOn(self.canv, left, top)
                top -= flowable.getSpaceAfter()
            left += width


def _stack_height(column: Sequence[Flowable], sizes: Sequence[tuple[float, float]]) -> float:
    """A column's height as a Table cell counts it: the flowables and the spaces between them."""
    if not column:
        return EMPTY_CELL_HEIGHT
    spaces = sum(flowable.getSpaceBefore() + flowable.getSpaceAfter() for flowable in column)
    return sum(height for _width, height in sizes) + spaces - column[0].getSpaceBefore() - column[-1].getSpaceAfter()
