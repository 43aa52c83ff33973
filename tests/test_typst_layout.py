"""The PDF's layout (partials/typst-show.typ, issue 17) compiled with Typst on a sample book shaped like
Quarto's output (front matter, parts, chapters, figures, a long table, code, an appendix with references).

Needs the `typst` Python package (`pip install typst`); Quarto bundles its own Typst and is not needed.
It checks what the real render got wrong: blank pages, a running header over two lines, the page number
twice, captions torn from their floats; and that the cover names course, authors and date.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

typst = pytest.importorskip("typst")
pypdf = pytest.importorskip("pypdf")

ROOT = Path(__file__).resolve().parents[1]
VALUES = {"title": "Deep Learning Assignment 3", "subtitle": "Theory, a GAN, and attention", "course": "Deep Learning",
          "date": "2 December 2026", "lang": "en", "papersize": "a4", "toc-depth": "2"}
FILLER = "The generator maps a latent code to an image and the discriminator scores it. " * 8

# What Quarto puts around the partial (page.typ, and its per-chapter counter resets after it).
BEFORE = '#set page(paper: "a4", margin: (x: 1.25in, y: 1.25in), numbering: "1", columns: 1)\n'
AFTER = """#show heading.where(level: 1): it => {
  counter(figure.where(kind: "quarto-float-fig")).update(0)
  counter(figure.where(kind: "quarto-float-tbl")).update(0)
  it
}
"""


def expand(partial: str) -> str:
    """The partial as Pandoc fills it for this sample (only the template syntax it uses)."""
    text = re.sub(r"\$if\(by-author\)\$\n.*?\$endif\$\n", '  authors: ("Ada Lovelace", "Alan Turing",),\n', partial, flags=re.S)
    text = re.sub(r"\$if\(([\w-]+)\)\$\n(.*?)\$endif\$\n",
                  lambda m: m.group(2).replace(f"${m.group(1)}$", VALUES[m.group(1)]) if m.group(1) in VALUES else "",
                  text, flags=re.S)
    assert "$" not in text, "unexpanded template variables"
    return text


def figure(label: str, caption: str, image: str) -> str:
    return (f'#figure([\n#box(image("{image}", width: 100%))\n], caption: figure.caption(position: bottom, [\n{caption}\n]), '
            f'kind: "quarto-float-fig", supplement: "Figure")\n<{label}>\n\n')


def table(label: str, rows: int) -> str:
    cells = ", ".join(f"[run{i}], [{i * 1.5:.2f}]" for i in range(rows))
    return (f"#figure([\n#table(columns: 2, table.header([run], [value]), table.hline(), {cells})\n], "
            f'caption: figure.caption(position: top, [\nCaption of {label}.\n]), kind: "quarto-float-tbl", '
            f'supplement: "Table")\n<{label}>\n\n')


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    tmp = tmp_path_factory.mktemp("typst")
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp / "tall.png", dpi=60)
    plt.close(fig)
    body = ["#heading(level: 1, numbering: none)[About this report]\n<about>\n", FILLER, "\n\n",
            table("tbl-glance", 4), "#part[Q1 · Theory]\n"]
    for k, title in enumerate(["Limits of transfer learning: ImageNet models on medical images",
                               "Fully connected versus convolutional layers"]):
        body += [f"= {title}\n<ch{k}>\n", FILLER * 3, "\n\n== Section\n", FILLER * 2, "\n\n",
                 figure(f"fig-{k}", "A tall figure that must keep its caption.", "tall.png"), FILLER * 2, "\n\n"]
    body += ["#part[Q3 · Attention]\n", "= Attention for IMDb sentiment: a GRU with and without additive attention\n<att>\n",
             FILLER * 4, "\n\n", table("tbl-long", 70),
             "```\nhw3 sample gan --run spec -n 64 --out samples.pt --png samples.png   # a long comment that wraps past the edge\n```\n\n",
             '#show: appendices.with("Appendices", hide-parent: true)\n= References\n<references>\n#block[\n',
             *[f"#block[\nLeCun, Yann, and others. 1998. “A title that is long enough to wrap onto a second line of the page.” Journal {i}.\n] <ref-{i}>\n" for i in range(6)],
             "] <refs>\n"]
    partial = expand((ROOT / "partials" / "typst-show.typ").read_text(encoding="utf-8"))
    main = tmp / "main.typ"
    main.write_text(BEFORE + partial + AFTER + "".join(body), encoding="utf-8")
    typst.compile(str(main), output=str(tmp / "book.pdf"))
    return [page.extract_text() or "" for page in pypdf.PdfReader(tmp / "book.pdf").pages]


def test_no_blank_pages(pdf):
    for n, text in enumerate(pdf, 1):
        words = [w for w in re.findall(r"[A-Za-z]{3,}", text)]
        assert len(words) > 5, f"page {n} is (nearly) empty: {text!r}"


def test_cover_names_course_title_authors_and_date(pdf):
    cover = pdf[0]
    for text in ("DEEP LEARNING", "Deep Learning Assignment 3", "Ada Lovelace and Alan Turing", "2 December 2026"):
        assert text in cover


def test_page_number_once_and_running_header_on_one_line(pdf):
    for n, text in enumerate(pdf[1:], 2):
        lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
        number = str(n - 1)  # the cover is not counted
        assert lines.count(number) == 1, f"page {n}: its number {number} is printed {lines.count(number)} times"
        if lines[0].startswith("Chapter"):
            assert ":" not in lines[0] and len(lines[0]) < 80, f"page {n}: a long running header {lines[0]!r}"


def test_contents_list_parts_chapters_and_the_appendix(pdf):
    toc = pdf[1]
    assert "Contents" in toc and "Part I" in toc and "Part II" in toc
    assert "1 Limits of transfer learning" in toc and "A References" in toc
    assert "About this report" in toc and "0.1" not in toc


def test_captions_stay_with_their_floats_and_tables_continue(pdf):
    for label in ("tbl-glance", "tbl-long"):
        (page,) = [i for i, t in enumerate(pdf) if f"Caption of {label}" in t]
        assert "run0" in pdf[page], f"{label}: caption and first row on different pages"
    assert sum("run" in t and "value" in t for t in pdf) >= 2, "the long table continues, its header repeated"
    text = "".join(pdf)
    assert re.search(r"Table\s1:", text), "front matter tables are numbered 1, 2 … as on the site"
    assert re.search(r"Figure\s1\.1:", text) and re.search(r"Table\s3\.1:", text), "per chapter: 1.1, 3.1"
