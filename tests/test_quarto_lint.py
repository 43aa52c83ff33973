"""Quarto structure, checked without Quarto: what would only break when a user renders.

- `_quarto.yml` is a book whose chapters all exist, and every document is a chapter;
- every cell's `#|` block is a YAML mapping of known Quarto cell options;
- every figure cell has `fig-cap` and `fig-alt`, every table cell `tbl-cap`; labels are unique;
- every `@fig-…`/`@tbl-…`/`@sec-…` reference resolves somewhere in the book;
- every citation `@key` is in `references.bib`.
"""

import re

import pytest
import yaml

from quarto import ROOT, find_documents, parse

DOCS = find_documents()
IDS = [str(p.relative_to(ROOT)) for p in DOCS]

# Cell options of Quarto's Jupyter engine (quarto.org/docs/reference/cells/cells-jupyter.html).
KNOWN_OPTIONS = {
    "label", "fig-cap", "fig-subcap", "fig-alt", "fig-align", "fig-env", "fig-pos", "fig-scap", "fig-link",
    "fig-width", "fig-height", "fig-format", "fig-dpi", "fig-asp", "fig-column", "fig-cap-location",
    "tbl-cap", "tbl-subcap", "tbl-colwidths", "tbl-column", "tbl-cap-location", "html-table-processing",
    "layout", "layout-ncol", "layout-nrow", "layout-align", "layout-valign",
    "echo", "eval", "include", "output", "warning", "error", "message", "code-fold", "code-summary",
    "code-overflow", "code-line-numbers", "code-annotations", "lst-label", "lst-cap", "classes", "tags",
    "column", "output-location", "cap-location", "panel", "id", "filename", "renderings",
}
XREF = re.compile(r"(?<![\w@.])@((?:fig|tbl|sec|eq)-[\w-]*\w)")
CITE = re.compile(r"(?<![\w@.])@([A-Za-z][\w:.-]*\w)")
HEADING_ID = re.compile(r"\{#((?:sec|fig|tbl|eq)-[\w-]+)[^}]*\}")


def quarto_config() -> dict:
    return yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))


def chapters(cfg: dict) -> list[str]:
    out = []

    def walk(items):
        for item in items or []:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                if "href" in item:
                    out.append(item["href"])
                walk(item.get("chapters"))

    book = cfg.get("book", {})
    walk(book.get("chapters"))
    walk(book.get("appendices"))
    return out


def test_quarto_yml_is_a_book_with_html_and_pdf():
    cfg = quarto_config()
    assert cfg["project"]["type"] == "book"
    assert "html" in cfg["format"] and "typst" in cfg["format"], "HTML site and Typst PDF"
    assert cfg["execute"]["freeze"] == "auto"
    assert cfg["project"].get("execute-dir") == "project"


def test_every_chapter_exists_and_every_document_is_a_chapter():
    listed = chapters(quarto_config())
    assert listed and listed[0] == "index.qmd", "a book's first chapter must be index.qmd"
    missing = [c for c in listed if not (ROOT / c).exists()]
    assert not missing, f"chapters listed in _quarto.yml that do not exist: {missing}"
    unlisted = [i for i in IDS if i not in listed]
    assert not unlisted, f"documents not listed as chapters in _quarto.yml: {unlisted}"


@pytest.mark.parametrize("path", DOCS, ids=IDS)
def test_cell_options(path):
    doc = parse(path)
    assert doc.front.get("title") or re.search(r"^# \S", doc.markdown, re.M), f"{path.name}: no title"
    for cell in doc.code_cells:
        where = f"{path.name}:{cell.line}"
        assert cell.option_error is None, f"{where}: {cell.option_error}"
        unknown = set(cell.options) - KNOWN_OPTIONS
        assert not unknown, f"{where}: unknown cell option(s) {sorted(unknown)}"
        label = str(cell.options.get("label", ""))
        if label.startswith("fig-"):
            assert cell.options.get("fig-cap"), f"{where}: figure {label} has no fig-cap"
            assert cell.options.get("fig-alt"), f"{where}: figure {label} has no fig-alt (alt text)"
        if label.startswith("tbl-"):
            assert cell.options.get("tbl-cap"), f"{where}: table {label} has no tbl-cap"


def all_labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for path in DOCS:
        doc = parse(path)
        found = [str(c.options["label"]) for c in doc.code_cells if "label" in c.options]
        found += HEADING_ID.findall(doc.markdown)
        for label in found:
            assert label not in labels, f"label {label} defined in {labels.get(label)} and {path.name}"
            labels[label] = path.name
    return labels


def test_labels_are_unique_and_every_cross_reference_resolves():
    labels = all_labels()
    for path in DOCS:
        text = _prose(parse(path).markdown)
        unresolved = sorted(set(XREF.findall(text)) - set(labels))
        assert not unresolved, f"{path.name}: references without a label: {unresolved}"


def bib_keys() -> set[str]:
    bib = ROOT / "references.bib"
    return set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", bib.read_text(encoding="utf-8"))) if bib.exists() else set()


def test_every_citation_is_in_the_bibliography():
    keys = bib_keys()
    for path in DOCS:
        text = _prose(parse(path).markdown)
        cites = {k for k in CITE.findall(text) if not re.match(r"(fig|tbl|sec|eq|lst)-", k)}
        missing = sorted(cites - keys)
        assert not missing, f"{path.name}: citations not in references.bib: {missing}"


def _prose(markdown: str) -> str:
    """Markdown without fenced blocks, inline code, e-mail addresses and URLs (where @ is not a citation)."""
    text = re.sub(r"^(`{3,}|~{3,}).*?^\1", "", markdown, flags=re.S | re.M)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\S+@\S+\.\w+", "", text)
    return re.sub(r"https?://\S+", "", text)
