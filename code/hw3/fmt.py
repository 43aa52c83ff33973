"""Numbers and words as the chapters print them: shared by every part's `facts` (and the front page).

Each function takes a number (or a list) and returns text; nothing here reads runs.
"""

from __future__ import annotations

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten"}


def pct(x: float, digits: int = 1) -> str:
    """0.1234 -> '12.3%'."""
    return f"{100 * x:.{digits}f}%"


def num(x: float, digits: int = 2) -> str:
    """A fixed number of decimals: 0.12345 -> '0.12'."""
    return f"{x:.{digits}f}"


def points(x: float, digits: int = 2) -> str:
    """A difference of two shares in percentage points, with its sign: 0.0123 -> '+1.23'."""
    return f"{100 * x:+.{digits}f}"


def fid(x: float) -> str:
    """Classifier FID: one decimal from 10 up (264.6), two below (1.63)."""
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def accuracy(mean: float, std: float, seeds: int, digits: int = 2) -> str:
    """'89.12 ± 0.21%' over several seeds, '88.87%' for one."""
    spread = f" ± {100 * std:.{digits}f}" if seeds > 1 else ""
    return f"{100 * mean:.{digits}f}{spread}%"


def word(n: int) -> str:
    """Small counts as words: 3 -> 'three'; larger ones as digits."""
    return NUMBER_WORDS.get(n, str(n))


def and_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def name_list(names: list[str], empty: str = "none") -> str:
    """'a, b' (run names in prose), or `empty`. Plain text: Quarto inserts an inline value as text, so
    Markdown in it (`*a*`) would print literally."""
    return ", ".join(str(n) for n in names) if names else empty


italic_list = name_list  # the former name (it returned `*a*, *b*`); gan.facts still calls it


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def sci(x: float) -> str:
    """Powers of ten without LaTeX (Pandoc superscript): 3.2e-05 -> '3.2 × 10^-5^'."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa} × 10^{int(exponent)}^"


class TeX(str):
    """Text to place inside `$…$` math. Quarto inserts an inline value's `text/markdown` as it is, but
    Markdown-escapes a plain string (`1.39` becomes `1\\.39`), which Pandoc cannot read as TeX."""

    def _repr_markdown_(self) -> str:
        return str(self)


def tex(x: float, digits: int | None = None) -> TeX:
    """A computed number for inline math: `$2 \\log 2 \\approx `{python} tex(x, 2)`$`.

    Integers as they are (thousands with a thin space, `60\\,000`, which MathJax and Pandoc's Typst
    writer both keep; `{,}` becomes a wide gap in Typst), floats with `digits` decimals (or the shortest
    form, `:g`)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) and not hasattr(x, "__float__"):
        raise TypeError(f"tex() formats numbers, not {type(x).__name__}")
    if float(x) == int(float(x)) and digits is None and abs(float(x)) < 1e15:
        text = f"{int(float(x)):,}"
    else:
        text = f"{float(x):,.{digits}f}" if digits is not None else f"{float(x):g}"
    return TeX(text.replace(",", "\\,"))
