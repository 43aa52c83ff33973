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

from quarto import ROOT, find_documents, math_with_inline_values, parse

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


# --- what a real render showed (issue 10): math with computed numbers, tables, bibliography, publishing --

def test_math_span_finder():
    found = math_with_inline_values("a $x = `{python} tex(v)`$ and $5 costs `{python} p` and $y$ and `$z`")
    assert found == [("$x = \x000\x00$", ["tex(v)"])]


@pytest.mark.parametrize("path", DOCS, ids=IDS)
def test_computed_numbers_in_math_are_formatted_for_tex(path):
    """Quarto Markdown-escapes an inline string (`1.39` -> `1\\.39`), which breaks TeX math in both formats;
    a computed number inside `$…$` must go through `hw3.fmt.tex` (inserted as Markdown, unescaped)."""
    for span, exprs in math_with_inline_values(parse(path).markdown):
        bad = [e for e in exprs if not re.match(r"(fmt\.)?tex\(", e)]
        assert not bad, f"{path.name}: inline value(s) {bad} inside math {span!r}: wrap them in tex(…)"


TABLE_CALL = re.compile(r"^(tables\.)?show\(", re.M)


@pytest.mark.parametrize("path", DOCS, ids=IDS)
def test_table_cells_print_markdown_tables(path):
    """A table cell returns `hw3.tables.show(…)`: a Markdown pipe table laid out by Pandoc in both formats,
    not a DataFrame (its HTML is escaped again for Typst, `Dai &amp; Le`, and its repr cuts text with "…")."""
    for cell in parse(path).code_cells:
        label = str(cell.options.get("label", ""))
        if label.startswith("tbl-") and cell.options.get("eval", True) is not False:
            last = cell.source.strip().split("\n\n")[-1]
            assert TABLE_CALL.match(last), f"{path.name}:{cell.line}: {label} must end with show(…) (hw3.tables)"
            assert ".style" not in cell.source and "to_html" not in cell.source, f"{path.name}:{cell.line}: HTML table"


ENTITY = re.compile(r"&(?:amp|lt|gt|quot|nbsp|#\d+|#x[0-9a-fA-F]+);")


def test_no_pre_escaped_html_in_text_for_both_formats():
    """Text meant for both formats is never pre-escaped HTML (it leaked into the PDF as `Dai &amp; Le`)."""
    files = [*DOCS, *sorted((ROOT / "code" / "hw3").rglob("*.py"))]
    for path in files:
        text = path.read_text(encoding="utf-8")
        hits = sorted(set(ENTITY.findall(text)))
        assert not hits, f"{path.relative_to(ROOT)}: HTML entities {hits} (write the character; escaping is per format)"


def test_one_bibliography_at_the_end_in_both_formats():
    """Quarto's book docs: a `references.qmd` holding `::: {#refs}` where the bibliography goes. Typst
    places its own bibliography at the end of the PDF unless Pandoc's citeproc is asked for (`citeproc:
    true`), which fills the same #refs div as in HTML: one bibliography, in both formats. It is the
    book's last item, an appendix, so the PDF does not number it as a section of the last chapter."""
    cfg = quarto_config()
    assert cfg.get("bibliography") == "references.bib" and (ROOT / "references.bib").exists()
    book = cfg["book"]
    listed = chapters(cfg)
    assert listed[-1] == "references.qmd", "the bibliography is the book's last item"
    assert "references.qmd" in (book.get("appendices") or []), "an appendix, not an unnumbered chapter after chapter 8"
    holders = [str(p.relative_to(ROOT)) for p in DOCS if re.search(r"^:::+\s*\{#refs\}", p.read_text(encoding="utf-8"), re.M)]
    assert holders == ["references.qmd"], f"one #refs div, in references.qmd: {holders}"
    refs = parse(ROOT / "references.qmd").markdown
    assert not re.search(r"^#\s.*\{[^}]*\.unnumbered", refs, re.M), \
        "an unnumbered first appendix is taken by the Typst book format as its 'Appendices' divider"
    assert cfg["format"]["typst"].get("citeproc") is True, "Typst's own bibliography would come a second time"


def test_site_has_what_readers_of_a_quarto_book_expect():
    cfg = quarto_config()
    book, html = cfg["book"], cfg["format"]["html"]
    assert "pdf" in book.get("downloads", []), "a Download PDF button"
    # a repository link only when there is a repository: a placeholder URL is a broken link on every page
    assert "repo-url" not in book or str(book["repo-url"]).startswith("https://github.com/") and book.get("repo-actions")
    assert html.get("lightbox") in (True, "auto"), "digit grids and heatmaps open in a lightbox"
    assert set(html["theme"]) == {"light", "dark"}, "a light/dark theme pair"
    # issue 19: our theme layer over both Bootstrap themes (contrast, link underlines, widgets)
    assert html["theme"]["light"][0] == "cosmo" and "theme/custom.scss" in html["theme"]["light"]
    assert html["theme"]["dark"][0] == "darkly" and html["theme"]["dark"][-1] == "theme/dark.scss"
    for layer in {*html["theme"]["light"][1:], *html["theme"]["dark"][1:], html["include-after-body"]}:
        assert (ROOT / layer).exists(), layer
    for layer in ("theme/custom.scss", "theme/dark.scss"):
        assert "/*-- scss:rules --*/" in (ROOT / layer).read_text(encoding="utf-8"), f"{layer}: not a Quarto theme layer"
    debug = yaml.safe_load((ROOT / "_quarto-debug.yml").read_text(encoding="utf-8"))
    assert debug["format"]["html"]["axe"], "quarto render --profile debug: axe-core's report in every page"


def test_pdf_layout_partial():
    """The PDF's layout (issue 17): our typst-show partial in place of orange-book's, keeping the functions
    Quarto's book filter emits into the body, and opening no chapter on an odd page (blank pages)."""
    typst = quarto_config()["format"]["typst"]
    assert typst.get("template-partials") == ["partials/typst-show.typ"]
    assert "include-in-header" not in typst, "a header include comes before the partial's rules"
    text = (ROOT / "partials" / "typst-show.typ").read_text(encoding="utf-8")
    for name in ("part(title)", "chapter(title", "appendices(title, doc", "#show: book.with("):
        assert name in text, name
    assert 'to: "odd"' not in text.replace('// ', '\n') or 'pagebreak(to: "odd")' not in text
    assert "pagebreak(weak: true)" in text
    assert 'figure.where(kind: "quarto-float-tbl"): set block(breakable: true)' in text
    assert "show figure: set block(breakable: false)" in text, "image figures keep their caption"
    assert "$course$" in text and "$it.name.literal$" in text and "$date$" in text, "a cover with course, authors, date"


WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"


def test_publish_workflow():
    """Quarto's publishing guide (GitHub Pages via GitHub Actions): set up Quarto with the official
    action, render from the stored runs, publish to the gh-pages branch."""
    wf = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on:` key as True
    assert "push" in triggers and "workflow_dispatch" in triggers
    (job,) = wf["jobs"].values()
    assert job["permissions"]["contents"] == "write", "publish pushes the gh-pages branch"
    steps = job["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    for action in ("actions/checkout", "quarto-dev/quarto-actions/setup", "actions/setup-python",
                   "quarto-dev/quarto-actions/publish"):
        assert action in uses, f"workflow step {action} missing"
    assert uses.index("quarto-dev/quarto-actions/setup") < uses.index("quarto-dev/quarto-actions/publish")
    publish = steps[uses.index("quarto-dev/quarto-actions/publish")]
    assert publish["with"]["target"] == "gh-pages"
    assert "GITHUB_TOKEN" in publish.get("env", {})
    env = {**wf.get("env", {}), **job.get("env", {})}
    assert str(env.get("HW3_NO_TRAIN")) == "1", "the site renders from the stored runs, never trains"
    install = " ".join(s.get("run", "") for s in steps)
    assert "pip install" in install and "QUARTO_PYTHON" in install


# --- the book's finish (issue 17): each defect class of the real render, so it cannot come back ----------

def test_markdown_markup_detector():
    from quarto import markdown_markup

    assert markdown_markup("*hidden256*, *dcgan* and `x`") == ["*hidden256*", "*dcgan*", "`x`"]
    assert markdown_markup("_emph_") == ["_emph_"]
    assert markdown_markup("snake_case_names, 2 * 3 and run_a") == []


MATH_SPAN = re.compile(r"\$\$.+?\$\$|(?<![\\$\w])\$(?![\s$])(?:\\\$|[^$])+?(?<![\s\\])\$(?!\d)", re.S)
BAD_MATH = re.compile(r"\\!|\\[bB]igg?[lrm]?\b")


@pytest.mark.parametrize("path", DOCS, ids=IDS)
def test_math_that_both_renderers_draw_well(path):
    """`\\!` and `\\big…` drew the bracket over "max" in the PDF (Typst's converter); `\\left( … \\right)` and
    `\\lvert x \\rvert` work in MathJax and in Typst."""
    text = re.sub(r"^(`{3,}|~{3,}).*?^\1", "", parse(path).markdown, flags=re.S | re.M)
    text = re.sub(r"`[^`]*`", "", text)
    bad = [m.group(0)[:80] for m in MATH_SPAN.finditer(text) if BAD_MATH.search(m.group(0))]
    assert not bad, f"{path.name}: math with \\! or \\big…: {bad}"


def test_every_numbered_float_is_referenced():
    """Every figure and table with a label is referenced in the text (@fig-…, @tbl-…) somewhere in the book."""
    referenced = set()
    for path in DOCS:
        referenced |= set(XREF.findall(_prose(parse(path).markdown)))
    floats = {label: name for label, name in all_labels().items() if label.startswith(("fig-", "tbl-"))}
    missing = sorted(f"{name}: {label}" for label, name in floats.items() if label not in referenced)
    assert not missing, f"floats never referenced in the text: {missing}"


PLURAL_HACK = re.compile(r"\w\(s\)")


def test_no_plural_hacks():
    """"3 seed(s)": the words are chosen from the number (hw3.fmt), in the prose and in the modules whose
    strings the report prints (facts, figures, tables, the front page, the card)."""
    hits = []
    for path in DOCS:
        hits += [f"{path.name}: {m.group(0)}" for m in PLURAL_HACK.finditer(_prose(parse(path).markdown))]
    report_text = ("facts.py", "figures.py", "report.py", "card.py", "fmt.py", "tables.py", "analysis.py")
    for path in sorted(p for p in (ROOT / "code" / "hw3").rglob("*.py") if p.name in report_text):
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            code = line.split("#", 1)[0]
            if PLURAL_HACK.search(code) and re.search(r"[\"'].*\w\(s\).*[\"']", code):
                hits.append(f"{path.relative_to(ROOT)}:{n}")
    assert not hits, f"plural hacks: {hits}"


@pytest.mark.parametrize("path", DOCS, ids=IDS)
def test_single_format_figures_carry_no_number(path):
    """Typst numbers every figure, HTML only labelled ones: a figure present in one format only (a PDF
    fallback image, an HTML-only widget) must not carry a caption or label, or the numbers of the two
    formats drift apart (issue 17, item 5)."""
    from quarto import single_format

    for cell in parse(path).code_cells:
        fmt = single_format(cell)
        if fmt and (cell.options.get("fig-cap") or str(cell.options.get("label", "")).startswith(("fig-", "tbl-"))):
            raise AssertionError(f"{path.name}:{cell.line}: a numbered float only in {fmt}")
