"""The judge: a small MNIST classifier whose penultimate layer is the feature space for GAN metrics.

Metrics computed with it (all on images in [0, 1], shape (N, 1, 28, 28)):

- class histogram of the judge's predictions and its normalized entropy H(p) / log 10 (1 = every
  digit equally often; mode collapse lowers it);
- "classifier FID": the Fréchet distance between Gaussians fitted to judge features (Heusel et al.
  2017, with the judge in place of Inception):
  ``||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2})``;
- k-NN precision and recall (Kynkäänniemi et al. 2019): a sample is "inside" a set's manifold if it
  lies within the distance from some member of that set to that member's k-th nearest neighbour.
  Precision = generated samples inside the real manifold (fidelity), recall = real samples inside the
  generated manifold (coverage);
- nearest training images in pixel space (memorization check).

The judge run stores the "real floor": the same metrics for 10,000 training digits against the test set.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from . import data, runs, utils

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


@dataclass
class JudgeConfig(runs.RunConfig):
    experiment: ClassVar[str] = "judge"
    name: str = "judge"
    seed: int = 0
    num_epochs: int = 6
    batch_size: int = 128
    lr: float = 2e-3
    lr_decay: float = 0.5  # per epoch: lr * lr_decay ** (epoch - 1)
    feature_size: int = 128
    train_subset: int = 0  # 0 = all 60,000 training digits
    num_floor: int = 10_000  # real training digits compared with the test set ("real floor")
    num_nn: int = 1_000  # test digits whose nearest training image sets the memorization reference
    k: int = 3

    def quick(self):
        return dataclasses.replace(self, num_epochs=1, train_subset=2_000, num_floor=500, num_nn=100)


class JudgeCNN(nn.Module):
    """Two conv blocks and a 128-unit penultimate layer: (N, 1, 28, 28) in [0, 1] -> 10 logits."""

    def __init__(self, feature_size: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),  # (N, 16, 14, 14)
            nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # (N, 32, 7, 7)
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, feature_size), nn.ReLU(),  # (N, F): the feature space
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_size, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body((x - MNIST_MEAN) / MNIST_STD)  # (N, F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))  # (N, 10)


@runs.trainer(JudgeConfig)
def train_judge(config: JudgeConfig, run: runs.RunWriter, device: torch.device) -> None:
    with utils.cpu_threads(1 if device.type == "cpu" and utils.quick() else None):  # tiny batches: one thread is faster
        _train_judge(config, run, device)


def _train_judge(config: JudgeConfig, run: runs.RunWriter, device: torch.device) -> None:
    X, y = data.mnist_float(True)
    if config.train_subset:
        X, y = X[: config.train_subset], y[: config.train_subset]
    X, y = X.to(device), y.to(device)
    X_test, y_test = (t.to(device) for t in data.mnist_float(False))
    if utils.quick():  # the quick profile checks the code path, not the accuracy: a test subset is enough
        X_test, y_test = X_test[:1000], y_test[:1000]

    model = JudgeCNN(config.feature_size).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    start = run.restore(model=model, opt=opt) + 1

    for epoch in range(start, config.num_epochs + 1):
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = config.lr * config.lr_decay ** (epoch - 1)
        model.train()
        total = torch.zeros((), device=device)
        perm = torch.randperm(len(X), device=device)
        bar = utils.progress(range(0, len(X), config.batch_size), desc=f"judge epoch {epoch}")
        for i in bar:
            idx = perm[i : i + config.batch_size]
            loss = F.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        train_loss = (total / len(X)).item()
        runs.check_finite(epoch, loss=train_loss)
        test_acc = accuracy(model, X_test, y_test)
        run.log_epoch(epoch, train_loss=train_loss, test_accuracy=test_acc, time_s=time.perf_counter() - t0)
        run.save_checkpoint(epoch, model=model.state_dict(), opt=opt.state_dict())

    model.eval()
    run.save_weights("model", model)
    run.metrics["test_accuracy"] = run.history[-1]["test_accuracy"]
    run.metrics["floor"] = real_floor(model, config, device)


@torch.no_grad()
def accuracy(model: JudgeCNN, X: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    was_training = model.training
    model.eval()
    correct = sum((model(X[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum().item()
                  for i in range(0, len(X), batch_size))
    model.train(was_training)
    return correct / len(X)


def load_judge(name: str = "judge", device="cpu") -> JudgeCNN:
    """The stored judge (trained first if missing; the quick judge in the quick profile), in eval mode."""
    run = runs.load_or_train(JudgeConfig(name=name))
    return run.load_weights("model", JudgeCNN(run.config.feature_size), device=device)


# --- metrics on feature sets -------------------------------------------------------------------------


@torch.no_grad()
def predict(judge: JudgeCNN, images: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Judge logits (N, 10) and features (N, F) of images (N, 1, 28, 28) in [0, 1], on the judge's device."""
    device = next(judge.parameters()).device
    logits, feats = [], []
    for i in range(0, len(images), batch_size):
        f = judge.features(images[i : i + batch_size].to(device))  # (B, F)
        feats.append(f)
        logits.append(judge.head(f))  # eval mode: dropout is the identity
    return torch.cat(logits), torch.cat(feats)


def normalized_entropy(counts) -> float:
    """H(p) / log(K) of a histogram with K bins: 1 for uniform, 0 when everything falls in one bin."""
    p = torch.as_tensor(counts, dtype=torch.float64)
    p = p / p.sum()
    h = -(p[p > 0] * p[p > 0].log()).sum().item()
    return max(h / math.log(len(p)), 0.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def frechet_distance(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N1, F) and (N2, F).

    Tr((S1 S2)^{1/2}) is computed as the sum of square roots of the eigenvalues of the symmetric
    S1^{1/2} S2 S1^{1/2}, which stays real and stable even for rank-deficient covariances.
    """
    a, b = f1.double().cpu(), f2.double().cpu()
    mu1, mu2 = a.mean(0), b.mean(0)  # (F,)
    s1, s2 = torch.cov(a.T), torch.cov(b.T)  # (F, F)
    w, V = torch.linalg.eigh(s1)
    s1_half = (V * w.clamp(min=0).sqrt()) @ V.T  # (F, F)
    m = s1_half @ s2 @ s1_half
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp(min=0).sqrt().sum()
    fd = (mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * tr_sqrt
    return max(fd.item(), 0.0)


def knn_radii(feats: torch.Tensor, k: int = 3, chunk: int = 2048) -> torch.Tensor:
    """Distance from each point to its k-th nearest neighbour within the same set (itself excluded)."""
    radii = []
    for i in range(0, len(feats), chunk):
        d = torch.cdist(feats[i : i + chunk], feats)  # (C, N)
        radii.append(d.topk(k + 1, dim=1, largest=False).values[:, k])  # column 0 is the point itself
    return torch.cat(radii)


def inside_manifold(queries: torch.Tensor, support: torch.Tensor, radii: torch.Tensor,
                    chunk: int = 2048) -> torch.Tensor:
    """Boolean (Q,): query lies in the union of balls B(support_j, radii_j)."""
    out = []
    for i in range(0, len(queries), chunk):
        d = torch.cdist(queries[i : i + chunk], support)  # (C, S)
        out.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(out)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """k-NN precision and recall (Kynkäänniemi et al. 2019) of `fake` against `real` features."""
    real, fake = real.float(), fake.float()
    precision = inside_manifold(fake, real, knn_radii(real, k)).float().mean().item()
    recall = inside_manifold(real, fake, knn_radii(fake, k)).float().mean().item()
    return precision, recall


def nearest_neighbours(queries: torch.Tensor, pool: torch.Tensor, chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Euclidean distance to, and index of, each query's nearest pool item (images flattened)."""
    q, p = queries.flatten(1).float(), pool.flatten(1).float()  # (Q, D), (P, D)
    p_sq = p.pow(2).sum(1)  # (P,)
    dists, idxs = [], []
    for i in range(0, len(q), chunk):
        qc = q[i : i + chunk]
        d2 = qc.pow(2).sum(1, keepdim=True) - 2 * qc @ p.T + p_sq[None]  # (C, P)
        d, j = d2.min(1)
        dists.append(d.clamp(min=0).sqrt())
        idxs.append(j)
    return torch.cat(dists), torch.cat(idxs)


# --- metrics on images -------------------------------------------------------------------------------


@dataclass
class Reference:
    """Judge features of the real reference set (the test digits) that samples are compared with."""

    features: torch.Tensor  # (M, F)
    radii: torch.Tensor  # (M,) k-NN radii within the reference set


def reference(judge: JudgeCNN, num: int = 10_000, k: int = 3) -> Reference:
    X_test, _ = data.mnist_float(False)
    _, feats = predict(judge, X_test[:num])
    return Reference(feats, knn_radii(feats, k))


def image_metrics(judge: JudgeCNN, images: torch.Tensor, ref: Reference, k: int = 3) -> dict:
    """Judge metrics of images (N, 1, 28, 28) in [0, 1] against the reference set."""
    logits, feats = predict(judge, images)
    counts = torch.bincount(logits.argmax(1), minlength=10).cpu()
    precision = inside_manifold(feats, ref.features, ref.radii).float().mean().item()
    recall = inside_manifold(ref.features, feats, knn_radii(feats, k)).float().mean().item()
    return {
        "fid": frechet_distance(feats, ref.features),
        "precision": precision,
        "recall": recall,
        "class_counts": counts.tolist(),
        "class_entropy": normalized_entropy(counts),
        "confidence": logits.softmax(1).amax(1).mean().item(),  # mean top-class probability
        "num_samples": len(images),
    }


def nn_distance_median(images: torch.Tensor, device="cpu") -> float:
    """Median pixel-space distance from images in [0, 1] to their nearest of the 60,000 training digits."""
    X_train, _ = data.mnist_float(True)
    d, _ = nearest_neighbours(images.to(device), X_train.to(device))
    return d.median().item()


def real_floor(judge: JudgeCNN, config: JudgeConfig, device) -> dict:
    """The metrics of `num_floor` random training digits against the test set: what a perfect generator scores."""
    X_train, _ = data.mnist_float(True)
    X_test, _ = data.mnist_float(False)
    g = torch.Generator().manual_seed(config.seed)
    idx = torch.randperm(len(X_train), generator=g)[: config.num_floor]
    ref = reference(judge, num=config.num_floor, k=config.k)
    floor = image_metrics(judge, X_train[idx], ref, k=config.k)
    floor["nn_distance_median"] = nn_distance_median(X_test[: config.num_nn], device)  # test -> train
    return floor


