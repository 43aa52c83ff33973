"""The run store: every trained model is a folder `results/<experiment>/<name>/`.

A run folder holds `config.json` (the dataclass config, seed included), `history.json` (one row per
epoch), `metrics.json`, weights as `.safetensors`, other tensors as `.safetensors` and
`provenance.json` (git commit, versions, device, wall time, date). It is written into a temporary
folder and renamed into place, so a folder with the run's name is always complete. Training that is
interrupted leaves `.<name>.partial/` with an epoch checkpoint. One rule for it: `resume=True` (the
command line's `--resume`) continues it from its last epoch, `retrain=True` (`--retrain`) discards it,
and neither is an error that names both; it is never continued or discarded implicitly.

Usage (the same call in documents and on the command line):

    run = load_or_train(GANConfig())      # the stored run for an identical config, else train it
    run.metrics["fid"], run.history_frame(), run.load_weights("generator", Generator(cfg))
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from . import utils

if TYPE_CHECKING:
    import torch

# PyTorch and safetensors are imported where tensors are read or written: listing and reading stored
# runs (`hw3 runs`, the front page's table) needs only JSON.


class RunError(RuntimeError):
    """A run is missing, incomplete or does not match the requested config."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good epoch checkpoint is kept."""


# --- configs -----------------------------------------------------------------------------------------


@dataclass
class RunConfig:
    """Base class of every experiment config: a flat dataclass of hyperparameters, seed included.

    Subclasses set `experiment` (the folder under `results/`) and override `quick()` to return the
    tiny version used by the quick profile.
    """

    experiment: ClassVar[str] = ""
    name: str = "default"
    seed: int = 0

    def quick(self):
        return self

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(d) - set(fields)
        if unknown:
            raise RunError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
        kwargs = {}
        for k, v in d.items():
            default = fields[k].default
            kwargs[k] = tuple(v) if isinstance(v, list) and isinstance(default, tuple) else v
        return cls(**kwargs)


CONFIGS: dict[str, type[RunConfig]] = {}
TRAINERS: dict[str, Callable] = {}


def trainer(config_cls: type[RunConfig]):
    """Register `fn(config, run: RunWriter, device)` as the training function of `config_cls`."""

    def register(fn):
        if not config_cls.experiment:
            raise ValueError(f"{config_cls.__name__}.experiment is empty")
        CONFIGS[config_cls.experiment] = config_cls
        TRAINERS[config_cls.experiment] = fn
        return fn

    return register


def run_dir(config: RunConfig, root: Path | None = None) -> Path:
    return Path(root or utils.results_root()) / config.experiment / config.name


# --- a stored run ------------------------------------------------------------------------------------


def partial_dir(config: RunConfig, root: Path | None = None) -> Path:
    """Where a run trains until it is complete (and where an interrupted one waits to be resumed)."""
    final = run_dir(config, root)
    return final.with_name(f".{final.name}.partial")


class Run:
    """A finished run, read from its folder. Loading reads JSON and safetensors only (nothing unpickled)."""

    REQUIRED = ("config.json", "metrics.json", "history.json", "provenance.json")

    def __init__(self, path: Path):
        self.path = Path(path)
        missing = [f for f in self.REQUIRED if not (self.path / f).exists()]
        if missing:
            raise RunError(f"{self.path} is not a complete run (missing {', '.join(missing)})")
        self.config_dict: dict = utils.read_json(self.path / "config.json")
        self.metrics: dict = utils.read_json(self.path / "metrics.json")
        self.history: list[dict] = utils.read_json(self.path / "history.json")
        self.provenance: dict = utils.read_json(self.path / "provenance.json")

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def experiment(self) -> str:
        return self.path.parent.name

    @property
    def config(self) -> RunConfig | dict:
        cls = CONFIGS.get(self.experiment)
        return cls.from_dict(self.config_dict) if cls else self.config_dict

    def history_frame(self):
        import pandas as pd

        return pd.DataFrame(self.history)

    def file(self, name: str) -> Path:
        return self.path / name

    def load_tensors(self, name: str, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
        from safetensors.torch import load_file

        return load_file(self.path / f"{name}.safetensors", device=str(device))

    def load_weights(self, name: str, module: torch.nn.Module | None = None, device="cpu"):
        """Load `<name>.safetensors` into `module` (returned in eval mode), or return the state dict."""
        state = self.load_tensors(name, device)
        if module is None:
            return state
        module.load_state_dict(state)
        return module.to(device).eval()

    def __repr__(self) -> str:
        return f"Run({self.experiment}/{self.name})"


def load_run(experiment: str, name: str, root: Path | None = None) -> Run:
    path = Path(root or utils.results_root()) / experiment / name
    if not path.exists():
        raise RunError(f"no stored run {experiment}/{name} under {path.parent}")
    return Run(path)


def list_runs(root: Path | None = None) -> list[Run]:
    root = Path(root or utils.results_root())
    runs = []
    for path in sorted(root.glob("*/*")):
        if path.is_dir() and not path.name.startswith("."):
            try:
                runs.append(Run(path))
            except RunError:
                continue
    return runs


# --- writing a run -----------------------------------------------------------------------------------


class RunWriter:
    """Handed to a training function: collects history, metrics, weights, tensors and checkpoints."""

    def __init__(self, config: RunConfig, folder: Path, device: torch.device):
        self.config = config
        self.dir = Path(folder)
        self.device = device
        self.history: list[dict] = []
        self.metrics: dict[str, Any] = {}
        self.elapsed_before = 0.0  # seconds spent before a resume
        self.resumed_from_epoch = 0

    def log_epoch(self, epoch: int, **values) -> dict:
        row = {"epoch": epoch, **{k: _plain(v) for k, v in values.items()}}
        self.history.append(row)
        return row

    def save_weights(self, name: str, module_or_state: torch.nn.Module | dict) -> Path:
        state = module_or_state if isinstance(module_or_state, dict) else module_or_state.state_dict()
        return self.save_tensors(name, state)

    def save_tensors(self, name: str, tensors: dict[str, torch.Tensor]) -> Path:
        from safetensors.torch import save_file

        path = self.dir / f"{name}.safetensors"
        tmp = path.with_suffix(".tmp")
        save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, tmp)
        os.replace(tmp, path)
        return path

    def save_checkpoint(self, epoch: int, **state) -> None:
        """Save everything needed to continue after `epoch`: the given state dicts, RNGs and history."""
        import torch

        payload = {
            "epoch": epoch,
            "state": state,
            "rng": utils.rng_state(),
            "history": self.history,
            "metrics": self.metrics,
            "elapsed": self.elapsed_before + (time.perf_counter() - self._t0),
        }
        path = self.dir / "checkpoint.pt"
        tmp = path.with_suffix(".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)

    def load_checkpoint(self) -> dict | None:
        """Return the state dicts of the last checkpoint (restoring RNGs and history), or None."""
        import torch

        path = self.dir / "checkpoint.pt"
        if not path.exists():
            return None
        payload = torch.load(path, map_location="cpu", weights_only=True)
        utils.set_rng_state(payload["rng"])
        self.history = payload["history"]
        self.metrics = payload["metrics"]
        self.elapsed_before = payload["elapsed"]
        self._t0 = time.perf_counter()
        self.resumed_from_epoch = payload["epoch"]
        return {"epoch": payload["epoch"], **payload["state"]}


    def restore(self, **objects) -> int:
        """Load the last checkpoint into `objects` (modules, optimizers, torch.Generators), each saved by
        `save_checkpoint` under the same keyword; return the checkpoint's epoch, 0 if there is none."""
        import torch

        ck = self.load_checkpoint()
        if ck is None:
            return 0
        for key, obj in objects.items():
            obj.set_state(ck[key]) if isinstance(obj, torch.Generator) else obj.load_state_dict(ck[key])
        return ck["epoch"]


def check_finite(epoch: int, **losses: float) -> None:
    """Raise `TrainingDiverged` if any loss is NaN or infinite."""
    import torch

    bad = {k: v for k, v in losses.items() if not torch.isfinite(torch.as_tensor(v)).all()}
    if bad:
        raise TrainingDiverged(
            f"loss became non-finite at epoch {epoch} ({', '.join(f'{k}={v}' for k, v in bad.items())}); "
            "the checkpoint of the last good epoch is kept; try a lower learning rate"
        )


def _plain(v):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(v, torch.Tensor):
        return v.item() if v.numel() == 1 else v.tolist()
    if hasattr(v, "item"):
        return v.item()
    return v


def _git_commit() -> str:
    if env := os.environ.get("HW3_GIT_COMMIT"):  # a copy of the tree without .git (e.g. a remote GPU machine)
        return env
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=utils.project_root(), capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(device: torch.device, wall_time_s: float) -> dict:
    import numpy
    import torch

    info = {
        "git_commit": _git_commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(wall_time_s, 2),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
        or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "quick_profile": utils.quick(),
    }
    return info


def train_run(config: RunConfig, *, resume: bool = False, retrain: bool = False, device=None,
              root: Path | None = None) -> Run:
    """Train `config` and store the run.

    An interrupted run under the same name (its `.partial` folder, holding an epoch checkpoint) is
    continued from its last epoch only with `resume=True`, and discarded only with `retrain=True`;
    with neither it is an error naming both, so interrupted work is never continued or dropped
    implicitly. An interrupted run of a different config cannot be resumed by this config: continue
    it with its own config, or discard it with `retrain=True`. A `.partial` folder without a
    checkpoint holds no training yet and is simply replaced.
    """
    fn = TRAINERS.get(config.experiment)
    if fn is None:
        raise RunError(f"no training function registered for experiment {config.experiment!r}")
    device = utils.get_device(device) if isinstance(device, (str, type(None))) else device
    final = run_dir(config, root)
    partial = partial_dir(config, root)
    if partial.exists():
        stored = partial / "config.json"
        stored_config = utils.read_json(stored) if stored.exists() else None
        if retrain or stored_config is None or not (partial / "checkpoint.pt").exists():
            shutil.rmtree(partial)
        elif not same_config(stored_config, config):
            raise RunError(f"{partial} holds an interrupted run with a different config "
                           f"({_diff(stored_config, config.to_dict())}): continue it with its own config and "
                           "--resume, or discard it with --retrain")
        elif not resume:
            raise RunError(f"{partial} holds an interrupted run of this config: pass --resume to continue it "
                           "from its last epoch, or --retrain to discard it and start over")
        else:
            print(f"resuming the interrupted run in {partial}", file=sys.stderr)
    partial.mkdir(parents=True, exist_ok=True)
    utils.write_json(partial / "config.json", config.to_dict())

    writer = RunWriter(config, partial, device)
    writer._t0 = time.perf_counter()
    utils.seed_everything(config.seed)
    fn(config, writer, device)
    wall = writer.elapsed_before + (time.perf_counter() - writer._t0)

    utils.write_json(partial / "history.json", writer.history)
    utils.write_json(partial / "metrics.json", writer.metrics)
    utils.write_json(partial / "provenance.json", provenance(device, wall))
    (partial / "checkpoint.pt").unlink(missing_ok=True)
    utils.replace_dir(partial, final)
    return Run(final)


def load_or_train(config: RunConfig, *, retrain: bool = False, resume: bool = False, device=None,
                  root: Path | None = None) -> Run:
    """The stored run for an identical config, else train, store and return it.

    In the quick profile the config is first shrunk with `config.quick()`. A stored run under the
    same name with a different config is an error (not silently redone) unless `retrain=True`.
    An interrupted training of it is continued with `resume=True` (see `train_run`).
    With `HW3_NO_TRAIN` on, a missing run is an error instead of a training (renders use it).
    """
    if utils.quick():
        config = config.quick()
    path = run_dir(config, root)
    if path.exists() and not retrain:
        run = Run(path)
        if same_config(run.config_dict, config):
            return run
        if not utils.quick():
            diff = _diff(run.config_dict, config.to_dict())
            raise RunError(
                f"stored run {config.experiment}/{config.name} was trained with a different config ({diff}); "
                "retrain it (`hw3 train ... --retrain` or retrain=True) or give the new config another name"
            )
    if utils.no_train():
        raise RunError(f"run {config.experiment}/{config.name} is not stored and HW3_NO_TRAIN is on")
    return train_run(config, resume=resume, retrain=retrain, device=device, root=root)


def same_config(stored: dict, config: RunConfig) -> bool:
    """True when a stored config.json describes `config`. Fields added to a config class since the run
    was stored count with their defaults, so old runs keep loading."""
    try:
        return type(config).from_dict(stored).to_dict() == config.to_dict()
    except (RunError, TypeError, ValueError):
        return False


def _diff(stored: dict, wanted: dict) -> str:
    keys = sorted(set(stored) | set(wanted))
    parts = [f"{k}: stored {stored.get(k)!r}, requested {wanted.get(k)!r}" for k in keys if stored.get(k) != wanted.get(k)]
    return "; ".join(parts)
