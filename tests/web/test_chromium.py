"""The widgets in headless Chromium, opened from disk (file://) as a reader would: the standalone pages of
the committed web/ bundle show what the Python models compute for a known review and a known code."""

import functools
import html
import json
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch

from hw3 import text, utils, web
from hw3.gan import export as gan_export
from hw3.gan.models import to_unit
from hw3.sentiment import export as sentiment_export
from hw3.sentiment.model import predict_proba
from hw3.web import browser

BUNDLE = utils.project_root() / "web"
REVIEW = "A moving, beautifully acted film! The plot drags a little, but I didn't mind at all. 9/10"

pytestmark = [pytest.mark.skipif(not browser.find_chromium(), reason="chromium is not installed"),
              pytest.mark.skipif(not (BUNDLE / "sentiment.weights.js").exists(), reason="no exported web/ bundle")]


def test_sentiment_page_shows_the_python_prediction():
    shown = browser.run_widget(BUNDLE, "sentiment", f"""
        w.input.value = {REVIEW!r};
        w.input.dispatchEvent(new Event("input"));
        const words = [...document.querySelectorAll(".hw3-word")];
        return {{verdict: document.querySelector(".hw3-verdict").textContent, backend: w.model.backend,
                 words: words.map((s) => s.textContent), weights: words.map((s) => Number(s.dataset.weight)),
                 examples: document.querySelectorAll(".hw3-examples button").length}};""")
    tensors, meta = web.read_bundle(BUNDLE, "sentiment")
    model, vocab = sentiment_export.reference_model(tensors, meta)
    tokens = text.tokenize(REVIEW)
    probs, weights = predict_proba(model, [torch.tensor(vocab.encode(tokens))], "cpu", with_weights=True)
    assert shown["verdict"].startswith(f"P(positive) = {probs[0]:.4f}: {'positive' if probs[0] >= 0.5 else 'negative'}")
    assert [w.lower() for w in shown["words"]] == tokens  # one highlighted span per token
    np.testing.assert_allclose(shown["weights"], weights[0], atol=1e-3)
    assert shown["backend"] == "wasm-simd"
    assert shown["examples"] == len(meta["examples"])


def test_generator_page_shows_the_python_digit():
    z = torch.randn(2, 100, generator=torch.Generator().manual_seed(1))
    shown = browser.run_widget(BUNDLE, "generator", f"""
        const a = Float32Array.from({z[0].tolist()}), b = Float32Array.from({z[1].tolist()});
        const out = {{}};
        for (const name of Object.keys(w.models)) {{
          document.querySelector("select").value = name;
          document.querySelector("select").dispatchEvent(new Event("change"));
          w.setCodes(a, b);  // the slider is at t = 0: the main canvas shows code a
          const ctx = w.main.getContext("2d"), step = w.main.width / 28, px = [];
          for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++)
            px.push(ctx.getImageData(Math.floor((x + 0.5) * step), Math.floor((y + 0.5) * step), 1, 1).data[0]);
          out[name] = px;
        }}
        return out;""")
    tensors, meta = web.read_bundle(BUNDLE, "generator")
    assert list(shown) == [m["name"] for m in meta["models"]]
    for name, pixels in shown.items():
        with torch.no_grad():
            image = to_unit(gan_export.reference_generator(tensors, meta, name)(z[:1])).flatten().numpy()
        expected = np.round(255 * (1 - image))  # dark strokes on white
        assert np.abs(np.array(pixels) - expected).max() <= 1, name


def test_es_modules_over_http(tmp_path):
    """Served over HTTP (as the published site), a page imports the ES modules and they fetch() their weights."""
    for f in BUNDLE.iterdir():
        if f.suffix == ".mjs" or f.name.endswith(".weights.js"):
            shutil.copy(f, tmp_path / f.name)
    (tmp_path / "modules.html").write_text("""<!doctype html><html><body><pre id="out"></pre>
<script type="module">
import { load } from "./sentiment.mjs";
import * as generator from "./generator.mjs";
const model = await load("."), G = await generator.load(".");
document.getElementById("out").textContent = JSON.stringify({
  prob: model.predict("A moving, beautifully acted film.").prob_pos, registered: "hw3webWeights" in globalThis,
  pixels: Array.from(G.generate(new Float32Array(100)))});
</script></body></html>""")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dom = browser.dump_dom(f"http://127.0.0.1:{server.server_port}/modules.html", wait_ms=20_000)
    finally:
        server.shutdown()
    shown = json.loads(html.unescape(re.search(r'<pre id="out">([^<]*)</pre>', dom).group(1)))
    assert not shown["registered"]  # the weights came by fetch(), not from a classic script
    tensors, meta = web.read_bundle(BUNDLE, "sentiment")
    model, vocab = sentiment_export.reference_model(tensors, meta)
    probs, _ = predict_proba(model, [torch.tensor(vocab.encode(text.tokenize("A moving, beautifully acted film.")))], "cpu")
    assert abs(shown["prob"] - probs[0]) < 1e-4
    g_tensors, g_meta = web.read_bundle(BUNDLE, "generator")
    with torch.no_grad():
        image = to_unit(gan_export.reference_generator(g_tensors, g_meta)(torch.zeros(1, 100))).flatten().numpy()
    assert np.abs(np.array(shown["pixels"]) - image).max() < 1e-3


@pytest.mark.parametrize("model", ["sentiment", "generator"])
def test_the_shipped_standalone_pages_work_from_disk(model):
    dom = browser.dump_dom(BUNDLE / f"{model}.html")
    root = re.search(rf'<div id="hw3-{model}"[^>]*>', dom).group(0)
    assert 'data-ready="1"' in dom and f'class="hw3-{model}"' in root and 'aria-busy="false"' in root  # mounted
    if model == "sentiment":
        assert re.search(r"P\(positive\) = \d\.\d{4}: (positive|negative)", dom)
    else:
        assert dom.count("<canvas") == 3 and "spec (spec" in dom
