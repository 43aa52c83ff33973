"""Accessibility (issue 19): axe-core (npm, WCAG 2.0/2.1 A and AA rules) in headless Chromium.

- the two standalone widget pages of web/, as shipped;
- pages built from a real Quarto render's markup and Bootstrap CSS (../shared/review/site: cosmo and
  darkly as Quarto compiled them), with this project's theme rules (the `scss:rules` part of
  theme/custom.scss, and theme/dark.scss for dark: plain CSS over Bootstrap's variables), its include
  (theme/a11y.html) and the current widgets (web/) put in, in the light and the dark theme.

What it does not cover: SCSS defaults (none are used), chapter text newer than that render (the next real
render is checked by Quarto's own axe in `quarto render --profile debug`), and attention.html, whose
highlighted reviews are chapter output (hw3.sentiment) of that older render.

Serious and critical violations fail; the result is read back from the DOM (chromium --dump-dom).
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from hw3 import utils
from hw3.web import browser

ROOT = utils.project_root()
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SITE = ROOT.parent / "shared" / "review" / "site"
PAGES = ["index.html", "gan.html", "references.html", "theory/transfer.html", "theory/layers.html"]

pytestmark = [pytest.mark.skipif(not browser.find_chromium(), reason="chromium is not installed"),
              pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (npm ci)")]

RUNNER = """<script src="{axe}"></script><pre id="hw3-axe"></pre><pre id="hw3-width"></pre><script>
window.addEventListener("load", () => setTimeout(() => axe.run(document, {{
    runOnly: {{type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}, resultTypes: ["violations"]}})
  .then((r) => {{ document.getElementById("hw3-width").textContent = JSON.stringify(
      {{page: document.documentElement.scrollWidth, window: window.innerWidth}});
    document.getElementById("hw3-axe").textContent = JSON.stringify(r.violations.map((v) => ({{
      id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " " + n.html.slice(0, 120))}}))); }})
  .catch((e) => {{ document.getElementById("hw3-axe").textContent = JSON.stringify({{error: String(e)}}); }}), 500));
</script>"""


def axe_violations(page: Path, width: int = 1280) -> list[dict]:
    """Serious and critical violations on `page` (a local file that already holds RUNNER), in a window
    `width` px wide (1280: the sidebar and the table of contents shown; 500: a phone); a page wider than
    the window (it scrolls sideways) counts as one."""
    dom = browser.dump_dom(page, wait_ms=20_000, window=(width, 900))
    sizes = json.loads(html.unescape(re.search(r'<pre id="hw3-width">(.*?)</pre>', dom, re.S).group(1) or "{}"))
    wide = [{"id": "page-wider-than-window", "impact": "serious", "nodes": [str(sizes)]}] \
        if sizes and sizes["page"] > sizes["window"] + 1 else []
    m = re.search(r'<pre id="hw3-axe">(.*?)</pre>', dom, re.S)
    assert m and m.group(1), f"{page.name}: axe did not report"
    result = json.loads(html.unescape(m.group(1)))
    assert not isinstance(result, dict), result
    return wide + [v for v in result if v["impact"] in ("serious", "critical")]


def with_runner(page: Path, depth: int = 0, head: str = "", body: str = "") -> None:
    text = page.read_text(encoding="utf-8")
    text = text.replace("</head>", head + "</head>", 1)
    runner = RUNNER.format(axe="../" * depth + "axe.min.js")
    page.write_text(text.replace("</body>", body + runner + "</body>", 1), encoding="utf-8")


@pytest.mark.parametrize("model", ["sentiment", "generator"])
def test_standalone_widget_pages(model, tmp_path):
    for f in (ROOT / "web").iterdir():
        if f.suffix in (".js", ".html"):
            shutil.copy(f, tmp_path / f.name)
    shutil.copy(AXE, tmp_path / "axe.min.js")
    with_runner(tmp_path / f"{model}.html")
    assert axe_violations(tmp_path / f"{model}.html") == []


def theme_rules(name: str) -> str:
    text = (ROOT / "theme" / name).read_text(encoding="utf-8")
    return text.split("/*-- scss:rules --*/", 1)[1]


def site_copy(tmp_path: Path, dark: bool) -> Path:
    site = tmp_path / ("dark" if dark else "light")
    shutil.copytree(SITE, site)
    for f in (ROOT / "web").glob("*.js"):  # the current widgets
        shutil.copy(f, site / "web" / f.name)
    shutil.copy(AXE, site / "axe.min.js")
    css = theme_rules("custom.scss") + (theme_rules("dark.scss") if dark else "")
    include = (ROOT / "theme" / "a11y.html").read_text(encoding="utf-8")
    for name in PAGES:
        page = site / name
        text = page.read_text(encoding="utf-8")
        if dark:  # the dark theme alone, as Quarto's toggle leaves it
            text = re.sub(r'<link[^>]*data-mode="light"[^>]*>', "", text)
            text = text.replace("quarto-color-alternate", "").replace('<body class="', '<body class="quarto-dark ', 1)
        page.write_text(text, encoding="utf-8")
        with_runner(page, depth=name.count("/"), head=f"<style>{css}</style>", body=include)
    return site


@pytest.mark.skipif(not (SITE / "index.html").exists(), reason="no real render in ../shared/review/site")
# Headless Chromium's window is at least 500 px wide: the narrow pass is 500 px (Bootstrap's phone layout,
# below 576 px); test_widgets_fit_a_phone_column checks the widgets in a 320 px column.
@pytest.mark.parametrize(("theme", "width"), [("light", 1280), ("dark", 1280), ("light", 500)])
def test_chapter_pages_with_the_theme_layer(theme, width, tmp_path):
    site = site_copy(tmp_path, dark=theme == "dark")
    found = {name: axe_violations(site / name, width) for name in PAGES}
    found = {k: v for k, v in found.items() if v}
    assert not found, json.dumps(found, indent=1)


@pytest.mark.skipif(not (SITE / "index.html").exists(), reason="no real render in ../shared/review/site")
def test_the_check_finds_what_the_render_got_wrong(tmp_path):
    """Without the theme layer, the same pages fail as the issue says (contrast, link cues, names)."""
    site = tmp_path / "bare"
    shutil.copytree(SITE, site)
    shutil.copy(AXE, site / "axe.min.js")
    with_runner(site / "theory" / "transfer.html", depth=1)
    ids = {v["id"] for v in axe_violations(site / "theory" / "transfer.html")}
    assert {"color-contrast", "link-in-text-block", "label-content-name-mismatch"} <= ids


@pytest.mark.parametrize("model", ["sentiment", "generator"])
def test_widgets_fit_a_phone_column(model, tmp_path):
    """In a 320 px column (a phone), the widget's rows wrap: nothing sticks out sideways (issue 17, item 9)."""
    for f in (ROOT / "web").iterdir():
        if f.suffix in (".js", ".html"):
            shutil.copy(f, tmp_path / f.name)
    page = tmp_path / f"{model}.html"
    text = re.sub(r"max-width: [^;\"]+", "max-width: 320px", page.read_text(encoding="utf-8"), count=1)
    probe = f"""<pre id="hw3-fit"></pre><script>window.addEventListener("load", () => {{
      const root = document.getElementById("hw3-{model}");
      document.getElementById("hw3-fit").textContent = JSON.stringify({{scroll: root.scrollWidth, client: root.clientWidth,
        mounted: root.classList.contains("hw3-{model}")}}); }});</script>"""
    page.write_text(text.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = browser.dump_dom(page, wait_ms=5_000, window=(800, 900))
    fit = json.loads(html.unescape(re.search(r'<pre id="hw3-fit">(.*?)</pre>', dom, re.S).group(1)))
    assert fit["mounted"] and fit["client"] <= 320
    assert fit["scroll"] <= fit["client"], f"the widget is {fit['scroll']} px wide in a {fit['client']} px column"
