"""Tables as the book shows them: Markdown pipe tables, one source for the HTML site and the A4 PDF.

Pandoc lays a pipe table out natively in both formats (a Bootstrap table on the site, a Typst `table`
in the PDF), so a chapter's table cell returns `tables.show(frame)` instead of a pandas DataFrame,
whose HTML would be converted (and escaped) once more for Typst, and whose repr cuts long text with
"...". Here:

- numbers are formatted once: integers with thousands separators (`60,000`), floats with a fixed
  number of decimals per column (`digits`), booleans as yes/no, missing values as an en dash;
- text is never shortened, and is escaped for Markdown (`|`, `*`, `_`, `$`, `@`, `<`, `&`, ...), so a
  review excerpt or "Dai & Le (2015)" reaches both formats as written, with no HTML entity;
- the index becomes the first column, its name the column's header (no header row of its own);
- relative column widths (the dashes under the header: Pandoc's rule for a table wider than 72
  characters) give every column at least its longest word, short values (numbers, dates) their whole
  width, so nothing runs into its neighbour, and share the rest by how much each column holds.

    tables.show(frame, digits={"ROC AUC": 3, "equal error rate (%)": 1})
"""

from __future__ import annotations

import math
import numbers
import re

import pandas as pd
from tabulate import tabulate

MISSING = "–"  # en dash: no value (e.g. a published row without a precision)
WIDTH_BUDGET = 90  # characters in a table line of the PDF (A4 text width at the tables' 0.85em)
SHORT = 20  # values up to this long are never wrapped (numbers, dates, "89.92 ± 0.05%")
MIN_WIDTH = 4  # no column narrower than this share, whatever it holds
PAD = 3  # a cell's inset (left and right) and some slack for wide glyphs, in characters
# Markdown characters that would change a cell's meaning: emphasis, links/citations, math, raw HTML,
# entities, sub/superscript, the cell separator. Pandoc reads any backslash-escaped punctuation literally.
_SPECIAL = re.compile(r"([\\`*_\[\]<>$@^~|&#])")
_SPACES = re.compile(r"[ \t\r\n]+")  # not the no-break space (U+00A0): it keeps "89.92 ± 0.05" on one line
ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#x[0-9A-Fa-f]+);")
# Text that reads as a number: "89.12 ± 0.21%", "264.6", "−0.03", "7 min", "1.2 × 10^-5^", "≈ 30 s", "+1.23 pp".
# Such columns are right-aligned like numeric ones, so every table aligns its numbers the same way.
NUMBER_TEXT = re.compile(r"^[<>≈~≤≥]?\s?[-−+]?\d[\d,\u202f\u00a0]*(\.\d+)?"
                         r"(\s?[±×]\s?[-−+]?\d[\d,.]*(\^[-−]?\d+\^)?)?\s?(%|pp|ppi|px|s|ms|min|h|k|M|MB|kB|KB|GB|x|×)?$")


class Table:
    """A table ready for a Quarto cell: its Markdown (`_repr_markdown_`) and the data behind it."""

    def __init__(self, frame: pd.DataFrame, markdown: str):
        self.frame = frame
        self.markdown = markdown

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown

    @property
    def header(self) -> list[str]:
        return [c.strip() for c in self.markdown.split("\n", 1)[0].strip().strip("|").split("|")]


def escape(text: str) -> str:
    """Plain text as Markdown that reads back as the same text (one line)."""
    return _SPECIAL.sub(r"\\\1", _SPACES.sub(" ", str(text)).strip())


def cell(value, digits: int = 2) -> str:
    """One value as the table prints it (not yet escaped)."""
    if value is None:
        return MISSING
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        if math.isnan(value):
            return MISSING
        return f"{float(value):,.{digits}f}"
    text = str(value)
    return text if text.strip() else MISSING


def show(frame: pd.DataFrame, *, digits: int | dict[str, int] = 2, index: bool = True,
         markdown: tuple[str, ...] = (), align: dict[str, str] | None = None) -> Table:
    """`frame` as a Markdown pipe table.

    digits: decimals of float columns: one number, or per column name (others: key "default", else 2).
    index: show the index as the first column (headed by its name).
    markdown: columns whose text is Markdown already (e.g. *italic* run names); all other text is escaped.
    align: "left" / "right" / "center" per column; numbers go right (also numbers already formatted as
    text, "89.12 ± 0.21%"), text left by default.
    """
    df = frame.reset_index() if index else frame.reset_index(drop=True)
    if index and frame.index.name is None and list(df.columns[:1]) == ["index"]:
        df = df.rename(columns={"index": ""})
    columns = [str(c) for c in df.columns]
    align = align or {}
    rows, aligns = [], []
    for j, name in enumerate(columns):
        col = df.iloc[:, j]
        d = digits.get(name, digits.get("default", 2)) if isinstance(digits, dict) else digits
        texts = [cell(v, d) for v in col.tolist()]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        numeric = numeric or numeric_text(texts)
        aligns.append(align.get(name, "right" if numeric else "left"))
        rows.append(texts if name in markdown else [escape(t) for t in texts])
    header = [escape(c) for c in columns]
    body = [list(r) for r in zip(*rows, strict=True)] if rows else []
    lines = tabulate(body, headers=header, tablefmt="pipe", colalign=aligns, disable_numparse=True).split("\n")
    lines[1] = _separator(header, body, aligns)
    return Table(frame, "\n".join(lines) + "\n")


def numeric_text(texts: list[str]) -> bool:
    """Whether a column of formatted values holds numbers only (missing values aside)."""
    values = [t.strip() for t in texts if t.strip() and t != MISSING]
    return bool(values) and all(NUMBER_TEXT.match(v) for v in values)


def _separator(header: list[str], body: list[list[str]], aligns: list[str]) -> str:
    """The dashes under the header, one run per column, as long as the column's relative width."""
    widths = column_widths(header, body)
    parts = []
    for w, a in zip(widths, aligns, strict=True):
        left = ":" if a in ("left", "center") else "-"
        right = ":" if a in ("right", "center") else "-"
        parts.append(left + "-" * max(w - 2, 1) + right)
    return "|" + "|".join(parts) + "|"


def column_widths(header: list[str], body: list[list[str]], budget: int = WIDTH_BUDGET) -> list[int]:
    """Relative widths in characters (Pandoc turns them into percentages of the text width).

    Each column first gets its floor: its header's longest word, and its longest value if that is short
    (`SHORT`: a number, a date, "89.92 ± 0.05%" stay on one line), else its value's longest word. What is
    left of `budget` goes to the columns in proportion to how much more their longest cell needs; a table
    that fits keeps its natural widths."""
    columns = list(zip(header, *body, strict=True)) if body else [(h,) for h in header]
    natural, floor = [], []
    for col in columns:
        head, cells = _unescape(col[0]), [_unescape(c) for c in col[1:]]
        longest = max([len(c) for c in cells] or [0])
        words = max([len(w) for c in cells for w in _SPACES.split(c)] or [0])
        natural.append(max(MIN_WIDTH, len(head), longest))
        floor.append(max(MIN_WIDTH, *(len(w) for w in _SPACES.split(head)), longest if longest <= SHORT else words))
    natural, floor = [n + PAD for n in natural], [f + PAD for f in floor]  # the cell's inset on both sides
    if sum(natural) <= budget:
        return natural
    spare, wants = budget - sum(floor), [n - f for n, f in zip(natural, floor, strict=True)]
    if spare <= 0 or not sum(wants):
        return floor
    return [f + round(spare * w / sum(wants)) for f, w in zip(floor, wants, strict=True)]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def problems(markdown: str) -> list[str]:
    """What a table's text must not hold: an HTML entity, a cell cut with an ellipsis, HTML markup."""
    out = []
    for line in markdown.strip().split("\n"):
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        for c in cells:
            if ENTITY.search(c):
                out.append(f"HTML entity in {c!r}")
            if c.endswith(("…", "...")):
                out.append(f"text cut with an ellipsis: {c!r}")
            if re.search(r"(?<!\\)<[A-Za-z/]", c):
                out.append(f"HTML markup in {c!r}")
    return out
