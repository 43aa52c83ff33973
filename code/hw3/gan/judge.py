"""The judge: a small MNIST classifier whose penultimate layer is the feature space for GAN metrics.

Its config, network and training; the metrics computed with it are in `metrics`. The judge trains for
a fixed number of epochs on the 60,000 training digits (no early stopping; the test accuracy it logs
chooses nothing). The judge run also stores the "real floor": the same metrics for 10,000 real training
digits against each reference (validation: other training digits; test), what a perfect generator
would score.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .. import data, runs, utils
from . import metrics

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


def real_floor(judge: JudgeCNN, config: JudgeConfig, device) -> dict:
    """What a perfect generator scores: the metrics of `num_floor` real training digits against each split's
    reference ("val": other training digits, disjoint from the val reference; "test": the test digits),
    and the median distance from a test digit to its nearest training digit (the memorization reference)."""
    X_train, _ = data.mnist_float(True)
    X_test, _ = data.mnist_float(False)
    g = torch.Generator().manual_seed(config.seed)
    test_idx = torch.randperm(len(X_train), generator=g)[: config.num_floor]
    val_perm = torch.randperm(len(X_train), generator=torch.Generator().manual_seed(metrics.VAL_SEED))
    val_idx = val_perm[config.num_floor : 2 * config.num_floor]  # after the val reference's digits
    floor = {}
    for split, idx in (("val", val_idx), ("test", test_idx)):
        ref = metrics.reference(judge, num=config.num_floor, k=config.k, split=split)
        floor[split] = metrics.image_metrics(judge, X_train[idx], ref, k=config.k)
    floor["nn_distance_median"] = metrics.nn_distance_median(X_test[: config.num_nn], device)  # test -> train
    floor["num_train"] = len(X_train)
    return floor
