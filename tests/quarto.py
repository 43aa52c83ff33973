"""Read Quarto documents the way Quarto's Jupyter engine does, and execute them with nbclient.

A `.qmd` is YAML front matter, markdown, and executable cells fenced as ```{python}; a cell's options
are its leading `#| key: value` lines (YAML). Inline expressions `{python} expr` in markdown are
evaluated, like Quarto does, as Jupyter `user_expressions` at their place in the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", "venv", "_book", "_site", "_freeze", ".quarto", "data", "results", "node_modules", ".git"}

FENCE = re.compile(r"^(?P<ticks>`{3,})\s*\{(?P<lang>[A-Za-z0-9_]+)[^}]*\}\s*$")
INLINE = re.compile(r"`\{python\}\s+([^`]+)`")
FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
DIV = re.compile(r"^(:{3,})\s*(\{[^}]*\}|[^\s{}][^{}]*)?\s*$")  # `::: {.class}` opens, a bare `:::` closes


@dataclass
class Cell:
    kind: str  # "code" or "markdown"
    source: str
    options: dict = field(default_factory=dict)
    line: int = 0  # 1-based line of the fence (code) or first line (markdown)
    option_error: str | None = None
    divs: tuple[str, ...] = ()  # the attributes of the fenced divs (`::: {…}`) around the cell, outermost first


@dataclass
class Document:
    path: Path
    front: dict
    cells: list[Cell]

    @property
    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "code"]

    @property
    def markdown(self) -> str:
        return "\n".join(c.source for c in self.cells if c.kind == "markdown")


def find_documents(root: Path = ROOT) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*.qmd")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        out.append(path)
    return out


def parse(path: Path) -> Document:
    text = Path(path).read_text(encoding="utf-8")
    front: dict = {}
    offset = 0
    if m := FRONT.match(text):
        front = yaml.safe_load(m.group(1)) or {}
        offset = m.group(0).count("\n")
        text = text[m.end():]
    lines = text.split("\n")
    cells: list[Cell] = []
    md: list[str] = []
    md_start = offset + 1
    divs: list[str] = []
    in_fence = None  # the ticks of a non-python code block being skipped
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if in_fence is None and m and m.group("lang") == "python":
            if md:
                cells.append(Cell("markdown", "\n".join(md), line=md_start))
            fence_line = offset + i + 1
            ticks = m.group("ticks")
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != ticks:
                body.append(lines[i])
                i += 1
            cell = _code_cell(body, fence_line)
            cell.divs = tuple(divs)
            cells.append(cell)
            md, md_start = [], offset + i + 2
        else:
            line = lines[i]
            if in_fence is None and (f := re.match(r"^(`{3,}|~{3,})", line)):
                in_fence = f.group(1)
            elif in_fence is not None and line.strip() == in_fence:
                in_fence = None
            elif in_fence is None and (d := DIV.match(line)):
                if d.group(2):
                    divs.append(d.group(2).strip())
                elif divs:
                    divs.pop()
            md.append(line)
        i += 1
    if md:
        cells.append(Cell("markdown", "\n".join(md), line=md_start))
    return Document(Path(path), front, cells)


def _code_cell(body: list[str], line: int) -> Cell:
    opt_lines = []
    for ln in body:
        if ln.startswith("#|"):
            opt_lines.append(ln[2:].removeprefix(" "))
        else:
            break
    code = "\n".join(body[len(opt_lines):])
    try:
        options = yaml.safe_load("\n".join(opt_lines)) or {}
        error = None if isinstance(options, dict) else "cell options are not a YAML mapping"
    except yaml.YAMLError as e:
        options, error = {}, f"invalid YAML in cell options: {e}"
    return Cell("code", code, options if isinstance(options, dict) else {}, line, error)


def to_notebook(doc: Document) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for cell in doc.cells:
        if cell.kind == "code":
            nb.cells.append(nbformat.v4.new_code_cell(cell.source, metadata={"quarto": cell.options}))
        else:
            nb.cells.append(nbformat.v4.new_markdown_cell(cell.source))
    return nb


def execute(doc: Document, cwd: Path = ROOT, timeout: int = 900) -> nbformat.NotebookNode:
    """Execute every code cell in order (cells with `eval: false` are skipped) and every inline
    expression after the cells above it; raise on the first error, naming the cell's line."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbclient.util import run_sync

    nb = to_notebook(doc)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    with client.setup_kernel():
        for index, (cell, nb_cell) in enumerate(zip(doc.cells, nb.cells, strict=True)):
            if cell.kind == "code":
                if cell.options.get("eval", True) is False:
                    continue
                try:
                    client.execute_cell(nb_cell, index)
                except CellExecutionError as e:
                    raise AssertionError(f"{doc.path.name}:{cell.line}: cell failed\n{e}") from None
            elif exprs := INLINE.findall(cell.source):
                results = _user_expressions(client, run_sync, exprs)
                for expr, res in results.items():
                    if res.get("status") != "ok":
                        raise AssertionError(f"{doc.path.name}: inline `{{python}} {expr}` near line {cell.line} "
                                             f"failed: {res.get('ename')}: {res.get('evalue')}")
                nb_cell.metadata["inline_results"] = {k: v.get("data", {}).get("text/plain") for k, v in results.items()}
                nb_cell.metadata["inline_markdown"] = {k: inline_markdown(v.get("data", {})) for k, v in results.items()}
                nb_cell.metadata["inline_value"] = {k: inline_value(v.get("data", {})) for k, v in results.items()}
                nb_cell.metadata["inline_is_markdown"] = {k: "text/markdown" in v.get("data", {}) for k, v in results.items()}
    return nb


def _user_expressions(client, run_sync, exprs: list[str]) -> dict:
    named = {f"e{i}": e.strip() for i, e in enumerate(exprs)}
    msg_id = client.kc.execute("", silent=True, store_history=False, user_expressions=named)
    reply = run_sync(client.async_wait_for_reply)(msg_id)
    got = reply["content"].get("user_expressions", {})
    return {named[k]: v for k, v in got.items()}


def inline_value(data: dict) -> str:
    """An inline value's text as computed: `text/markdown`, else `text/plain` without a str's quotes."""
    if "text/markdown" in data:
        return str(data["text/markdown"])
    text = str(data.get("text/plain", ""))
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def inline_markdown(data: dict) -> str:
    """What Quarto puts in the Markdown for an inline value (its jupyter engine, `resolveUserExpressions`):
    `text/markdown` as it is; a quoted `text/plain` string unquoted and Markdown-escaped; else the text."""
    if "text/markdown" in data:
        return str(data["text/markdown"])
    text = str(data.get("text/plain", ""))
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].replace("\\", "\\\\")
        return re.sub(r"([\\`*_{}\[\]()>#+,\-.!])", r"\\\1", text)  # JS class `+-.` spans "+,-."
    return text


INLINE_SPAN = re.compile(r"`\{python\}\s+([^`]+)`")
MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$\w])\$(?![\s$])(?:\\\$|[^$])+?(?<![\s\\])\$(?!\d)", re.S)


def math_with_inline_values(markdown: str) -> list[tuple[str, list[str]]]:
    """Each `$…$` / `$$…$$` span of the prose that holds inline `{python}` values: (span, expressions)."""
    exprs: list[str] = []

    def hold(m):
        exprs.append(m.group(1).strip())
        return f"\x00{len(exprs) - 1}\x00"

    text = re.sub(r"^(`{3,}|~{3,}).*?^\1", "", markdown, flags=re.S | re.M)
    text = INLINE_SPAN.sub(hold, text)
    text = re.sub(r"`[^`]*`", "", text)
    out = []
    for m in MATH.finditer(text):
        held = [exprs[int(i)] for i in re.findall(r"\x00(\d+)\x00", m.group(0))]
        if held:
            out.append((m.group(0), held))
    return out


# Markdown markup that an inline value would print literally (Quarto inserts a string as text): emphasis
# with * or _ around a word, code in backticks.
MARKUP = re.compile(r"(?<![\w*\\])\*[^\s*][^*]*(?<![\s\\])\*(?![\w*])|(?<![\w\\])_[^\s_][^_]*(?<![\s\\])_(?!\w)|`[^`]+`")


def markdown_markup(text: str) -> list[str]:
    """The pieces of `text` that are Markdown markup (`*x*`, `_x_`, backticks)."""
    return [m.group(0) for m in MARKUP.finditer(text)]


def single_format(cell: Cell) -> str | None:
    """The format a cell is confined to by a `.content-visible when-format=…`/`.content-hidden` div, or None."""
    for attrs in cell.divs:
        if ".content-visible" in attrs or ".content-hidden" in attrs:
            m = re.search(r'(?:when|unless)-format\s*=\s*"?([\w-]+)', attrs)
            return m.group(1) if m else attrs
    return None
