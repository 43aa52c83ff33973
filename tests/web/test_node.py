"""The exported modules, run by Node, against the Python models on fixed inputs (real data, stored runs):
200 IMDb test reviews and 20 latent codes. Also: a fresh export equals the committed web/ bundle."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import torch

from hw3 import cli, runs, text, utils, web
from hw3.gan import export as gan_export
from hw3.gan.models import to_unit
from hw3.gan.sampling import load_generator
from hw3.sentiment import export as sentiment_export
from hw3.sentiment.model import load_model, predict_proba

from conftest import needs_data

NODE = shutil.which("node")
COMMITTED = utils.project_root() / "web"
NUM_REVIEWS, NUM_CODES = 200, 20

pytestmark = [needs_data, pytest.mark.mirror, pytest.mark.slow,
              pytest.mark.skipif(not (utils.project_root() / "results" / "sentiment").is_dir(), reason="no stored runs")]


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("web")
    with pytest.MonkeyPatch.context() as mp:  # the stored runs, whatever the environment says
        for var in ("HW3_QUICK", "HW3_RESULTS"):
            mp.delenv(var, raising=False)
        cli.export_web(out)
    return out


@pytest.fixture(scope="module")
def inputs():
    from hw3.sentiment.analysis import imdb_test_reviews

    reviews = imdb_test_reviews()
    texts = [reviews[i].text for i in range(0, len(reviews), len(reviews) // NUM_REVIEWS)][:NUM_REVIEWS]
    codes = torch.randn(NUM_CODES, 100, generator=torch.Generator().manual_seed(0))
    return texts, codes


@pytest.fixture(scope="module")
def node_outputs(bundle_dir, inputs, tmp_path_factory):
    if not NODE:
        pytest.skip("node is not installed")
    texts, codes = inputs
    folder = tmp_path_factory.mktemp("node")
    (folder / "in.json").write_text(json.dumps({"texts": texts, "codes": codes.tolist()}))
    subprocess.run([NODE, str(utils.project_root() / "tests" / "web" / "parity.mjs"), str(bundle_dir),
                    str(folder / "in.json"), str(folder / "out.json")], check=True, timeout=900)
    return json.loads((folder / "out.json").read_text())


def python_sentiment(model, vocab, max_len, texts):
    """P(positive) and attention weights as `hw3 predict` computes them (tokenize, cut, encode)."""
    tokens = [text.tokenize(t)[:max_len] for t in texts]
    seqs = [torch.tensor(vocab.encode(t), dtype=torch.int64) for t in tokens]
    probs, weights = predict_proba(model, seqs, "cpu", with_weights=True)
    return tokens, probs, weights


def test_fresh_export_equals_the_committed_bundle(bundle_dir):
    fresh = sorted(p.name for p in bundle_dir.iterdir())
    assert sorted(p.name for p in COMMITTED.iterdir()) == fresh, "rerun `hw3 export web --out web`"
    for name in fresh:
        assert (bundle_dir / name).read_bytes() == (COMMITTED / name).read_bytes(), f"web/{name} is stale"
    assert sum((bundle_dir / n).stat().st_size for n in fresh) <= 4_000_000


def test_node_sentiment_matches_python(bundle_dir, inputs, node_outputs):
    tensors, meta = web.read_bundle(bundle_dir, "sentiment")
    model, vocab = sentiment_export.reference_model(tensors, meta)
    tokens, probs, weights = python_sentiment(model, vocab, meta["config"]["max_len"], inputs[0])
    js = node_outputs["sentiment"]
    assert [o["tokens"] for o in js] == tokens
    d_prob = np.abs(np.array([o["prob_pos"] for o in js]) - probs).max()
    d_weight = max(np.abs(np.array(o["weights"]) - w).max() for o, w in zip(js, weights, strict=True))
    print(f"node vs python, {len(js)} reviews: max |Δprob| = {d_prob:.2e}, max |Δweight| = {d_weight:.2e}")
    assert d_prob <= 1e-4 and d_weight <= 1e-3


def test_node_generators_match_python(bundle_dir, inputs, node_outputs):
    tensors, meta = web.read_bundle(bundle_dir, "generator")
    assert [m["name"] for m in meta["models"]] == [r.name for r in gan_export.page_runs()]
    for name, images in node_outputs["generators"].items():
        G = gan_export.reference_generator(tensors, meta, name)
        with torch.no_grad():
            expected = to_unit(G(inputs[1])).flatten(1).numpy()
        d = np.abs(np.array(images) - expected).max()
        print(f"node vs python, generator {name}, {len(images)} codes: max |Δpixel| = {d:.2e}")
        assert d <= 1e-3


def test_quantized_models_stay_close_to_the_stored_ones(bundle_dir, inputs):
    """The compact weights against the float32 runs: the page's numbers are the report's, nearly."""
    tensors, meta = web.read_bundle(bundle_dir, "sentiment")
    model, vocab = sentiment_export.reference_model(tensors, meta)
    stored, _, config = load_model(runs.load_run("sentiment", meta["run"]))
    _, p_q, w_q = python_sentiment(model, vocab, config.max_len, inputs[0])
    _, p, w = python_sentiment(stored, vocab, config.max_len, inputs[0])
    d_weight = max(np.abs(a - b).max() for a, b in zip(w_q, w, strict=True))
    print(f"int8 vs float32: max |Δprob| = {np.abs(p_q - p).max():.2e}, max |Δweight| = {d_weight:.2e}")
    assert np.abs(p_q - p).max() <= 0.01 and d_weight <= 1e-3 and ((p_q >= 0.5) == (p >= 0.5)).all()
    g_tensors, g_meta = web.read_bundle(bundle_dir, "generator")
    for m in g_meta["models"]:
        with torch.no_grad():
            quantized = to_unit(gan_export.reference_generator(g_tensors, g_meta, m["name"])(inputs[1]))
            exact = to_unit(load_generator(m["name"])(inputs[1]))
        d = (quantized - exact).abs().max().item()
        print(f"compact vs float32, generator {m['name']}: max |Δpixel| = {d:.2e}")
        assert d <= 0.05
