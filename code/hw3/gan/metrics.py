"""Quality metrics of generated digits, computed with the judge (`judge.JudgeCNN`).

All on images in [0, 1], shape (N, 1, 28, 28):

- class histogram of the judge's predictions and its normalized entropy H(p) / log 10 (1 = every
  digit equally often; mode collapse lowers it);
- "classifier FID": the Fréchet distance between Gaussians fitted to judge features (Heusel et al.
  2017, eq. 6, with the judge in place of Inception):
  ``||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2})``;
- k-NN precision and recall (Kynkäänniemi et al. 2019, eqs. 1-3): a sample is "inside" a set's
  manifold if it lies within the distance from some member of that set to that member's k-th nearest
  neighbour. Precision = generated samples inside the real manifold (fidelity), recall = real samples
  inside the generated manifold (coverage);
- nearest training images in pixel space (memorization check).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .. import data


@torch.no_grad()
def predict(judge: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
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

VAL_SEED = 20_240  # fixes which training digits form the selection reference
SPLITS = ("val", "test")


@dataclass
class Reference:
    """Judge features of a real reference set that samples are compared with."""

    features: torch.Tensor  # (M, F)
    radii: torch.Tensor  # (M,) k-NN radii within the reference set


def reference_images(split: str, num: int = 10_000) -> torch.Tensor:
    """The real digits a split's metrics compare with, (num, 1, 28, 28) in [0, 1].

    "val": `num` training digits in a fixed random order (seed VAL_SEED): every choice between GANs is
    made on these, so the test digits stay unseen until the chosen variant is scored once. "test": the
    first `num` test digits."""
    if split == "val":
        X, _ = data.mnist_float(True)
        idx = torch.randperm(len(X), generator=torch.Generator().manual_seed(VAL_SEED))[:num]
        return X[idx]
    if split == "test":
        return data.mnist_float(False)[0][:num]
    raise ValueError(f"unknown split {split!r} (expected one of {SPLITS})")


def reference(judge: nn.Module, num: int = 10_000, k: int = 3, split: str = "test") -> Reference:
    _, feats = predict(judge, reference_images(split, num))
    return Reference(feats, knn_radii(feats, k))


def image_metrics(judge: nn.Module, images: torch.Tensor, ref: Reference, k: int = 3) -> dict:
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
