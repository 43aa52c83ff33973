"""The attention GRU the chapter presents, for the page: its weights, vocabulary and example reviews.

`web_model()` reads the stored run (never trains) and returns what `hw3.web.bundle.pack` stores; the
forward pass that reads it is hw3/web/sentiment.mjs (same tokenizer, vocabulary and truncation as
`hw3 predict`). Every weight matrix is stored as int8 with one scale per row, the vectors as float32:
on 200 test reviews P(positive) then moves by at most 0.0062 from the float32 model (no label
changes) and attention weights by ~4e-4, while the file is a quarter of float32's (fp16 alone already
moves P(positive) by 2e-4, so nothing smaller than float32 keeps 1e-4; see tests/web).
`reference_model` loads the decoded weights back into `SentimentGRU`, the Python twin of the page.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import runs, text, utils
from .model import SentimentConfig, SentimentGRU, load_model, predict_proba
from .study import chosen_max_len

INT8_MIN_SIZE = 4096  # matrices with at least this many entries are stored as int8 (per row)


def report_run() -> runs.Run:
    """The chapter's attention GRU: seed 0 at its chosen max_len (the quick-profile twin under HW3_QUICK)."""
    config = SentimentConfig(model="attention", seed=0, max_len=chosen_max_len("attention"))
    return runs.Run(runs.run_dir(config.quick() if utils.quick() else config))


def pick_examples(prob_pos: np.ndarray, labels: np.ndarray, lengths: np.ndarray, *, mistakes: int = 3,
                  min_tokens: int = 30, max_tokens: int = 120) -> list[tuple[int, str]]:
    """Positions of the reviews the page offers, with a title: the most confident correct negative and
    positive of moderate length, then the `mistakes` most confident mistakes."""
    pred = prob_pos >= 0.5
    conf = np.where(pred, prob_pos, 1 - prob_pos)
    moderate = (lengths >= min_tokens) & (lengths <= max_tokens)
    picked = []
    for label, title in ((1, "a confident positive"), (0, "a confident negative")):
        pool = np.flatnonzero(moderate & (pred == labels) & (labels == label))
        if len(pool):
            picked.append((int(pool[np.argmax(conf[pool])]), title))
    wrong = np.flatnonzero(pred != labels)
    for rank, j in enumerate(wrong[np.argsort(-conf[wrong], kind="stable")][:mistakes]):
        picked.append((int(j), f"confident mistake {rank + 1}"))
    return picked


def examples(run: runs.Run) -> list[dict]:
    """The example reviews (text, true label, the run's stored P(positive)); none without stored predictions."""
    if not run.file("test_predictions.safetensors").exists():
        return []
    from .analysis import imdb_test_reviews

    preds = run.load_tensors("test_predictions")
    p, y = preds["prob_pos"].numpy().astype(float), preds["label"].numpy().astype(int)
    index, lengths = preds["index"].numpy(), preds["length"].numpy()
    reviews = imdb_test_reviews()
    out = []
    for j, title in pick_examples(p, y, lengths):
        r = reviews[int(index[j])]
        out.append({"title": title, "review_id": r.id, "stars": r.rating, "label": r.label, "text": r.text})
    return out


def web_model(run: runs.Run | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str], dict]:
    """(tensors, storage dtypes, meta) of the chapter's attention GRU for `bundle.pack`."""
    run = run or report_run()
    model, vocab, config = load_model(run)
    if config.model != "attention":
        raise ValueError(f"{run.name} is a {config.model} model; the page shows attention weights")
    state = model.state_dict()
    dtypes = {k: "i8" for k, v in state.items() if v.dim() == 2 and v.numel() >= INT8_MIN_SIZE}
    meta = {
        "kind": "sentiment", "run": run.name, "tokenizer_version": text.TOKENIZER_VERSION,
        "config": {k: getattr(config, k) for k in ("vocab_size", "max_len", "embedding_dim", "hidden_size",
                                                    "num_layers", "attention_dim")},
        "test_accuracy": run.metrics.get("accuracy"), "itos": vocab.itos, "examples": examples(run),
    }
    return state, dtypes, meta


def reference_model(tensors: dict[str, np.ndarray], meta: dict) -> tuple[SentimentGRU, text.Vocab]:
    """`SentimentGRU` (eval mode) holding decoded container weights, and the container's vocabulary."""
    c = meta["config"]
    model = SentimentGRU("attention", c["vocab_size"], c["embedding_dim"], c["hidden_size"], c["num_layers"],
                         c["attention_dim"])
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()})
    return model.eval(), text.Vocab(list(meta["itos"]))


def page_examples(folder=None) -> list:
    """The example reviews as the page shows them: `analysis.Example`s from the exported model in
    `folder` (default: the committed web/), for the PDF's static version of the widget."""
    from .. import web
    from .analysis import Example

    tensors, meta = web.read_bundle(folder or utils.project_root() / "web", "sentiment")
    model, vocab = reference_model(tensors, meta)
    max_len, out = meta["config"]["max_len"], []
    for ex in meta["examples"]:
        shown, spans = text.token_spans(ex["text"])
        spans = spans[:max_len]
        ids = torch.tensor(vocab.encode([t for t, _, _ in spans]), dtype=torch.int64)
        probs, weights = predict_proba(model, [ids], "cpu", with_weights=True)
        end = len(shown) if len(spans) < max_len else spans[-1][2]
        out.append(Example(ex["review_id"], ex["label"], float(probs[0]), shown, spans, weights[0], end))
    return out
