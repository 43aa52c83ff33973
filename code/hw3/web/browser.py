"""Headless Chromium on a page opened from disk, for the widget tests and benchmarks/bench_web.py.

`run_widget(bundle, model, script)` copies nothing: it writes one page next to the exported files that
loads them as the chapters do (classic scripts, file://), mounts the widget, runs `script` (a function
body that receives the mounted widget `w` and returns a JSON-able value) and reads that value back from
the page's DOM (`chromium --dump-dom`, which prints the DOM after the load event). The widgets load their
weights from the registered global without any network or timer, so they are mounted and the script has
run before the load event.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def dump_dom(page: Path | str, timeout: float = 120, wait_ms: int = 0, window: tuple[int, int] | None = None) -> str:
    """The DOM of `page` (a local file, or an http:// URL) after loading it in headless Chromium; with
    `wait_ms`, after that much virtual time too (for pages that fetch()); `window`: (width, height) in px."""
    exe = find_chromium()
    if not exe:
        raise FileNotFoundError("no Chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        url = page if str(page).startswith("http") else Path(page).resolve().as_uri()
        wait = [f"--virtual-time-budget={wait_ms}"] if wait_ms else []
        wait += [f"--window-size={window[0]},{window[1]}"] if window else []
        done = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               f"--user-data-dir={profile}", *wait, "--dump-dom", url],
                              capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def run_widget(bundle: Path, model: str, script: str, name: str = "hw3-check.html") -> object:
    """Mount widget `model` ("sentiment" or "generator") from `bundle`, run `script` with `w`, return its value."""
    page = Path(bundle) / name
    page.write_text(f"""<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<div id="widget"></div><pre id="hw3-result"></pre>
<script>performance.mark("hw3-weights-start");</script>
<script src="{model}.weights.js"></script>
<script>performance.mark("hw3-weights-end");</script>
<script src="{model}.js"></script>
<script>performance.mark("hw3-code-end");</script>
<script>
hw3web.{model}.mount(document.getElementById("widget")).then((w) => {{
  const value = (function (w) {{ {script} }})(w);
  document.getElementById("hw3-result").textContent = JSON.stringify({{ ok: true, value }});
}}).catch((e) => {{ document.getElementById("hw3-result").textContent = JSON.stringify({{ ok: false, error: String(e.stack || e) }}); }});
</script></body></html>
""", encoding="utf-8")
    try:
        dom = dump_dom(page)
    finally:
        page.unlink(missing_ok=True)
    start = dom.find('<pre id="hw3-result">')
    if start < 0:
        raise RuntimeError("the page has no result")
    raw = html.unescape(dom[start + len('<pre id="hw3-result">'):dom.index("</pre>", start)])
    if not raw:
        raise RuntimeError("the widget did not finish before the load event")
    result = json.loads(raw)
    if not result["ok"]:
        raise RuntimeError(f"the page failed: {result['error']}")
    return result["value"]
