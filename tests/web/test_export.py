"""hw3.web: the weight container, the classic-script build, and the export in the quick profile."""

import dataclasses
import json
import shutil
import subprocess

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from hw3 import cli, runs, text, utils, web
from hw3.gan import export as gan_export
from hw3.gan import study
from hw3.gan.models import GANConfig, build_models
from hw3.sentiment import export as sentiment_export
from hw3.sentiment.model import DEFAULT_MAX_LEN, SentimentConfig, SentimentGRU
from hw3.web import bundle
from hw3.web.export import classic_script

# --- stored runs made without training (seeded random weights), for the quick-profile export ---------

WORDS = ["good", "bad", "film", "great", "boring", "!", "not", "the", "a", "acting"]


def store(config: runs.RunConfig, weights: dict[str, dict], metrics: dict) -> runs.Run:
    folder = runs.run_dir(config)
    folder.mkdir(parents=True)
    utils.write_json(folder / "config.json", config.to_dict())
    utils.write_json(folder / "metrics.json", metrics)
    utils.write_json(folder / "history.json", [])
    utils.write_json(folder / "provenance.json", {"wall_time_s": 1.0, "device": "cpu"})
    for name, state in weights.items():
        save_file({k: v.contiguous() for k, v in state.items()}, folder / f"{name}.safetensors")
    return runs.Run(folder)


@pytest.fixture
def fake_runs(quick_env, monkeypatch):
    """The quick profile's attention run, spec GAN and one DCGAN variant (the better one), untrained."""
    torch.manual_seed(0)
    config = SentimentConfig(model="attention", max_len=DEFAULT_MAX_LEN).quick()
    sentiment = store(config, {"model": SentimentGRU.from_config(config).state_dict()},
                      {"accuracy": 0.5, "val_accuracy": 0.5})
    itos = [text.PAD, text.UNK, *WORDS, *(f"w{i}" for i in range(config.vocab_size - 2 - len(WORDS)))]
    text.Vocab(itos).save(sentiment.file("vocab.json"))
    # the spec (seed 0) and three seeds of dcgan, enough for the study to choose it (lower validation FID)
    monkeypatch.setattr(study, "VARIANTS", [dataclasses.replace(v, seeds=3) if v.name == "dcgan" else v
                                            for v in study.VARIANTS])
    dcgan = study.variants()["dcgan"]
    gans = []
    for config, fid in ((GANConfig().quick(), 200.0),
                        *((study.variant_config(dcgan, s).quick(), 100.0 + s) for s in range(3))):
        G, D = build_models(config)
        for m in G.modules():  # BatchNorm statistics that are not the identity
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
        scores = {"fid": fid, "precision": 0.5, "recall": 0.5, "class_entropy": 0.9}
        gans.append(store(config, {"generator": G.state_dict(), "discriminator": D.state_dict()},
                          {"val": scores, "test": scores}))
    gans = gans[:2]  # the page's: the spec and dcgan's seed 0
    return sentiment, gans




def test_container_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"a": rng.normal(size=(3, 5)).astype(np.float32), "b": rng.normal(size=(7,)),
               "c": torch.randn(4, 2, 3), "zero_rows": np.zeros((2, 4))}
    blob = bundle.pack(tensors, {"a": "i8", "c": "f16", "zero_rows": "i8"}, {"kind": "test", "words": ["é", "!"]})
    out, meta = bundle.unpack(blob)
    assert meta == {"kind": "test", "words": ["é", "!"]}
    assert set(out) == {"a", "b", "c", "zero_rows"}
    np.testing.assert_array_equal(out["b"], tensors["b"].astype(np.float32))  # f32: exact
    np.testing.assert_array_equal(out["c"], tensors["c"].numpy().astype(np.float16).astype(np.float32))
    scale = np.abs(tensors["a"]).max(1, keepdims=True) / 127
    assert np.abs(out["a"] - tensors["a"]).max() <= scale.max() / 2 + 1e-7  # int8: half a step per row
    np.testing.assert_array_equal(out["zero_rows"], 0)
    (tmp_path / "k.weights.js").write_text(bundle.weights_script("k", blob))
    assert bundle.read_weights_script(tmp_path / "k.weights.js") == blob


def test_quantize_rows_keeps_the_row_maximum():
    w = np.array([[1.0, -0.5, 0.25], [0.0, 0.0, 0.0], [-2.0, 1.0, 0.0]], dtype=np.float32)
    q, scale = bundle.quantize_rows(w)
    assert q.dtype == np.int8 and q[0, 0] == 127 and q[2, 0] == -127
    np.testing.assert_allclose(q * scale[:, None], w, atol=scale.max() / 2)


@pytest.mark.parametrize("model", ["sentiment", "generator"])
def test_classic_script_exports_the_module_api(model, tmp_path):
    script = classic_script(model)
    assert "import " not in script.replace("await import(", "") and "\nexport " not in script
    names = {"sentiment": ["load", "mount", "tokenize"], "generator": ["load", "mount", "lerp", "slerp"]}[model]
    check = tmp_path / "check.js"
    check.write_text(script + f"console.log(JSON.stringify(Object.keys(globalThis.hw3web.{model})));\n")
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    exported = json.loads(subprocess.run([node, str(check)], capture_output=True, text=True, check=True).stdout)
    assert set(names) <= set(exported)


def test_pick_examples_confident_first_then_mistakes():
    p = np.array([0.99, 0.01, 0.9, 0.2, 0.999, 0.6, 0.02])
    y = np.array([1, 0, 1, 0, 0, 0, 1])
    lengths = np.array([50, 60, 70, 1000, 40, 50, 80])
    picked = sentiment_export.pick_examples(p, y, lengths, mistakes=2)
    assert picked == [(0, "a confident positive"), (1, "a confident negative"), (4, "confident mistake 1"),
                      (6, "confident mistake 2")]


def test_export_in_the_quick_profile_is_deterministic(fake_runs, tmp_path):
    sentiment, (spec, dcgan) = fake_runs
    first = cli.export_web(tmp_path / "a")
    assert cli.main(["export", "web", "--out", str(tmp_path / "b")]) == 0
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert sum(first.values()) < 4_000_000
    tensors, meta = web.read_bundle(tmp_path / "a", "generator")
    assert [m["name"] for m in meta["models"]] == ["spec", "dcgan"]  # dcgan has the lower FID: the best variant
    assert meta["default"] == "spec"
    G = gan_export.reference_generator(tensors, meta, "dcgan")
    stored = dcgan.load_weights("generator")
    w = G.state_dict()["project.0.weight"]  # int8 per row
    assert torch.allclose(w, stored["project.0.weight"], atol=float(stored["project.0.weight"].abs().max()) / 254 + 1e-7)
    s_tensors, s_meta = web.read_bundle(tmp_path / "a", "sentiment")
    assert s_meta["run"] == sentiment.name and s_meta["examples"] == []  # no stored test predictions
    model, vocab = sentiment_export.reference_model(s_tensors, s_meta)
    assert vocab.itos[:3] == ["<pad>", "<unk>", "good"] and model.attention is not None


def test_export_never_trains(quick_env, tmp_path):
    with pytest.raises(Exception, match="spec|complete run|No such file"):
        cli.export_web(tmp_path / "out")
    assert not any(quick_env.rglob("*.safetensors")) if quick_env.exists() else True


def test_node_backends_agree_on_the_quick_bundle(fake_runs, tmp_path):
    """WebAssembly SIMD and plain JavaScript give the same predictions and digits (quick-profile bundle)."""
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    cli.export_web(tmp_path)
    script = tmp_path / "check.mjs"
    script.write_text("""
import * as S from "./sentiment.mjs";
import * as G from "./generator.mjs";
const text = "A good film, not boring! The acting was great, great, great. " + "w7 w8 w9 ".repeat(8);
const out = {};
for (const wasm of [true, false]) {
  const m = await S.load(".", { wasm });
  const p = m.predict(text), q = m.predict(text + " bad");  // the second reuses the first's states
  const z = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i));
  const digits = {};
  for (const name of ["spec", "dcgan"]) digits[name] = Array.from((await G.load(".", name, { wasm })).generate(z));
  out[m.backend] = { p: p.prob_pos, w: p.weights, q: q.prob_pos, tokens: q.tokens.length, digits };
}
console.log(JSON.stringify(out));
""")
    out = json.loads(subprocess.run([node, str(script)], cwd=tmp_path, capture_output=True, text=True, check=True).stdout)
    fast, plain = out["wasm-simd"], out["js"]
    assert fast["tokens"] == plain["tokens"] == 12 + 24 + 1
    assert abs(fast["p"] - plain["p"]) < 1e-6 and abs(fast["q"] - plain["q"]) < 1e-6
    np.testing.assert_allclose(fast["w"], plain["w"], atol=1e-6)
    for name in ("spec", "dcgan"):
        np.testing.assert_allclose(fast["digits"][name], plain["digits"][name], atol=1e-5)
