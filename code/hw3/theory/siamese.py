"""Essay 4, Siamese networks: one CNN encoder f applied to both images of a pair (shared weights), trained
with the contrastive loss of Hadsell, Chopra & LeCun (2006),

    L = y * d^2 / 2 + (1 - y) * max(0, m - d)^2 / 2,      d = ||f(x1) - f(x2)||,  y = 1 for the same digit,

so that images of the same digit land close together and different digits at least a margin m apart.
The embedding is two-dimensional, so it can be drawn directly. Pairs are formed inside each mini-batch:
embedding B images once gives B (B - 1) / 2 pairs, the cheapest way to run a twin network.

Each run holds four of the ten digits out of training entirely, a different random four per seed, so
that "new identities" are several classes (six different-digit contrasts among them) and no single
choice of digits decides the result. Verification and one-shot classification are measured separately
on the seen and on the held-out digits, the held-out ones being the setting of faces or signatures,
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

from .. import compare, data, fmt, plots, runs
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
    num_held_out: int = 4  # digits never seen in training, drawn at random per seed
    seeds: tuple[int, ...] = (0, 1, 2)  # one run per seed: held-out digits, initialisation, batch order
    test_pairs: int = 4_000  # verification pairs per group (seen digits, held-out digits), half positive
    scatter_size: int = 2_000  # test digits drawn in the embedding figure (first seed)
    shots_episodes: int = 500  # one-shot classification episodes per group

    def quick(self):
        return dataclasses.replace(self, train_size=600, num_epochs=1, test_pairs=200, scatter_size=200,
                                   shots_episodes=20, seeds=(0, 1))


def held_out_digits(num_held_out: int, seed: int) -> list[int]:
    """The digits a run never trains on: `num_held_out` of the ten, drawn with `seed` (sorted)."""
    return sorted(torch.randperm(10, generator=torch.Generator().manual_seed(seed))[:num_held_out].tolist())


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


GROUPS = ("seen digits", "held-out digits")


def train_encoder(config: SiameseConfig, X_train: torch.Tensor, y_train: torch.Tensor, seed: int, device,
                  log) -> tuple[Encoder, float]:
    """Train one encoder on (X_train, y_train); returns it and the last epoch's fraction of matching pairs."""
    torch.manual_seed(seed)
    model = Encoder(config.embedding_dim).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    g = torch.Generator().manual_seed(seed)
    i, j = batch_pairs(config.batch_size)
    positive_fraction = 0.0
    for epoch in range(1, config.num_epochs + 1):
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
        positive_fraction = positives / max(pairs_seen, 1)
        log(epoch, seed=seed, train_loss=total / max(batches, 1), positive_fraction=positive_fraction)
    return model, positive_fraction


@runs.trainer(SiameseConfig)
@common.single_threaded
def train_siamese(config: SiameseConfig, run: runs.RunWriter, device) -> None:
    from sklearn.metrics import roc_auc_score, roc_curve  # training only: a render never imports sklearn

    X, y = data.mnist_float(train=True)
    X_test, y_test = data.mnist_float(train=False)
    per_seed = {k: [] for k in ("held_out", "auc/seen digits", "auc/held-out digits", "eer/seen digits",
                                "eer/held-out digits", "one_shot/seen digits", "one_shot/held-out digits",
                                "one_shot/all digits", "positive_fraction")}
    tensors = {}
    for s, seed in enumerate(config.seeds):
        held = held_out_digits(config.num_held_out, seed)
        held_t = torch.tensor(held, dtype=torch.long)
        seen_idx = torch.nonzero(~torch.isin(y, held_t)).squeeze(1)
        train_idx = seen_idx[common.split(len(seen_idx), (config.train_size,), seed)[0]]
        model, positive_fraction = train_encoder(config, X[train_idx], y[train_idx], seed, device, run.log_epoch)
        run.save_weights(f"encoder-s{seed}", model)
        per_seed["held_out"].append(held)
        per_seed["positive_fraction"].append(positive_fraction)

        # evaluation on MNIST's test split: seen digits and never-seen digits separately
        Z_test = embed(model, X_test, device)  # (N, D)
        masks = {"seen digits": ~torch.isin(y_test, held_t), "held-out digits": torch.isin(y_test, held_t)}
        for k, (group, mask) in enumerate(masks.items()):
            idx = torch.nonzero(mask).squeeze(1)
            pairs = idx[verification_pairs(y_test[idx], config.test_pairs, seed + 10 + k)]  # (P, 2)
            labels, scores = verification_scores(Z_test, y_test, pairs)
            fpr, tpr, _ = roc_curve(labels, scores)
            per_seed[f"auc/{group}"].append(float(roc_auc_score(labels, scores)))
            per_seed[f"eer/{group}"].append(equal_error_rate(fpr, tpr))
            # one reference per class of this group only: the classes a query can be confused with
            per_seed[f"one_shot/{group}"].append(one_shot_accuracy(Z_test[idx], y_test[idx], config.shots_episodes,
                                                                   seed + 20 + k))
            tensors[f"fpr/{group}/s{seed}"] = torch.tensor(fpr, dtype=torch.float32)
            tensors[f"tpr/{group}/s{seed}"] = torch.tensor(tpr, dtype=torch.float32)
        per_seed["one_shot/all digits"].append(one_shot_accuracy(Z_test, y_test, config.shots_episodes, seed + 22))
        if s == 0:
            (scatter_idx,) = common.split(len(X_test), (min(config.scatter_size, len(X_test)),), seed + 30)
            tensors["embedding"], tensors["labels"] = Z_test[scatter_idx], y_test[scatter_idx]

    run.metrics["per_seed"] = per_seed
    for key, values in per_seed.items():
        if key != "held_out":
            run.metrics[key] = sum(values) / len(values)  # mean over seeds
    run.metrics.update({
        "seeds": list(config.seeds), "num_held_out": config.num_held_out, "test_pairs": config.test_pairs,
        "held_out_digits": per_seed["held_out"][0],  # the first seed's, drawn in the figure
        "train_images": config.train_size,
        "train_pairs_per_epoch": (config.train_size // config.batch_size) * config.batch_size * (config.batch_size - 1) // 2,
        "train_positive_fraction": run.metrics.pop("positive_fraction"),
    })
    run.metrics = common.headline_first(run.metrics, ["auc/seen digits", "auc/held-out digits",
                                                      "one_shot/held-out digits"])
    run.save_tensors("results", tensors)


def equal_error_rate(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """The error rate where false acceptances equal false rejections (1 - tpr), interpolated."""
    fnr = 1 - tpr
    k = int(np.argmin(np.abs(fnr - fpr)))
    return float((fpr[k] + fnr[k]) / 2)


# --- results for the essay ---------------------------------------------------------------------------


def _mean_sd(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    v = torch.tensor(values, dtype=torch.float64) * scale
    return f"{v.mean().item():.{digits}f} ± {v.std().item() if len(v) > 1 else 0.0:.{digits}f}"


def verification_table(run: runs.Run) -> pd.DataFrame:
    """Per group of test digits: verification and one-shot accuracy, mean ± standard deviation over runs."""
    p = run.metrics["per_seed"]
    n_held = run.metrics["num_held_out"]
    ways = {"seen digits": 10 - n_held, "held-out digits": n_held}
    rows = [{"test digits": g, "pairs per run": run.metrics["test_pairs"], "ROC AUC": _mean_sd(p[f"auc/{g}"]),
             "equal error rate (%)": _mean_sd(p[f"eer/{g}"], 100, 1),
             "one-shot accuracy (%)": _mean_sd(p[f"one_shot/{g}"], 100, 1),
             "one-shot chance (%)": f"{100 / ways[g]:.1f} ({ways[g]}-way)"} for g in GROUPS]
    return pd.DataFrame(rows).set_index("test digits")


def plot_embedding_and_roc(run: runs.Run):
    """Left: the first run's 2-D embedding of test digits (its held-out digits as crosses). Right:
    verification ROC of every run, seen and held-out digits."""
    t = run.load_tensors("results")
    Z, labels = t["embedding"], t["labels"]
    held_out = set(run.metrics["held_out_digits"])
    palette = common.palette()[:8] + ["#999999", "#AA4499"]  # ten colours, readable on either background
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
    for k, group in enumerate(GROUPS):
        for s, seed in enumerate(run.metrics["seeds"]):
            ax_roc.plot(t[f"fpr/{group}/s{seed}"], t[f"tpr/{group}/s{seed}"], color=palette[k], lw=1.2,
                        alpha=0.8, label=f"{group.replace(' digits', '')}" if s == 0 else None)
    ax_roc.plot([0, 1], [0, 1], color=common.neutral(), ls="--", lw=1, label="chance")
    ax_roc.set_xlabel("false acceptance rate")
    ax_roc.set_ylabel("true acceptance rate")
    ax_roc.legend(loc="lower right", fontsize=7, title="digits", title_fontsize=7)
    return common.finish(fig)


# --- what the essay states ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SiameseFacts:
    """What theory/siamese.qmd states about its runs. Seen against held-out digits: paired by run (the
    same encoder scores both groups), 95% t interval over the runs."""

    run: runs.Run
    config: SiameseConfig
    metrics: dict
    num_runs: int
    num_held_out: int
    held_out: str  # the first run's held-out digits, "2, 5, 7 and 9"
    held_out_sets: str  # every run's, "{2, 5, 7, 9}, {...} and {...}"
    held_out_in_every_run: list[int]  # digits that every run holds out
    seen_digits: int
    held_out_contrasts: int  # different-digit pairs of classes among the held-out digits
    auc_seen: float
    auc_held_out: float
    auc_held_out_vs_chance: compare.Comparison  # held-out AUC minus 0.5, over the runs
    held_out_auc_side: str  # "clearly above" | "not clearly above"
    auc_gap: compare.Comparison  # AUC, seen minus held-out digits
    auc_gap_word: str  # seen against held-out: "clearly higher than" | "clearly lower than" | "not clearly different from"
    one_shot_seen: float
    one_shot_held_out: float
    one_shot_all: float
    one_shot_held_out_vs_chance: compare.Comparison  # held-out one-shot accuracy minus chance (1 / num_held_out)
    held_out_above_chance: str  # "clearly above" | "not clearly above"
    parameters: dict[str, int]
    card_seeds: str
    card_error_bars: str

    @property
    def held_out_note(self) -> str:
        """'; 1 and 5 are held out in all three, so the held-out results lean on them' (or nothing)."""
        common_digits = self.held_out_in_every_run
        if not common_digits or self.num_runs < 2:
            return ""
        digits = fmt.and_list([str(d) for d in common_digits])
        verb = "is" if len(common_digits) == 1 else "are"
        return f"; {digits} {verb} held out in all {fmt.word(self.num_runs)}, so the held-out results lean on them"


def facts() -> SiameseFacts:
    run = runs.load_or_train(SiameseConfig())
    m = run.metrics
    p = m["per_seed"]
    n_held = m["num_held_out"]
    gap = compare.paired(p["auc/seen digits"], p["auc/held-out digits"])
    chance = compare.paired(p["one_shot/held-out digits"], [1 / n_held] * len(p["one_shot/held-out digits"]))
    auc_chance = compare.paired(p["auc/held-out digits"], [0.5] * len(p["auc/held-out digits"]))
    return SiameseFacts(
        run, run.config, m, len(m["seeds"]), n_held, fmt.and_list([str(d) for d in m["held_out_digits"]]),
        fmt.and_list(["{" + ", ".join(map(str, h)) + "}" for h in p["held_out"]]),
        sorted(set.intersection(*(set(h) for h in p["held_out"]))), 10 - n_held,
        n_held * (n_held - 1) // 2, m["auc/seen digits"], m["auc/held-out digits"], auc_chance,
        auc_chance.say(higher="clearly above", lower="clearly below", same="not clearly above", unranked="not clearly above"),
        gap,
        gap.say(higher="clearly higher than", lower="clearly lower than", same="not clearly different from",
                unranked="not clearly different from"),
        m["one_shot/seen digits"], m["one_shot/held-out digits"], m["one_shot/all digits"], chance,
        chance.say(higher="clearly above", lower="clearly below", same="not clearly above", unranked="not clearly above"),
        {"encoder": common.count_params(Encoder(run.config.embedding_dim))},
        f"one stored run: {len(m['seeds'])} encoders, seeds {', '.join(map(str, m['seeds']))} (held-out digits, "
        "initialisation, batch order, test pairs)",
        f"± is one standard deviation over the {len(m['seeds'])} runs; the seen/held-out and chance comparisons "
        "are 95% t intervals over the runs, paired by run")
