"""hw3.plots: Quarto's resolution is kept, legends go outside, and a figure cell can show a light and a
dark rendering."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from hw3 import plots


def test_setup_keeps_the_resolution_quarto_sets():
    """Quarto's kernel setup sets figure.dpi from the format's fig-dpi (200 for the PDF) before the
    chapter imports hw3; the style must not reset it (it did, to 110: 782-px images in the PDF)."""
    with plt.rc_context({"figure.dpi": 200}):
        plots.setup()
        assert plt.rcParams["figure.dpi"] == 200
        fig, _ = plots.figure()
        assert fig.dpi == 200
        fig.canvas.draw()
        assert fig.canvas.get_width_height()[0] == int(plots.WIDTH * 200)


def _overlaps(fig, legend, ax) -> bool:
    fig.canvas.draw()
    box, area = legend.get_window_extent(), ax.get_window_extent()
    return box.overlaps(area)


@pytest.mark.parametrize("where", ["lower center", "upper center", "center right"])
def test_legend_outside_never_covers_the_axes(where):
    fig, ax = plots.figure()
    x = np.linspace(0, 1, 50)
    for k in range(4):
        ax.plot(x, x * k, label=f"run {k}")
    legend = plots.legend_outside(ax, where)
    assert len(legend.get_texts()) == 4
    assert not _overlaps(fig, legend, ax)


def test_figure_legend_collects_each_label_once():
    fig, axes = plots.figure(1, 2)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="train")
        ax.plot([0, 1], [1, 0], label="validation")
    legend = plots.legend_outside(fig, "lower center")
    assert [t.get_text() for t in legend.get_texts()] == ["train", "validation"]
    fig.canvas.draw()
    assert not any(legend.get_window_extent().overlaps(ax.get_window_extent()) for ax in axes)


def test_renderings_draw_light_then_dark(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda fig: shown.append(fig))

    def draw():
        fig, ax = plots.figure()
        ax.plot([0, 1], [0, 1])
        ax.set_title("t")
        return fig

    assert plots.renderings(draw) is None
    light, dark = shown
    assert matplotlib.colors.to_hex(light.get_facecolor()) == "#ffffff"
    assert matplotlib.colors.to_hex(dark.get_facecolor()) == plots.DARK["figure.facecolor"].lower()
    assert matplotlib.colors.to_hex(dark.axes[0].title.get_color()) == plots.DARK["text.color"].lower()
    # the dark style does not leak into the next figure
    assert matplotlib.colors.to_hex(plots.figure()[0].get_facecolor()) == "#ffffff"


def test_style_names():
    with pytest.raises(ValueError):
        with plots.style("sepia"):
            pass
