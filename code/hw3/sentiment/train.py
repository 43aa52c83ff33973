"""Training a sentiment GRU: Adam with gradient clipping, the best-validation epoch kept (early stopping
with patience, learning-rate decay on plateaus), the test set scored once at the end.

`max_len` is chosen per model by validation accuracy (`study.chosen_max_len`).
"""

from __future__ import annotations

import copy
import sys
import time

import numpy as np
import torch
from torch import nn

from .. import runs, text, utils
from . import artefacts, metrics
from .data import load_data, prediction_tensors
from .model import SentimentConfig, SentimentGRU, cpu_threads, predict_proba

FAITHFULNESS_KS = (1, 3, 5, 10, 20)


def train_step(model: SentimentGRU, batch: text.Batch, opt: torch.optim.Optimizer,
               grad_clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One Adam step on `batch`; returns (summed loss, number correct)."""
    out = model(batch.ids, batch.lengths, batch.mask)
    loss = nn.functional.binary_cross_entropy_with_logits(out.logits, batch.labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    correct = ((out.logits > 0).float() == batch.labels).sum()
    return loss.detach() * len(batch.labels), correct


def train_epoch(model, loader, opt, grad_clip: float, device, desc: str = "", scheduler=None) -> dict:
    model.train()
    total_loss = torch.zeros((), device=device)
    total_correct = torch.zeros((), device=device)
    n = tokens = 0
    t0 = time.perf_counter()
    for batch in utils.progress(loader, desc=desc, unit="batch"):
        batch = batch.to(device)
        loss, correct = train_step(model, batch, opt, grad_clip)
        if scheduler is not None:
            scheduler.step()
        total_loss += loss
        total_correct += correct
        n += len(batch.labels)
        tokens += int(batch.lengths.sum())
    seconds = time.perf_counter() - t0
    return {"train_loss": total_loss.item() / n, "train_accuracy": total_correct.item() / n,
            "epoch_seconds": seconds, "tokens_per_second": tokens / seconds}


def validation_metrics(model, dataset: text.EncodedDataset, device) -> dict:
    probs, _ = predict_proba(model, dataset.seqs, device)
    y = dataset.labels.numpy()
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    return {"val_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
            "val_accuracy": float(np.mean((probs >= 0.5) == y))}


@runs.trainer(SentimentConfig)
def train(config: SentimentConfig, run: runs.RunWriter, device: torch.device) -> None:
    """Train with Adam and gradient clipping, keep the best-validation epoch, score the test set once."""
    with cpu_threads(config.hidden_size, device):
        _train(config, run, device)


def _train(config: SentimentConfig, run: runs.RunWriter, device: torch.device) -> None:
    data = load_data(config)
    data.vocab.save(run.dir / "vocab.json")
    model = SentimentGRU.from_config(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    train_loader = text.loader(data.train, config.batch_size, shuffle=True, seed=config.seed)
    scheduler = None
    if config.lr_schedule == "linear":  # lr · (1 - step / total steps), stepped after every batch
        total = config.num_epochs * len(train_loader)
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, 1 - step / total))

    start, best = 1, {"epoch": 0, "val_accuracy": -1.0}
    best_state = copy.deepcopy(model.state_dict())
    ck = run.load_checkpoint()
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        if scheduler is not None:
            scheduler.load_state_dict(ck["scheduler"])
        best_state, best = ck["best_model"], ck["best"]
        start = ck["epoch"] + 1

    for epoch in range(start, config.num_epochs + 1):
        if epoch - best["epoch"] > config.patience:
            break  # no better validation accuracy for `patience` epochs
        train_loader.batch_sampler.set_epoch(epoch)
        row = train_epoch(model, train_loader, opt, config.grad_clip, device,
                          desc=f"{config.name} epoch {epoch}/{config.num_epochs}", scheduler=scheduler)
        row["lr"] = opt.param_groups[0]["lr"]
        row |= validation_metrics(model, data.val, device)
        runs.check_finite(epoch, train_loss=row["train_loss"], val_loss=row["val_loss"])
        run.log_epoch(epoch, **row)
        if row["val_accuracy"] > best["val_accuracy"]:
            best = {"epoch": epoch, "val_accuracy": row["val_accuracy"], "val_loss": row["val_loss"]}
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif config.lr_schedule == "plateau" and config.lr_decay:  # a plateau: smaller steps (the rate lives in opt's state, so resume keeps it)
            for group in opt.param_groups:
                group["lr"] *= config.lr_decay
        print(f"{config.name} epoch {epoch}: train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.4f} | "
              f"val loss {row['val_loss']:.4f} acc {row['val_accuracy']:.4f} | {row['epoch_seconds']:.1f}s",
              file=sys.stderr)
        extra = {"scheduler": scheduler.state_dict()} if scheduler is not None else {}
        run.save_checkpoint(epoch, model=model.state_dict(), opt=opt.state_dict(), best_model=best_state, best=best,
                            **extra)

    model.load_state_dict(best_state)
    run.save_weights("model", model)

    # The test set, once: final numbers from the best-validation weights.
    probs, _ = predict_proba(model, data.test.seqs, device)
    labels = data.test.labels.numpy().astype(np.int64)
    preds = prediction_tensors(probs, labels, data.test_lengths, data.test_index)
    run.save_tensors("test_predictions", preds)
    artefacts.write_gru(run.dir, model, config, data.test.seqs, preds, device)  # what the chapter quotes
    run.metrics.update(metrics.classification_metrics(labels, probs, data.test_lengths))
    run.metrics.update({"best_epoch": best["epoch"], "val_accuracy": best["val_accuracy"],
                        "val_loss": best["val_loss"], "epochs_trained": len(run.history),
                        "num_train": len(data.train), "num_val": len(data.val), "num_test": len(data.test),
                        "num_parameters": sum(p.numel() for p in model.parameters())})
    if config.model == "attention":
        rng = np.random.default_rng(config.seed)
        pick = rng.choice(len(data.test), size=min(config.faithfulness_reviews, len(data.test)), replace=False)
        run.metrics["faithfulness"] = metrics.faithfulness(
            model, [data.test.seqs[i] for i in pick], FAITHFULNESS_KS, device=device, seed=config.seed)
