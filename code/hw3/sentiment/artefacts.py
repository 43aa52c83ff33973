"""The small artefacts a sentiment run stores for its chapter, so that rendering reads only `results/`
(never the IMDb data): the quoted example reviews with their tokens and attention weights, the most
confident mistakes, the page's example reviews, and the per-review faithfulness measurements.

Files in a run's folder (each written at training time, or for an older run by
`python -m hw3.sentiment --artefacts`, which reads the stored weights and the data):

    attention_examples.json      attention runs: `analysis.attention_examples` (text, token spans, weights)
    confident_mistakes.json      every GRU run: `analysis.compute_confident_mistakes` (review, stars, opening)
    page_examples.json           the chapter's attention run: `export.page_examples`, as the page reads them
    faithfulness_reviews.safetensors
                                 attention runs: `metrics.faithfulness_reference` per review and k
    ending_accuracy.json         TF-IDF: `tfidf.ending_accuracy`, the first vs last tokens of each review
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .. import runs, utils
from . import analysis, metrics

EXAMPLES = "attention_examples.json"
MISTAKES = "confident_mistakes.json"
PAGE = "page_examples.json"
FAITHFULNESS = "faithfulness_reviews"  # .safetensors
ENDINGS = "ending_accuracy.json"
FAITHFULNESS_REVIEWS = 300  # test reviews per run for the gradient × input reference (a few CPU minutes)
FAITHFULNESS_SEED = 2026  # the same reviews for every seed, so the seeds' drops pair up


def example_to_dict(ex: analysis.Example) -> dict:
    return {"review_id": int(ex.review_id), "label": int(ex.label), "prob_pos": round(float(ex.prob_pos), 6),
            "shown": ex.shown, "spans": [[t, int(a), int(b)] for t, a, b in ex.spans],
            "weights": [round(float(w), 6) for w in ex.weights], "truncated_at": int(ex.truncated_at)}


def example_from_dict(d: dict) -> analysis.Example:
    return analysis.Example(d["review_id"], d["label"], d["prob_pos"], d["shown"],
                            [(t, a, b) for t, a, b in d["spans"]], np.asarray(d["weights"], dtype=float),
                            d["truncated_at"])


def _need(run: runs.Run, name: str):
    path = run.file(name)
    if not path.exists():
        raise runs.RunError(f"{run.path} has no {name}: run `python -m hw3.sentiment --artefacts` "
                            "(it reads the stored weights and the IMDb data once)")
    return path


def examples(run: runs.Run, name: str = EXAMPLES) -> list[analysis.Example]:
    """The stored example reviews of `run` (attention_examples.json or page_examples.json)."""
    return [example_from_dict(d) for d in utils.read_json(_need(run, name))]


def page_examples(run: runs.Run) -> list[analysis.Example]:
    """The page's example reviews as its model reads them: stored in the chapter's attention run, else
    computed from the exported model in web/ (`export.page_examples`; no data needed either way)."""
    if run.file(PAGE).exists():
        return examples(run, PAGE)
    from .export import page_examples as from_web

    return from_web()


def mistakes(run: runs.Run, n: int = 5) -> pd.DataFrame:
    """The stored most confident mistakes of `run` (the first n)."""
    rows = utils.read_json(_need(run, MISTAKES))[:n]
    return pd.DataFrame(rows, columns=["review", "stars", "true", "P(pos)", "opening"])


def faithfulness_reviews(run: runs.Run) -> dict[str, np.ndarray] | None:
    """The per-review faithfulness measurements of an attention run, or None if it has none."""
    if not run.file(f"{FAITHFULNESS}.safetensors").exists():
        return None
    return {k: v.numpy() for k, v in run.load_tensors(FAITHFULNESS).items()}


def ending_accuracy(run: runs.Run) -> dict:
    return utils.read_json(_need(run, ENDINGS))


# --- computing them (needs the data) -------------------------------------------------------------------

def write_gru(folder, model, config, test_seqs: list[torch.Tensor], preds: dict[str, torch.Tensor],
              device="cpu") -> None:
    """Everything a GRU run stores for the chapter, into `folder` (a run being trained, or a stored one).

    test_seqs: the encoded test reviews, in the order of `preds` (the run's test_predictions)."""
    from pathlib import Path

    folder = Path(folder)
    p, y = preds["prob_pos"].numpy().astype(float), preds["label"].numpy().astype(int)
    index, lengths = preds["index"].numpy(), preds["length"].numpy()
    utils.write_json(folder / MISTAKES, analysis.compute_confident_mistakes(p, y, index))
    if config.model != "attention":
        return
    vocab = _vocab(folder)
    utils.write_json(folder / EXAMPLES, [example_to_dict(e) for e in
                                         analysis.attention_examples_of(model, vocab, config, index, lengths, y)])
    rng = np.random.default_rng(FAITHFULNESS_SEED)
    eligible = np.flatnonzero(lengths > max(metrics.REFERENCE_KS))
    size = min(FAITHFULNESS_REVIEWS, config.faithfulness_reviews, len(eligible))
    pick = np.sort(rng.choice(eligible, size=size, replace=False))
    out = metrics.faithfulness_reference(model, [test_seqs[j] for j in pick], metrics.REFERENCE_KS,
                                         device=device, seed=config.seed)
    out["index"] = index[pick]  # positions in the test split
    torch_out = {k: torch.as_tensor(np.asarray(v)) for k, v in out.items()}
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in torch_out.items()}, folder / f"{FAITHFULNESS}.safetensors")


def _vocab(folder):
    from .. import text

    return text.Vocab.load(folder / "vocab.json")


def backfill(names: list[str] | None = None, *, device="cpu") -> list[str]:
    """Compute the artefacts of the stored sentiment runs that lack them (the one-off step for runs
    trained before they existed): reads each run's stored weights and test predictions and the data."""
    from . import export, tfidf
    from .data import _encoded
    from .model import load_model

    done = []
    for run in runs.list_runs():
        if run.experiment != "sentiment" or (names and not any(n in run.name for n in names)):
            continue
        attention = run.config_dict["model"] == "attention"
        have = run.file(MISTAKES).exists() and (not attention or (
            run.file(EXAMPLES).exists() and run.file(f"{FAITHFULNESS}.safetensors").exists()))
        if have:
            continue
        model, _, config = load_model(run, device)
        preds = run.load_tensors("test_predictions")
        seqs, _, _ = _encoded("test", config.vocab_size, config.max_len)
        write_gru(run.path, model, config, [seqs[int(i)] for i in preds["index"].numpy()], preds, device)
        done.append(run.name)
    page_run = export.report_run()
    if page_run.path.exists() and (not names or any(n in page_run.name for n in names)):
        utils.write_json(page_run.file(PAGE), [example_to_dict(e) for e in export.page_examples()])
        done.append(f"{page_run.name} (page examples)")
    tf = runs.run_dir(tfidf.TfidfConfig())
    if tf.exists() and not (tf / ENDINGS).exists() and (not names or "tfidf" in names):
        utils.write_json(tf / ENDINGS, tfidf.ending_accuracy(tfidf.run_tensors(tf), tfidf.TfidfConfig.from_dict(runs.Run(tf).config_dict)))
        done.append("tfidf (ending accuracy)")
    return done
