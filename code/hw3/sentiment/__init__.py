"""Q3, IMDb sentiment with a GRU, with and without attention: one module per concept.

    model     SentimentConfig, the GRU with last-token / attention / mean pooling, running a stored model
    data      the fixed validation split, subsets, encoded data sets, stored test predictions
    train     the training loop (Adam, clipping, best-validation epoch, test set once)
    metrics   accuracy/F1, calibration (ECE), faithfulness of attention
    tfidf     the bag-of-words reference (TF-IDF + logistic regression)
    study     the chapter's runs: the max_len sweep, the seeds at the chosen lengths, TF-IDF
    analysis  attention examples, confident mistakes, targets and the chapter's tables
    predict   sentiment of new reviews with a stored run (`hw3 predict`)
    figures   the chapter's figures (each takes results, returns a Figure; none trains)
    facts     `chapter()`: everything attention.qmd's prose states, as one `SentimentFacts`
    export    the chapter's attention GRU for the page (`hw3 export web`), the page's examples

`python -m hw3.sentiment --all` trains (or loads) every run of the chapter.
"""

from __future__ import annotations

from . import analysis, data, export, facts, figures, metrics, model, predict, study, tfidf, train
from .facts import SentimentFacts, chapter
from .model import MAX_LEN_CANDIDATES, MODELS, SentimentConfig
from .study import final_configs, report_configs, report_runs
from .tfidf import TfidfConfig

__all__ = ["MAX_LEN_CANDIDATES", "MODELS", "SentimentConfig", "SentimentFacts", "TfidfConfig", "analysis",
           "chapter", "data", "export", "facts", "figures", "final_configs", "metrics", "model", "predict", "report_configs",
           "report_runs", "study", "tfidf", "train"]
