"""Plot style shared by every figure: a colour-blind-safe palette (Okabe & Ito 2008) and figure sizes
that read well in the HTML pages and in the Typst PDF. Plot functions take results and return a
`matplotlib.figure.Figure`; they never train."""

from __future__ import annotations

import matplotlib.pyplot as plt

# Okabe-Ito: distinguishable under the common colour-vision deficiencies, and in grey-scale print.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
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


def setup() -> None:
    """Apply the report's style (call once; the package does it on import of this module)."""
    plt.rcParams.update(WHITEGRID)
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 200,
            "figure.figsize": (WIDTH, WIDTH * 0.55),
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "image.cmap": SEQUENTIAL,
            "axes.prop_cycle": plt.cycler(color=OKABE_ITO),
        }
    )


def figure(nrows: int = 1, ncols: int = 1, height: float | None = None, width: float = WIDTH, **kwargs):
    """A new figure of the report's width; returns (fig, axes) like `plt.subplots`.

    The figure is detached from pyplot at once, so a document shows it once (as the cell's value),
    not a second time when the inline backend flushes pyplot's open figures."""
    height = height or width * 0.55
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), constrained_layout=True, **kwargs)
    plt.close(fig)
    return fig, axes


setup()
