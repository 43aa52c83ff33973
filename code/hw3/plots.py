"""Plot style shared by every figure: a colour-blind-safe palette (Okabe & Ito 2008) and figure sizes
that read well in the HTML pages and in the Typst PDF. Plot functions take results and return a
`matplotlib.figure.Figure`; they never train."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

# Okabe-Ito: distinguishable under the common colour-vision deficiencies, and in grey-scale print.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SEQUENTIAL = "viridis"  # perceptually uniform and colour-blind safe, for heatmaps

WIDTH = 7.0  # inches: fits the PDF's text width; HTML scales it to the column


def setup() -> None:
    """Apply the report's style (call once; the package does it on import of this module)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=OKABE_ITO)
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
