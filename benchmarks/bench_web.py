"""Speed of the page's widgets in headless Chromium, opened from disk as a reader would, and the bundle's size.

    python benchmarks/bench_web.py                 # the committed web/ bundle, 3 page loads each
    python benchmarks/bench_web.py --bundle DIR --repeat 5

Budgets (issue 12): files <= 4 MB together; the first prediction <= 200 ms after the page's HTML has
arrived (scripts parsed, weights decoded, the first example review predicted and shown); an update per
keystroke <= 50 ms (typing at the end of a review: event, prediction, highlighting, layout). Also shown:
an edit at the start of the review (every token recomputed) and a pasted 800-token review, and the
generators' time per digit. Prints figures (median over page loads); nothing is asserted. Needs Chromium.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from hw3 import utils
from hw3.web import browser

SENTIMENT = """
const nav = performance.getEntriesByType("navigation")[0];
const time = (f) => { const t = performance.now(); f(); document.body.offsetHeight; return performance.now() - t; };
const type = (text) => { w.input.value = text; w.input.dispatchEvent(new Event("input")); };
const start = w.input.value, keys = [];
for (const ch of " I would watch it again, and again, with friends and family!") {
  keys.push(time(() => type(w.input.value + ch)));
}
const edit = time(() => type("Honestly, " + start));
const examples = w.model.meta.examples.map((e) => e.text).join(" ");
const paste = time(() => type(examples.repeat(Math.ceil(6000 / examples.length))));
const pasteTokens = w.model.ids.length;
return {first_after_html: w.stats.firstMs - nav.responseEnd, first_since_navigation: w.stats.firstMs,
        load: w.stats.loadMs, first_predict: w.stats.firstPredictMs, tokens: w.model.predict(start).tokens.length,
        keys, edit, paste, paste_tokens: pasteTokens, backend: w.model.backend};
"""

GENERATOR = """
const out = {};
for (const [name, G] of Object.entries(w.models)) {
  const z = new Float32Array(100).fill(0.5), times = [];
  for (let i = 0; i < 30; i++) { const t = performance.now(); G.generate(z); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  out[name] = times[15];
}
const slider = document.querySelector("input[type=range]"), moves = [];
for (let i = 0; i <= 20; i++) {
  const t = performance.now();
  slider.value = String(i / 20); slider.dispatchEvent(new Event("input"));
  moves.push(performance.now() - t);
}
return {generate: out, slider: moves.sort((a, b) => a - b)[10]};
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, default=utils.project_root() / "web", help="exported folder (default: web/)")
    p.add_argument("--repeat", type=int, default=3, help="page loads per widget (default: 3)")
    args = p.parse_args()
    if not browser.find_chromium():
        raise SystemExit("needs Chromium (apt-get install chromium)")
    files = sorted(f for f in args.bundle.iterdir() if f.is_file())
    print(f"bundle {args.bundle}: {sum(f.stat().st_size for f in files):,} bytes in {len(files)} files (budget 4,000,000)")
    for f in files:
        print(f"  {f.stat().st_size:>10,}  {f.name}")

    runs = [browser.run_widget(args.bundle, "sentiment", SENTIMENT) for _ in range(args.repeat)]
    med = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    keys = [k for r in runs for k in r["keys"]]
    print(f"\nsentiment widget ({runs[0]['backend']}), median of {args.repeat} page loads:")
    print(f"  first prediction ({runs[0]['tokens']} tokens) after the HTML arrived: {med('first_after_html'):6.1f} ms"
          f"  (budget 200; since navigation start {med('first_since_navigation'):.1f} ms, model decoding "
          f"{med('load'):.1f} ms, first prediction {med('first_predict'):.1f} ms)")
    p95 = sorted(keys)[int(0.95 * (len(keys) - 1))]
    print(f"  per keystroke, typing at the end ({len(keys)} keys): median {statistics.median(keys):5.1f} ms, "
          f"95th percentile {p95:5.1f} ms, max {max(keys):5.1f} ms  (budget 50)")
    print(f"  an edit at the start (every token recomputed): {med('edit'):6.1f} ms")
    print(f"  a pasted review of {runs[0]['paste_tokens']} tokens: {med('paste'):6.1f} ms")

    gens = [browser.run_widget(args.bundle, "generator", GENERATOR) for _ in range(args.repeat)]
    print(f"\ngenerator widget, median of {args.repeat} page loads:")
    for name in gens[0]["generate"]:
        print(f"  {name}: {statistics.median(g['generate'][name] for g in gens):6.2f} ms per digit")
    print(f"  a slider move (three digits drawn): {statistics.median(g['slider'] for g in gens):6.2f} ms")


if __name__ == "__main__":
    main()
