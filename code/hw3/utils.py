"""Shared utilities: paths, environment flags, the quick profile, seeding, devices, RNG state, atomic
files, progress bars.

NumPy, PyTorch and tqdm are imported inside the functions that use them: `hw3 --help`, `hw3 runs` and
`hw3 freeze` import this module and answer without loading PyTorch (seconds on a small CPU).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# --- paths -------------------------------------------------------------------------------------------


def project_root() -> Path:
    """The repository root when the package is installed from a checkout (editable), else the cwd."""
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").exists() and (here / "code" / "hw3").is_dir():
        return here
    return Path.cwd()


FALSE_WORDS = ("", "0", "false", "no", "off")


def env_flag(name: str) -> bool:
    """A boolean environment variable: unset, empty, `0`, `false`, `no` or `off` (any case) mean off,
    anything else on. Every `HW3_*` on/off switch (HW3_QUICK, HW3_NO_TRAIN, HW3_DEBUG) is read here."""
    return os.environ.get(name, "").strip().lower() not in FALSE_WORDS


def quick() -> bool:
    """True in the quick profile (`HW3_QUICK=1`): tiny data subsets, one epoch, a temporary results folder."""
    return env_flag("HW3_QUICK")


def no_train() -> bool:
    """True when a run that is not stored must be an error instead of a training (`HW3_NO_TRAIN=1`, renders)."""
    return env_flag("HW3_NO_TRAIN")


def results_root() -> Path:
    """Where runs live: `HW3_RESULTS`, else a temporary folder in the quick profile, else `<root>/results`."""
    if env := os.environ.get("HW3_RESULTS"):
        return Path(env)
    if quick():
        return Path(tempfile.gettempdir()) / "hw3-quick-results"
    return project_root() / "results"


def data_root() -> Path:
    """The download/extraction cache: `HW3_DATA`, else `<root>/data`."""
    if env := os.environ.get("HW3_DATA"):
        return Path(env)
    return project_root() / "data"


def data_mirror() -> Path | None:
    """A local folder holding the official data files (`HW3_DATA_MIRROR`), if set."""
    env = os.environ.get("HW3_DATA_MIRROR")
    return Path(env) if env else None


# --- randomness and devices --------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and every CUDA device)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def rng_state() -> dict:
    """The global RNG states as tensors and plain Python values (safe for `torch.load(weights_only=True)`)."""
    import numpy as np
    import torch

    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    random.setstate(_tuplify(state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(x):
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


def get_device(preference: str | None = None) -> torch.device:
    """CUDA, then Apple MPS, then CPU; `preference` or `HW3_DEVICE` overrides ("cpu", "cuda", "mps")."""
    import torch

    choice = (preference or os.environ.get("HW3_DEVICE") or "auto").lower()
    if choice != "auto":
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@contextmanager
def cpu_threads(n: int | None):
    """Temporarily use `n` CPU threads in torch (None: leave it). Small models train faster on one thread:
    their matrices are too small to split, and on shared cores thread synchronisation costs more than
    the work itself."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- files -------------------------------------------------------------------------------------------


def write_json(path: Path, obj) -> None:
    """Write JSON atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=False, default=_json_default)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _json_default(o):
    # NumPy and PyTorch values can only be here if those libraries are loaded already
    np, torch = sys.modules.get("numpy"), sys.modules.get("torch")
    if np is not None and isinstance(o, np.integer):
        return int(o)
    if np is not None and isinstance(o, np.floating):
        return float(o)
    if np is not None and isinstance(o, np.ndarray):
        return o.tolist()
    if torch is not None and isinstance(o, torch.Tensor):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


@contextmanager
def atomic_dir(final: Path):
    """Yield a temporary sibling folder; on success it is renamed to `final` (replacing it), else removed."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        yield tmp
        replace_dir(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def replace_dir(src: Path, dst: Path) -> None:
    """Move folder `src` to `dst`, replacing an existing `dst` with no moment where neither is complete."""
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


def progress(iterable=None, **kwargs):
    """A tqdm progress bar, shown on terminals and hidden in notebooks, logs and tests."""
    from tqdm import tqdm

    kwargs.setdefault("disable", None)  # None: off when stderr is not a TTY
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("leave", False)
    return tqdm(iterable, **kwargs)
