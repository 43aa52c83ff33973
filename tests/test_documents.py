"""Every .qmd in the project executes end to end through a real Jupyter kernel in the quick profile.

Documents are discovered, so one added later is covered without touching this file. Set
`HW3_DOCS=gan` (a substring of the path) to execute only matching documents.
"""

import os

import pytest

from hw3.tables import problems

from conftest import needs_data
from quarto import ROOT, execute, find_documents, markdown_markup, math_with_inline_values, parse

DOCS = [p for p in find_documents() if os.environ.get("HW3_DOCS", "") in str(p.relative_to(ROOT))]


@pytest.fixture(scope="module")
def book_results(tmp_path_factory):
    """One quick-profile results folder for every document, as a render reads one results/: the runs a
    chapter trains are loaded, not trained again, by the chapters (and the front page) that show them."""
    return tmp_path_factory.mktemp("results")


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_document_executes_in_quick_profile(path, book_results, monkeypatch):
    monkeypatch.setenv("HW3_QUICK", "1")
    monkeypatch.setenv("HW3_RESULTS", str(book_results))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    doc = parse(path)
    nb = execute(doc, cwd=ROOT)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    # A figure cell must draw exactly one image (or one per sub-caption), times one per rendering with
    # `renderings: [light, dark]` (hw3.plots.renderings): a second copy, e.g. pyplot's flush of a returned
    # figure, would become an unwanted sub-figure in Quarto.
    for cell, nb_cell in zip(doc.cells, nb.cells, strict=True):
        label = str(cell.options.get("label", ""))
        if cell.kind == "code" and label.startswith("fig-") and cell.options.get("eval", True) is not False:
            images = sum("image/png" in o.get("data", {}) for o in nb_cell.get("outputs", []))
            expected = len(cell.options.get("fig-subcap") or [None]) * len(cell.options.get("renderings") or [None])
            assert images == expected, f"{path.name}:{cell.line}: {label} drew {images} images, expected {expected}"
    # Tables: a Markdown pipe table (Pandoc lays it out in HTML and Typst), no HTML version, nothing cut
    # with an ellipsis, no HTML entity.
    for cell, nb_cell in zip(doc.cells, nb.cells, strict=True):
        label = str(cell.options.get("label", ""))
        if cell.kind == "code" and label.startswith("tbl-") and cell.options.get("eval", True) is not False:
            data = [o.get("data", {}) for o in nb_cell.get("outputs", []) if "data" in o]
            tables = [d["text/markdown"] for d in data if "text/markdown" in d]
            assert len(tables) == 1 and tables[0].lstrip().startswith("|"), f"{path.name}:{cell.line}: {label}"
            assert not any("text/html" in d for d in data), f"{path.name}:{cell.line}: {label} also prints HTML"
            assert not problems(tables[0]), f"{path.name}:{cell.line}: {label}: {problems(tables[0])}"
    # Math: an inline value inside $…$ reaches Pandoc exactly as computed (Quarto escapes plain strings).
    for cell, nb_cell in zip(doc.cells, nb.cells, strict=True):
        if cell.kind == "markdown":
            for span, exprs in math_with_inline_values(cell.source):
                for e in exprs:
                    md, value = nb_cell.metadata["inline_markdown"][e], nb_cell.metadata["inline_value"][e]
                    assert md == value, f"{path.name}: {e} = {value!r} in {span!r} becomes {md!r} in the Markdown"
    # Inline values: Quarto inserts a string as text, so Markdown in it prints literally (`*hidden256*`).
    for cell, nb_cell in zip(doc.cells, nb.cells, strict=True):
        if cell.kind == "markdown" and "inline_value" in nb_cell.metadata:
            for e, value in nb_cell.metadata["inline_value"].items():
                if not nb_cell.metadata["inline_is_markdown"][e]:
                    assert not markdown_markup(value), f"{path.name}: `{{python}} {e}` prints Markdown {markdown_markup(value)}"


@pytest.mark.slow
def test_a_cell_with_renderings_draws_light_then_dark(tmp_path, monkeypatch):
    """The recipe for dark-mode figures (issue 17, item 12), through a Jupyter kernel as Quarto runs it:
    `#| renderings: [light, dark]` and `plots.renderings(lambda: <figure>)` give two images, light first."""
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    doc = tmp_path / "renderings.qmd"
    doc.write_text('''---
title: renderings
---

```{python}
#| label: fig-demo
#| fig-cap: "A line."
#| fig-alt: "A rising line."
#| renderings: [light, dark]
from hw3 import plots

def line():
    fig, ax = plots.figure(height=2)
    ax.plot([0, 1], [0, 1], label="y = x")
    plots.legend_outside(ax)
    return fig

plots.renderings(line)
```

See @fig-demo.
''', encoding="utf-8")
    parsed = parse(doc)
    nb = execute(parsed, cwd=ROOT)
    (cell,) = [c for c in nb.cells if c.cell_type == "code"]
    images = [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(images) == len(parsed.code_cells[0].options["renderings"]) == 2
    assert not [o for o in cell.outputs if "text/plain" in o.get("data", {}) and "image/png" not in o["data"]]

    import base64
    import io

    from PIL import Image

    light, dark = (Image.open(io.BytesIO(base64.b64decode(i))).convert("L") for i in images)
    assert light.getpixel((2, 2)) > 200 and dark.getpixel((2, 2)) < 60, "white page for light, dark page for dark"
