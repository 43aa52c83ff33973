"""Plot style shared by every figure: a colour-blind-safe palette (Okabe & Ito 2008) and figure sizes
that read well in the HTML pages and in the Typst PDF. Plot functions take results and return a
`matplotlib.figure.Figure`; they never train.

Resolution is Quarto's: its kernel setup sets `figure.dpi` from each format's `fig-dpi` (150 for the
site, 200 for the PDF) before the first cell runs, so this module never sets it (it did, to 110, and
the PDF's images came out at 782 px, ~130 ppi).

Dark mode: a figure cell with `#| renderings: [light, dark]` shows `plots.renderings(draw)`, which calls
`draw()` once per style and displays both images; Quarto shows the first in the light theme (and in
the PDF) and the second in the dark one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import matplotlib.pyplot as plt

# Okabe-Ito: distinguishable under the common colour-vision deficiencies, and in grey-scale print.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
# The same hues for a dark background: black becomes light grey, the darkest blue a lighter one.
OKABE_ITO_DARK = ["#56B4E9", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#F0E442", "#DDDDDD"]
SEQUENTIAL = "viridis"  # perceptually uniform and colour-blind safe, for heatmaps

WIDTH = 7.0  # inches: fits the PDF's text width; HTML scales it to the column

# seaborn's `set_theme(context="notebook", style="whitegrid")`, as the rcParams it sets: the same look
# without importing seaborn (and scipy.stats behind it), about a second of every chapter's render.
WHITEGRID = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.grid": True, "axes.labelcolor": ".15",
    "axes.linewidth": 1.25, "font.size": 12.0, "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans",
                                                                    "Bitstream Vera Sans", "sans-serif"],
    "grid.color": ".8", "grid.linewidth": 1.0, "legend.title_fontsize": 12.0, "lines.solid_capstyle": "round",
    "patch.edgecolor": "w", "patch.force_edgecolor": True, "text.color": ".15",
    "xtick.bottom": False, "xtick.color": ".15", "xtick.labelsize": 11.0, "xtick.major.size": 6.0,
    "xtick.major.width": 1.25, "xtick.minor.size": 4.0, "xtick.minor.width": 1.0,
    "ytick.left": False, "ytick.color": ".15", "ytick.labelsize": 11.0, "ytick.major.size": 6.0,
    "ytick.major.width": 1.25, "ytick.minor.size": 4.0, "ytick.minor.width": 1.0,
}

STYLE = {
    "savefig.dpi": 200,  # files written by the command line (`hw3 sample --png`); a render uses Quarto's dpi
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.loc": "best",
    "image.cmap": SEQUENTIAL,
    "axes.prop_cycle": plt.cycler(color=OKABE_ITO),
}

# Darkly's page colours (Bootstrap's $gray-900 background, its body text): a figure drawn for the dark
# theme sits on the page's own background, with text and grid readable on it.
DARK = {
    "figure.facecolor": "#222222", "axes.facecolor": "#222222", "savefig.facecolor": "#222222",
    "axes.edgecolor": "#555555", "grid.color": "#444444", "text.color": "#E6E6E6",
    "axes.labelcolor": "#E6E6E6", "xtick.color": "#E6E6E6", "ytick.color": "#E6E6E6",
    "legend.facecolor": "#222222", "legend.edgecolor": "#555555", "patch.edgecolor": "#222222",
    "axes.prop_cycle": plt.cycler(color=OKABE_ITO_DARK),
}


def setup() -> None:
    """Apply the report's style (call once; the package does it on import of this module).

    Leaves `figure.dpi` and `figure.figsize` alone: Quarto sets them per format."""
    plt.rcParams.update(WHITEGRID)
    plt.rcParams.update(STYLE)


def figure(nrows: int = 1, ncols: int = 1, height: float | None = None, width: float = WIDTH, **kwargs):
    """A new figure of the report's width; returns (fig, axes) like `plt.subplots`.

    The figure is detached from pyplot at once, so a document shows it once (as the cell's value),
    not a second time when the inline backend flushes pyplot's open figures."""
    height = height or width * 0.55
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), constrained_layout=True, **kwargs)
    plt.close(fig)
    return fig, axes


def legend_outside(owner, where: str = "lower center", ncols: int | None = None, **kwargs):
    """A legend outside the plotting area, so it never covers data (`legend.loc: best` still can).

    owner: an Axes (its own entries, just outside its box) or a Figure drawn with constrained layout
    (every axes' entries, once each, in the figure's margin). where: "lower center" (below), "upper
    center" (above), "center right" or "center left" (beside). One row above or below, one column beside."""
    side = where.split()[-1] if where.startswith("center") else where.split()[0]
    if hasattr(owner, "get_legend_handles_labels"):  # an Axes
        handles, labels = owner.get_legend_handles_labels()
    else:
        seen: dict[str, object] = {}
        for ax in owner.axes:
            for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
                seen.setdefault(label, h)
        handles, labels = list(seen.values()), list(seen)
    if ncols is None:
        ncols = 1 if side in ("left", "right") else max(1, len(labels))
    kwargs.setdefault("frameon", False)
    if hasattr(owner, "get_legend_handles_labels"):
        anchor = {"lower": (0.5, -0.12), "upper": (0.5, 1.02), "right": (1.02, 0.5), "left": (-0.02, 0.5)}[side]
        loc = {"lower": "upper center", "upper": "lower center", "right": "center left", "left": "center right"}[side]
        return owner.legend(handles, labels, loc=loc, bbox_to_anchor=anchor, ncols=ncols, **kwargs)
    return owner.legend(handles, labels, loc=f"outside {where}", ncols=ncols, **kwargs)


@contextmanager
def style(name: str = "light"):
    """The report's style ("light") or its dark variant ("dark") for figures drawn inside the block."""
    if name not in ("light", "dark"):
        raise ValueError(f"style is 'light' or 'dark', not {name!r}")
    with plt.rc_context(DARK if name == "dark" else {}):
        yield


def renderings(draw: Callable[[], object], names: tuple[str, ...] = ("light", "dark")) -> None:
    """Show `draw()` (a function returning a Figure) once per style, in order, for a cell with
    `#| renderings: [light, dark]`: Quarto takes the cell's images in that order. Returns None, so the
    cell shows nothing else."""
    from IPython.display import display

    for name in names:
        with style(name):
            display(draw())


setup()
