"""Essay 4, Siamese networks: one CNN encoder f applied to both images of a pair (shared weights), trained
with the contrastive loss of Hadsell, Chopra & LeCun (2006),

    L = y * d^2 / 2 + (1 - y) * max(0, m - d)^2 / 2,      d = ||f(x1) - f(x2)||,  y = 1 for the same digit,

so that images of the same digit land close together and different digits at least a margin m apart.
The embedding is two-dimensional, so it can be drawn directly. Pairs are formed inside each mini-batch:
embedding B images once gives B (B - 1) / 2 pairs, the cheapest way to run a twin network. Some digits
are held out of training entirely; verification on them is the one-shot setting of faces or signatures,
where the identities at test time were never seen.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import data, plots, runs
from . import common


@dataclass
class SiameseConfig(runs.RunConfig):
    experiment: ClassVar[str] = "theory-siamese"
    name: str = "default"
    seed: int = 0
    train_size: int = 12_000  # MNIST training images of the seen digits
    num_epochs: int = 6
    batch_size: int = 128  # images per batch -> 128 * 127 / 2 pairs
    lr: float = 1e-3
    embedding_dim: int = 2
    margin: float = 1.0
    held_out_digits: tuple[int, ...] = (8, 9)  # never seen in training
    test_pairs: int = 4_000  # verification pairs per group (seen digits, held-out digits), half positive
    scatter_size: int = 2_000  # test digits drawn in the embedding figure
    shots_episodes: int = 500  # one-shot 10-way classification episodes

    def quick(self):
        return dataclasses.replace(self, train_size=600, num_epochs=1, test_pairs=200, scatter_size=200,
                                   shots_episodes=20)


class Encoder(nn.Module):
    """The shared twin: a small CNN mapping a digit to a point in R^embedding_dim."""

    def __init__(self, embedding_dim: int = 2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, 14, 14)
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 7, 7)
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(),  # (B, 64)
            nn.Linear(64, embedding_dim),  # (B, D)
        )

    def forward(self, X):
        return self.net(X)


def contrastive_loss(z1: torch.Tensor, z2: torch.Tensor, same: torch.Tensor, margin: float,
                     balance: bool = True) -> torch.Tensor:
    """Contrastive loss of embedding pairs z1, z2 (P, D) with `same` (P,) in {0, 1}.

    With `balance`, positive and negative pairs contribute equally whatever their counts (in-batch
    pairs are about 90% negative).
    """
    d = (z1 - z2).norm(dim=1)  # (P,)
    pos = 0.5 * d.pow(2)
    neg = 0.5 * (margin - d).clamp(min=0).pow(2)
    same = same.float()
    if not balance:
        return (same * pos + (1 - same) * neg).mean()
    n_pos, n_neg = same.sum().clamp(min=1), (1 - same).sum().clamp(min=1)
    return (same * pos).sum() / n_pos + ((1 - same) * neg).sum() / n_neg


def batch_pairs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (i, j), i < j, of every pair among n items."""
    i, j = torch.triu_indices(n, n, offset=1)
    return i, j


def verification_pairs(y: torch.Tensor, num_pairs: int, seed: int) -> torch.Tensor:
    """`num_pairs` index pairs (P, 2) into y, half of them of the same class, half of different classes."""
    g = torch.Generator().manual_seed(seed)
    classes = torch.unique(y)
    by_class = [torch.nonzero(y == c).squeeze(1) for c in classes]
    pairs = []
    for k in range(num_pairs):
        if k % 2 == 0:  # positive pair: two different images of one class
            members = by_class[torch.randint(len(classes), (1,), generator=g).item()]
            a, b = members[torch.randperm(len(members), generator=g)[:2]]
        else:  # negative pair: images of two different classes
            c1, c2 = torch.randperm(len(classes), generator=g)[:2].tolist()
            a = by_class[c1][torch.randint(len(by_class[c1]), (1,), generator=g)].squeeze()
            b = by_class[c2][torch.randint(len(by_class[c2]), (1,), generator=g)].squeeze()
        pairs.append(torch.stack([a, b]))
    return torch.stack(pairs)  # (P, 2)


def verification_scores(Z: torch.Tensor, y: torch.Tensor, pairs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(labels, scores) for pairs: label 1 for the same digit; score = -distance (higher: more alike)."""
    d = (Z[pairs[:, 0]] - Z[pairs[:, 1]]).norm(dim=1)  # (P,)
    return (y[pairs[:, 0]] == y[pairs[:, 1]]).numpy().astype(int), (-d).numpy()


def one_shot_accuracy(Z: torch.Tensor, y: torch.Tensor, episodes: int, seed: int) -> float:
    """N-way one-shot classification: one random reference image per class, every other image is
    assigned to the class of its nearest reference; averaged over episodes."""
    g = torch.Generator().manual_seed(seed)
    classes = torch.unique(y)
    correct = total = 0
    for _ in range(episodes):
        refs = torch.stack([torch.nonzero(y == c).squeeze(1)[torch.randint(int((y == c).sum()), (1,), generator=g)]
                            for c in classes]).squeeze(1)  # (N,)
        d = torch.cdist(Z, Z[refs])  # (M, N)
        pred = classes[d.argmin(1)]
        mask = torch.ones(len(y), dtype=torch.bool)
        mask[refs] = False
        correct += (pred[mask] == y[mask]).sum().item()
        total += mask.sum().item()
    return correct / total


@torch.no_grad()
def embed(model: Encoder, X: torch.Tensor, device, batch_size: int = 2000) -> torch.Tensor:
    model.eval()
    return torch.cat([model(X[i:i + batch_size].to(device)).cpu() for i in range(0, len(X), batch_size)])


@runs.trainer(SiameseConfig)
@common.single_threaded
def train_siamese(config: SiameseConfig, run: runs.RunWriter, device) -> None:
    X, y = data.mnist_float(train=True)
    X_test, y_test = data.mnist_float(train=False)
    held_out = torch.tensor(config.held_out_digits, dtype=torch.long)
    seen = ~torch.isin(y, held_out)
    seen_idx = torch.nonzero(seen).squeeze(1)
    train_idx = seen_idx[common.split(len(seen_idx), (config.train_size,), config.seed)[0]]
    X_train, y_train = X[train_idx], y[train_idx]

    model = Encoder(config.embedding_dim).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    g = torch.Generator().manual_seed(config.seed)
    start = run.restore(model=model, opt=opt, generator=g)
    i, j = batch_pairs(config.batch_size)
    for epoch in range(start + 1, config.num_epochs + 1):
        model.train()
        perm = torch.randperm(len(X_train), generator=g)
        total, batches, positives, pairs_seen = 0.0, 0, 0, 0
        for b in range(0, len(perm) - config.batch_size + 1, config.batch_size):  # full batches only
            idx = perm[b:b + config.batch_size]
            Z = model(X_train[idx].to(device))  # (B, D): one pass of the shared encoder
            y_b = y_train[idx].to(device)
            same = y_b[i] == y_b[j]  # (B(B-1)/2,)
            loss = contrastive_loss(Z[i], Z[j], same, config.margin)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
            batches += 1
            positives += int(same.sum())
            pairs_seen += len(same)
        runs.check_finite(epoch, loss=total)
        run.log_epoch(epoch, train_loss=total / max(batches, 1), positive_fraction=positives / max(pairs_seen, 1))
        run.save_checkpoint(epoch, model=model.state_dict(), opt=opt.state_dict(), generator=g.get_state())
    run.save_weights("encoder", model)

    # held-out evaluation on MNIST's test split: seen digits and never-seen digits separately
    Z_test = embed(model, X_test, device)  # (N, D)
    tensors = {}
    groups = {"seen digits": ~torch.isin(y_test, held_out), "held-out digits": torch.isin(y_test, held_out)}
    for k, (group, mask) in enumerate(groups.items()):
        idx = torch.nonzero(mask).squeeze(1)
        if len(idx) == 0 or len(torch.unique(y_test[idx])) < 2:
            continue
        pairs = idx[verification_pairs(y_test[idx], config.test_pairs, config.seed + 10 + k)]  # (P, 2)
        labels, scores = verification_scores(Z_test, y_test, pairs)
        from sklearn.metrics import roc_auc_score, roc_curve  # training only: a render never imports sklearn

        fpr, tpr, _ = roc_curve(labels, scores)
        run.metrics[f"auc/{group}"] = float(roc_auc_score(labels, scores))
        run.metrics[f"eer/{group}"] = equal_error_rate(fpr, tpr)
        tensors[f"fpr/{group}"] = torch.tensor(fpr, dtype=torch.float32)
        tensors[f"tpr/{group}"] = torch.tensor(tpr, dtype=torch.float32)
    run.metrics["one_shot_10way_acc"] = one_shot_accuracy(Z_test, y_test, config.shots_episodes, config.seed + 20)
    run.metrics["test_pairs"] = config.test_pairs
    run.metrics["held_out_digits"] = list(config.held_out_digits)
    run.metrics["train_images"] = config.train_size
    run.metrics["train_pairs_per_epoch"] = (config.train_size // config.batch_size) * len(i)
    run.metrics["train_positive_fraction"] = run.history[-1]["positive_fraction"] if run.history else 0.0
    (scatter_idx,) = common.split(len(X_test), (min(config.scatter_size, len(X_test)),), config.seed + 30)
    run.metrics = common.headline_first(run.metrics, ["auc/seen digits", "auc/held-out digits", "one_shot_10way_acc"])
    run.save_tensors("results", {"embedding": Z_test[scatter_idx], "labels": y_test[scatter_idx], **tensors})


def equal_error_rate(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """The error rate where false acceptances equal false rejections (1 - tpr), interpolated."""
    fnr = 1 - tpr
    k = int(np.argmin(np.abs(fnr - fpr)))
    return float((fpr[k] + fnr[k]) / 2)


# --- results for the essay ---------------------------------------------------------------------------


def verification_table(run: runs.Run) -> pd.DataFrame:
    groups = [k.split("/", 1)[1] for k in run.metrics if k.startswith("auc/")]
    rows = [{"test pairs": g, "pairs": run.metrics["test_pairs"], "ROC AUC": run.metrics[f"auc/{g}"],
             "equal error rate (%)": 100 * run.metrics[f"eer/{g}"]} for g in groups]
    return pd.DataFrame(rows).set_index("test pairs").round({"ROC AUC": 3, "equal error rate (%)": 1})


def plot_embedding_and_roc(run: runs.Run):
    """Left: the 2-D embedding of test digits (held-out digits as crosses). Right: verification ROC."""
    t = run.load_tensors("results")
    Z, labels = t["embedding"], t["labels"]
    held_out = set(run.metrics["held_out_digits"])
    palette = plots.OKABE_ITO + ["#999999", "#882255"]  # ten distinguishable colours
    fig, (ax, ax_roc) = plots.figure(1, 2, height=3.6, gridspec_kw={"width_ratios": (1.3, 1)})
    for c in range(10):
        m = labels == c
        ax.scatter(Z[m, 0], Z[m, 1], s=5 if c not in held_out else 14, alpha=0.6, color=palette[c],
                   marker="x" if c in held_out else "o", lw=0.8 if c in held_out else 0,
                   label=f"{c}{' (held out)' if c in held_out else ''}")
    ax.set_xlabel("embedding 1")
    ax.set_ylabel("embedding 2")
    ax.legend(markerscale=2, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="digit",
              title_fontsize=7)
    ax.set_aspect("equal", adjustable="datalim")
    for k, group in enumerate(g for g in ("seen digits", "held-out digits") if f"fpr/{g}" in t):
        ax_roc.plot(t[f"fpr/{group}"], t[f"tpr/{group}"], color=plots.OKABE_ITO[k],
                    label=f"{group.replace(' digits', '')}: AUC {run.metrics[f'auc/{group}']:.3f}")
    ax_roc.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="chance")
    ax_roc.set_xlabel("false acceptance rate")
    ax_roc.set_ylabel("true acceptance rate")
    ax_roc.legend(loc="lower right", fontsize=7, title="digits", title_fontsize=7)
    return common.finish(fig)


# --- what the essay states ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SiameseFacts:
    """What theory/siamese.qmd states about its run."""

    run: runs.Run
    config: SiameseConfig
    metrics: dict
    held_out: str  # "8 and 9"
    seen_digits: int
    auc_seen: float
    auc_held_out: float


def facts() -> SiameseFacts:
    run = runs.load_or_train(SiameseConfig())
    m = run.metrics
    return SiameseFacts(run, run.config, m, " and ".join(str(d) for d in m["held_out_digits"]),
                        10 - len(m["held_out_digits"]), m["auc/seen digits"], m["auc/held-out digits"])
