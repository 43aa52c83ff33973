"""The IMDb sentiment models, training, metrics, prediction and its command line."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from hw3 import cli, runs, text, utils
from hw3.sentiment import analysis, data, metrics, predict, study, train
from hw3.sentiment.model import MODELS, AdditiveAttention, SentimentConfig, SentimentGRU

from conftest import needs_data

TINY = {"vocab_size": 50, "embedding_dim": 8, "hidden_size": 12, "attention_dim": 6}


def tiny_model(model: str, seed: int = 0, dropout: float = 0.0) -> SentimentGRU:
    torch.manual_seed(seed)
    return SentimentGRU(model, num_layers=2, embed_dropout=dropout, dropout=dropout, **TINY).eval()


def batch_of(seqs, pad_to=None) -> text.Batch:
    ds = text.EncodedDataset([torch.tensor(s) for s in seqs], [1] * len(seqs))
    return text.collate([ds[i] for i in range(len(seqs))], pad_to=pad_to)


def run_model(m, b: text.Batch):
    with torch.no_grad():
        return m(b.ids, b.lengths, b.mask)


REVIEW = [5, 9, 13, 2, 7, 30, 11]
LONGER = [[3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [20] * 25]

# --- attention ---------------------------------------------------------------------------------------


def test_attention_weights_sum_to_one_and_are_exactly_zero_on_padding():
    m = tiny_model("attention")
    b = batch_of([REVIEW, *LONGER, [4]], pad_to=40)
    out = run_model(m, b)
    assert out.weights.shape == b.ids.shape
    assert torch.allclose(out.weights.sum(1), torch.ones(len(b.ids)), atol=1e-6)
    assert (out.weights[~b.mask] == 0).all()
    assert (out.weights[b.mask] > 0).all()
    assert out.weights[3, 0] == 1.0  # one real token takes all the weight


def test_additive_attention_is_vt_tanh_wh_plus_b():
    att = AdditiveAttention(4, 3)
    h = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    c, alpha = att(h, mask)
    e = torch.tanh(h @ att.W.weight.T + att.W.bias) @ att.v.weight.T  # (2, 5, 1)
    expected = torch.softmax(e.squeeze(-1).masked_fill(~mask, float("-inf")), 1)
    assert torch.allclose(alpha, expected)
    assert torch.allclose(c, (alpha.unsqueeze(-1) * h).sum(1), atol=1e-6)


# --- padding invariance ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_output_ignores_extra_padding(model):
    m = tiny_model(model)
    alone = run_model(m, batch_of([REVIEW]))
    padded = run_model(m, batch_of([REVIEW], pad_to=60))
    assert torch.allclose(alone.logits, padded.logits, atol=1e-6)
    if model == "attention":
        assert torch.allclose(padded.weights[0, : len(REVIEW)], alone.weights[0], atol=1e-6)


@pytest.mark.parametrize("model", MODELS)
def test_output_ignores_longer_reviews_in_the_batch(model):
    m = tiny_model(model)
    alone = run_model(m, batch_of([REVIEW]))
    for position in (0, 1, 2):
        seqs = list(LONGER)
        seqs.insert(position, REVIEW)
        batched = run_model(m, batch_of(seqs))
        assert torch.allclose(batched.logits[position], alone.logits[0], atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_padded_path_equals_the_packed_path(model):
    """The GRU without packing is the same model as with it: same logits and attention weights."""
    m = tiny_model(model)
    b = batch_of([REVIEW, *LONGER, [4]], pad_to=30)
    padded = run_model(m, b)
    m.packed = True
    packed = run_model(m, b)
    assert torch.allclose(padded.logits, packed.logits, atol=1e-6)
    if model == "attention":
        assert torch.allclose(padded.weights, packed.weights, atol=1e-6)


def test_baseline_reads_the_state_at_the_last_real_token():
    m = tiny_model("baseline")
    b = batch_of([REVIEW], pad_to=20)
    with torch.no_grad():
        h, _ = m.gru(m.embedding(torch.tensor([REVIEW])))  # unpadded run: top layer at every step
        expected = m.head(h[:, -1]).squeeze(-1)
    assert torch.allclose(run_model(m, b).logits, expected, atol=1e-6)


def test_meanpool_averages_over_real_tokens_only():
    m = tiny_model("meanpool")
    with torch.no_grad():
        h, _ = m.gru(m.embedding(torch.tensor([REVIEW])))
        expected = m.head(h.mean(1)).squeeze(-1)
    assert torch.allclose(run_model(m, batch_of([REVIEW], pad_to=30)).logits, expected, atol=1e-6)


# --- training ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_one_training_step_lowers_the_loss_on_a_tiny_batch(model):
    m = tiny_model(model).train()
    rng = np.random.default_rng(0)
    seqs = [rng.integers(2, 50, size=n).tolist() for n in (5, 9, 3, 12, 7, 8)]
    b = batch_of(seqs)
    b = b._replace(labels=torch.tensor([1.0, 0, 1, 0, 1, 0]))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)

    def loss():
        with torch.no_grad():
            out = m(b.ids, b.lengths, b.mask)
        return torch.nn.functional.binary_cross_entropy_with_logits(out.logits, b.labels).item()

    before = loss()
    train.train_step(m, b, opt, grad_clip=1.0)
    assert loss() < before


def test_validation_split_is_fixed_stratified_and_disjoint():
    labels = np.repeat([0, 1], 12_500)
    train, val = data.validation_split(labels)
    train2, val2 = data.validation_split(labels)
    assert np.array_equal(val, val2) and np.array_equal(train, train2)
    assert len(val) == 2500 and labels[val].sum() == 1250
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 25_000


def test_config_names_follow_model_length_and_seed():
    c = SentimentConfig(model="baseline", max_len=200, seed=2)
    assert c.name == "baseline-len200-s2"
    assert dataclasses.replace(c, model="meanpool").name == "meanpool-len200-s2"
    assert SentimentConfig(name="my-run").name == "my-run"
    assert len({c.quick().name for c in study.sweep_configs()}) == len(study.sweep_configs())
    with pytest.raises(ValueError, match="model"):
        SentimentConfig(model="transformer")


def test_report_configs_cover_every_model_and_seed():
    configs = study.report_configs()
    names = [c.name for c in configs]
    assert len(names) == len(set(names))
    finals = study.final_configs()
    assert {(c.model, c.seed) for c in finals} == {(m, s) for m in MODELS for s in study.SEEDS}
    assert any(c.experiment == "tfidf" for c in configs)


# --- metrics -----------------------------------------------------------------------------------------


def test_classification_metrics_on_a_known_example():
    y = np.array([1, 1, 1, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.3, 0.2, 0.6, 0.1])
    m = metrics.classification_metrics(y, p, lengths=np.array([10, 20, 30, 40, 50, 60]))
    assert m["confusion"] == [[2, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert sum(q["n"] for q in m["length_quartiles"]) == 6


def test_metrics_do_not_fail_on_degenerate_predictions():
    m = metrics.classification_metrics(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.3]), np.array([1, 1, 1]))
    assert m["precision"] == 0 and m["f1"] == 0 and np.isfinite(m["ece"])


def test_ece_is_zero_when_confidence_equals_accuracy_and_large_when_overconfident():
    y = np.array([1] * 8 + [0] * 2)
    assert metrics.expected_calibration_error(y, np.full(10, 0.8)) == pytest.approx(0.0, abs=1e-12)
    assert metrics.expected_calibration_error(y, np.full(10, 0.999)) == pytest.approx(0.199, abs=1e-9)
    bins = metrics.reliability_bins(y, np.linspace(0, 1, 10))
    assert len(bins) == metrics.ECE_BINS and bins["count"].sum() == 10


def test_published_anchors_are_literature_values_with_citations():
    assert [p.accuracy for p in analysis.PUBLISHED] == [0.8889, 0.865]
    assert all("20" in p.citation for p in analysis.PUBLISHED)


def test_faithfulness_compares_top_and_random_deletions():
    m = tiny_model("attention")
    rng = np.random.default_rng(0)
    seqs = [torch.tensor(rng.integers(2, 50, size=n)) for n in rng.integers(4, 30, size=40)]
    rows = metrics.faithfulness(m, seqs, ks=(1, 3), seed=0)
    assert [r["k"] for r in rows] == [1, 3]
    assert all(r["n"] <= 40 and np.isfinite(r["top_drop"]) and np.isfinite(r["random_drop"]) for r in rows)
    with pytest.raises(ValueError, match="attention"):
        metrics.faithfulness(tiny_model("baseline"), seqs, ks=(1,))


def test_gradient_importance_is_the_gradient_of_the_logit_times_the_word_vector():
    m = tiny_model("attention")
    seqs = [torch.tensor(REVIEW), torch.tensor(LONGER[0])]
    got = metrics.gradient_importance(m, seqs)
    for s, g in zip(seqs, got, strict=True):  # one review at a time, by hand
        x = m.embedding(s[None]).detach().requires_grad_(True)
        logit = m.from_embeddings(x, torch.tensor([len(s)]), torch.ones(1, len(s), dtype=torch.bool)).logits
        (grad,) = torch.autograd.grad(logit.sum(), x)
        assert np.allclose(g, (grad * x).sum(-1)[0].detach().numpy(), atol=1e-6)


def test_faithfulness_reference_pairs_attention_gradient_and_random_on_the_same_reviews():
    m = tiny_model("attention")
    rng = np.random.default_rng(0)
    seqs = [torch.tensor(rng.integers(2, 50, size=n)) for n in rng.integers(6, 30, size=30)]
    out = metrics.faithfulness_reference(m, seqs, ks=(1, 5), seed=0)
    for name in ("attention_drop", "gradient_drop", "random_drop", "overlap"):
        assert out[name].shape == (2, 30) and np.isfinite(out[name]).all()
    assert ((0 <= out["overlap"]) & (out["overlap"] <= 1)).all()
    assert ((0 <= out["attention_position"]) & (out["attention_position"] <= 1)).all()
    # deleting the tokens that push hardest towards the prediction lowers confidence more than random ones
    assert out["gradient_drop"][1].mean() > out["random_drop"][1].mean()
    with pytest.raises(ValueError, match="more than 5 tokens"):
        metrics.faithfulness_reference(m, [torch.tensor([3, 4, 5])], ks=(1, 5))


def _example():
    shown = 'I "loved" it #1 *really* \\ [x] $5 @me // end'
    shown_spans = text.token_spans(shown)[1]
    return analysis.Example(7, 1, 0.93, shown, shown_spans, np.linspace(0.1, 1.0, len(shown_spans)), len(shown) - 6)


def test_highlighted_text_marks_the_top_words_without_colour_in_both_formats():
    ex = _example()
    page = analysis.highlight_html([ex])
    assert page.count("<strong style='text-decoration:underline'>") == analysis.TOP_WORDS
    assert "largest weights of each review are also bold and underlined" in page
    assert "&quot;" in page or "&#x27;" in page or '"loved"' not in page  # escaped
    typ = analysis.highlight_typst([ex])
    assert typ.count("#underline[#strong[") == analysis.TOP_WORDS
    # every character of the review sits inside a Typst string literal: no markup is read from it
    import re

    outside = re.sub(r'"(?:[^"\\]|\\.)*"', "", typ)
    assert not set(outside) & set("*_$@<\\/"), outside
    assert '#"\\"loved\\""' in typ or '"\\"' in typ
    assert "rgb(118, 118, 118)" in typ  # the unread end in grey
    # the most strongly shaded words keep dark text, readable in the dark theme too
    import re as re_

    shades = re_.findall(r"rgba\(230, 159, 0, ([0-9.]+)\)([^']*)'", page)
    assert any(float(a) >= analysis.DARK_TEXT_FROM for a, _ in shades) and any(float(a) < 0.5 for a, _ in shades)
    for alpha, style in shades:
        assert ("color:#111111" in style) == (float(alpha) >= analysis.DARK_TEXT_FROM)


def test_stored_examples_round_trip():
    from hw3.sentiment import artefacts

    ex = _example()
    back = artefacts.example_from_dict(json.loads(json.dumps(artefacts.example_to_dict(ex))))
    assert back.shown == ex.shown and back.spans == ex.spans and np.allclose(back.weights, ex.weights)
    assert (back.review_id, back.label, back.truncated_at) == (7, 1, ex.truncated_at)


# --- prediction (a run written by hand, so no data set is needed) ------------------------------------


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """A stored attention run with a tiny model and a 50-word vocabulary, under a temporary results root."""
    monkeypatch.setenv("HW3_RESULTS", str(tmp_path / "results"))
    words = ["great", "awful", "film", "the", "a", "!", "plot", "boring", "loved", "it"]
    vocab = text.Vocab(["<pad>", "<unk>", *words, *[f"w{i}" for i in range(50 - 2 - len(words))]])
    config = SentimentConfig(model="attention", max_len=16, embed_dropout=0.0, dropout=0.0, **TINY)
    folder = runs.run_dir(config)
    folder.mkdir(parents=True)
    vocab.save(folder / "vocab.json")
    torch.manual_seed(0)
    save_file(SentimentGRU.from_config(config).state_dict(), folder / "model.safetensors")
    for name, obj in (("config", config.to_dict()), ("metrics", {}), ("history", []), ("provenance", {})):
        utils.write_json(folder / f"{name}.json", obj)
    return runs.Run(folder)


def test_predict_returns_label_probability_and_top_words(fake_run):
    out = predict.predict(fake_run, ["Great film, loved it!", "awful boring plot"], top_k=3)
    assert len(out) == 2
    for p in out:
        assert p["label"] in ("pos", "neg") and 0 <= p["prob_pos"] <= 1
        assert (p["label"] == "pos") == (p["prob_pos"] >= 0.5)
        assert len(p["top_words"]) == 3 and len({w for w, _ in p["top_words"]}) == 3
        weights = [w for _, w in p["top_words"]]
        assert weights == sorted(weights, reverse=True)
    assert {w for w, _ in out[1]["top_words"]} == {"awful", "boring", "plot"}
    assert predict.predict(fake_run.name, ["Great film, loved it!"])[0]["prob_pos"] == out[0]["prob_pos"]


@pytest.mark.parametrize("bad", ["", "   \n\t", "..."])
def test_predict_rejects_empty_text_clearly(fake_run, bad):
    with pytest.raises(ValueError, match="review 0 is"):
        predict.predict(fake_run, [bad])


def test_predict_handles_any_unicode_through_unk(fake_run):
    out = predict.predict(fake_run, ["\N{GRINNING FACE}\N{GRINNING FACE}", "素晴らしい映画", "Ωραία ταινία great"])
    assert all(0 <= p["prob_pos"] <= 1 for p in out)
    assert out[0]["tokens"] == 2


def test_predict_truncates_long_text_as_in_training(fake_run):
    long = "great film " * 500 + "awful"
    cut = " ".join(["great film"] * 8)  # the first max_len = 16 tokens
    p_long, p_cut = predict.predict(fake_run, [long, cut])
    assert p_long["truncated"] and not p_cut["truncated"] and p_long["tokens"] == 1001
    assert p_long["prob_pos"] == pytest.approx(p_cut["prob_pos"], abs=1e-6)


def test_predict_wants_a_list_and_a_known_run(fake_run):
    with pytest.raises(TypeError, match="list"):
        predict.predict(fake_run, "great film")
    with pytest.raises(runs.RunError, match="no stored sentiment run"):
        predict.predict("no-such-run", ["great"])


def test_cli_predict_text_and_files(fake_run, tmp_path, capsys):
    assert cli.main(["predict", "--run", fake_run.name, "Great film, loved it!"]) == 0
    shown = capsys.readouterr().out
    assert "P(positive)" in shown and "most-attended words" in shown
    src, dst = tmp_path / "reviews.txt", tmp_path / "preds.jsonl"
    src.write_text("Great film!\nawful boring plot \N{GRINNING FACE}\n" + "great " * 300 + "\n", encoding="utf-8")
    assert cli.main(["predict", "--run", fake_run.name, "--input", str(src), "--output", str(dst)]) == 0
    rows = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3 and all(r["label"] in ("pos", "neg") and 0 <= r["prob_pos"] <= 1 for r in rows)
    assert rows[2]["truncated"]


def test_cli_predict_errors_are_one_line(fake_run, tmp_path, capsys):
    assert cli.main(["predict", "--run", fake_run.name, ""]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hw3: error:") and "empty" in err and err.count("\n") == 1
    assert cli.main(["predict", "--run", fake_run.name]) == 1  # neither text nor --input
    src = tmp_path / "r.txt"
    src.write_text("fine\n\nfine\n", encoding="utf-8")
    assert cli.main(["predict", "--run", fake_run.name, "--input", str(src)]) == 1
    assert "line 2" in capsys.readouterr().err


# --- end to end on real data (quick profile) ---------------------------------------------------------


@needs_data
@pytest.mark.slow
def test_quick_training_stores_a_complete_run_and_predict_agrees_with_it(quick_env):
    from hw3 import data

    run = runs.load_or_train(SentimentConfig(model="attention"), device="cpu")
    assert run.file("vocab.json").exists() and run.file("model.safetensors").exists()
    t = run.load_tensors("test_predictions")
    assert len(t["prob_pos"]) == run.metrics["num_test"]
    for key in ("accuracy", "precision", "recall", "f1", "confusion", "ece", "length_quartiles", "faithfulness"):
        assert key in run.metrics
    # what the chapter quotes is stored with the run, so rendering reads no data set
    from hw3.sentiment import artefacts

    examples = artefacts.examples(run)
    assert len(examples) == 4 and all(abs(float(e.weights.sum()) - 1) < 1e-4 for e in examples)
    mistakes = artefacts.mistakes(run)
    assert len(mistakes) == 5 and set(mistakes["true"]) <= {"pos", "neg"}
    faith = artefacts.faithfulness_reviews(run)
    assert faith["attention_drop"].shape == (len(faith["ks"]), len(faith["index"]))
    # the prediction path (raw text -> tokenizer -> vocab.json -> model) gives the stored probability
    reviews = data.imdb("test")
    idx = t["index"][:5].tolist()
    probs = [p["prob_pos"] for p in predict.predict(run, [reviews[i].text for i in idx])]
    assert np.allclose(probs, t["prob_pos"][:5].numpy(), atol=1e-5)


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("model", ["baseline", "attention"])
def test_a_trained_run_scores_the_same_through_the_packed_and_padded_paths(quick_env, model):
    from hw3.sentiment.model import load_model, predict_proba

    run = runs.load_or_train(SentimentConfig(model=model), device="cpu")
    net, _, config = load_model(run)
    test = data.load_data(config).test
    padded, _ = predict_proba(net, test.seqs, "cpu")
    net.packed = True
    packed, _ = predict_proba(net, test.seqs, "cpu")
    assert np.abs(padded - packed).max() < 1e-5
    assert round(float(np.mean((padded >= 0.5) == test.labels.numpy())), 4) == round(run.metrics["accuracy"], 4)


class SimulatedCrash(Exception):
    pass


@needs_data
@pytest.mark.slow
def test_interrupted_training_resumes_to_the_same_result(quick_env, monkeypatch):
    config = dataclasses.replace(SentimentConfig(model="meanpool").quick(), num_epochs=2, patience=5,
                                 name="resume-check")
    reference = runs.train_run(config, device="cpu")
    ref_weights = reference.load_weights("model")
    ref_history = [{k: v for k, v in r.items() if "seconds" not in k and "per_second" not in k}
                   for r in reference.history]

    original = runs.RunWriter.log_epoch

    def crash_after_first_epoch(self, epoch, **values):
        if epoch == 2:
            raise SimulatedCrash
        return original(self, epoch, **values)

    monkeypatch.setattr(runs.RunWriter, "log_epoch", crash_after_first_epoch)
    with pytest.raises(SimulatedCrash):
        runs.train_run(config, device="cpu")
    monkeypatch.setattr(runs.RunWriter, "log_epoch", original)
    resumed = runs.train_run(config, device="cpu", resume=True)
    assert [{k: v for k, v in r.items() if "seconds" not in k and "per_second" not in k}
            for r in resumed.history] == ref_history
    for k, v in resumed.load_weights("model").items():
        assert torch.equal(v, ref_weights[k]), k


@needs_data
@pytest.mark.slow
def test_tfidf_reference_trains_and_predicts_consistently(quick_env):
    from hw3 import data
    from hw3.sentiment import tfidf

    run = runs.load_or_train(tfidf.TfidfConfig(), device="cpu")
    assert run.metrics["C"] in tfidf.TfidfConfig().quick().C_grid
    t = run.load_tensors("test_predictions")
    reviews = data.imdb("test")
    idx = t["index"][:5].tolist()
    probs = [p["prob_pos"] for p in predict.predict(run, [reviews[i].text for i in idx])]
    assert np.allclose(probs, t["prob_pos"][:5].numpy(), atol=1e-5)


def test_predict_input_is_one_prediction_per_line(fake_run, tmp_path):
    # separators that str.splitlines breaks at, inside reviews (331 real IMDb test reviews hold a NEL)
    reviews = ["Great film\x85 loved it", "dull\u2028plot\u2029ending", "bad\x0cpacing\x1cand\x1dmore\x1e",
               "vertical\x0btab", "ok"]
    src, dst = tmp_path / "reviews.txt", tmp_path / "preds.jsonl"
    src.write_bytes(("\ufeff" + "\r\n".join(reviews) + "\r\n").encode("utf-8"))
    assert predict.read_reviews(src) == reviews
    assert cli.main(["predict", "--run", fake_run.name, "--input", str(src), "--output", str(dst)]) == 0
    rows = [json.loads(line) for line in dst.read_text(encoding="utf-8").split("\n") if line]
    direct = predict.predict(fake_run, reviews)
    assert [r["prob_pos"] for r in rows] == [d["prob_pos"] for d in direct]


def test_figures_take_their_colours_from_the_current_style():
    """The dark rendering (plots.renderings) redraws each figure under plots.style("dark"): its lines use
    the dark palette, and the error bars are the t intervals the caption names (compare.paired)."""
    from matplotlib.colors import to_hex

    from hw3 import compare, plots
    from hw3.sentiment import figures

    rng = np.random.default_rng(0)
    pooled = {"ks": np.array([1, 5]), "attention_drop": rng.uniform(0, 0.1, (2, 30)),
              "gradient_drop": rng.uniform(0, 0.5, (2, 30)), "random_drop": rng.uniform(0, 0.02, (2, 30))}
    for name, palette in (("light", plots.OKABE_ITO), ("dark", plots.OKABE_ITO_DARK)):
        with plots.style(name):
            fig = figures.faithfulness(pooled)
            assert figures.colour("baseline") == palette[0] and figures.colour("tfidf") == palette[4]
        legend = [to_hex(h.get_color()).upper() for h in fig.axes[0].get_legend().legend_handles]
        assert legend == [palette[4].upper(), palette[1].upper(), palette[0].upper()]  # gradient, attention, random
    # error bar of attention at k = 1: the t interval of the mean drop, in points
    ci = compare.paired(100 * pooled["attention_drop"][0], np.zeros(30))
    bars = fig.axes[0].containers[1]  # gradient, attention, random
    segment = bars.lines[2][0].get_segments()[0]
    assert np.allclose([segment[0][1], segment[1][1]], [ci.low, ci.high])
