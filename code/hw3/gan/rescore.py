"""Give stored GAN runs what the chapter reads today, from their stored weights (nothing is retrained).

`python -m hw3.gan --rescore` (also run by `hw3 reproduce` after training, where it changes nothing):

- each GAN run: judge metrics against the validation reference (training digits, on which variants are
  chosen) and the test reference, replacing the older test-only metrics (the test numbers are the same:
  same samples, same reference), plus `nearest.safetensors` (samples and their nearest training digits);
- the judge: the real floor for both references and the training-set size.

So rendering the chapter needs no data set (everything it shows is in results/).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from .. import runs, utils
from .judge import JudgeCNN, real_floor
from .metrics import SPLITS
from .models import GANConfig
from .sampling import load_generator
from .train import evaluate, nearest_training

OLD_KEYS = ("fid", "precision", "recall", "class_counts", "class_entropy", "confidence", "num_samples")


def is_current(run: runs.Run) -> bool:
    """The run already holds both references' metrics and its stored nearest neighbours."""
    return all(s in run.metrics for s in SPLITS) and run.file("nearest.safetensors").exists()


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path)


def rescore_gan(run: runs.Run, device="cpu") -> dict:
    config: GANConfig = run.config
    G = load_generator(run, device=device)
    scores = evaluate(G, config, torch.device(device))
    metrics = {k: v for k, v in run.metrics.items() if k not in OLD_KEYS}
    metrics.update(scores)
    _write_tensors(run.file("nearest.safetensors"), nearest_training(G, config, device))
    utils.write_json(run.file("metrics.json"), metrics)
    return metrics


def rescore_judge(run: runs.Run, device="cpu") -> dict:
    judge = run.load_weights("model", JudgeCNN(run.config.feature_size), device=device)
    metrics = dict(run.metrics)
    metrics["floor"] = real_floor(judge, run.config, device)
    utils.write_json(run.file("metrics.json"), metrics)
    return metrics


def rescore_all(force: bool = False, device="cpu") -> list[str]:
    """Rescore the judge (if its floor lacks a reference) and every GAN run that is not current."""
    done = []
    for run in runs.list_runs():
        if run.experiment == "judge" and (force or "val" not in run.metrics.get("floor", {})):
            rescore_judge(run, device)
            done.append(f"judge/{run.name}")
    for run in runs.list_runs():
        if run.experiment == "gan" and (force or not is_current(run)):
            with utils.cpu_threads(1):
                rescore_gan(run, device)
            done.append(f"gan/{run.name}")
    return done
