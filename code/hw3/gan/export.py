"""The generators the page decodes: the spec GAN and the study's chosen variant (lowest validation FID).

`web_models()` reads the stored runs (never trains) and returns what `hw3.web.bundle.pack` stores; the
forward passes that read it are in hw3/web/generator.mjs (eval mode: BatchNorm uses its running
statistics). Storage: float16, except the best variant's largest matrix (the DCGAN's projection,
6272 x 100), stored as int8 per row: it is most of the file, and its pixels stay within ~0.03 of the
float32 generator's (the spec's small MLP in int8 would move pixels by ~0.05, so it stays float16).
`reference_generator` loads decoded weights back into the real generator class, the Python twin of the page.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import runs, utils
from . import study
from .models import GANConfig, build_models
from .sampling import load_generator

INT8_MIN_SIZE = 200_000  # matrices this large are stored as int8 per row (only the DCGAN projections)


def _stored(config: GANConfig) -> runs.Run | None:
    path = runs.run_dir(config.quick() if utils.quick() else config)
    return runs.Run(path) if path.exists() else None


def page_runs() -> list[runs.Run]:
    """The spec run (seed 0) and, once the study can choose (`study.choose`, on the validation reference),
    the chosen variant's seed 0."""
    stored = [r for r in map(_stored, study.study_configs()) if r is not None]
    spec = next((r for r in stored if r.name == study.SPEC), None)
    if spec is None:
        raise runs.RunError("no stored spec GAN run (results/gan/spec): train it first (hw3 train gan --name spec)")
    scored = [r for r in stored if "val" in r.metrics]
    if "val" not in spec.metrics:
        return [spec]
    try:
        chosen = study.choose(study.summary(study.group_runs(scored)))
    except ValueError:  # no variant has enough seeds yet
        return [spec]
    return [spec, next(r for r in scored if r.name == chosen)]


def web_models(page: list[runs.Run] | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str], dict]:
    """(tensors, storage dtypes, meta) of the page's generators for `bundle.pack`; tensor names are
    "<run>/<parameter>"."""
    page = page or page_runs()
    tensors, dtypes, models = {}, {}, []
    for i, run in enumerate(page):
        G = load_generator(run)
        config = run.config
        for k, v in G.state_dict().items():
            if not v.is_floating_point():
                continue  # BatchNorm's num_batches_tracked
            name = f"{run.name}/{k}"
            tensors[name] = v
            dtypes[name] = "i8" if v.dim() >= 2 and v.numel() >= INT8_MIN_SIZE else "f16"
        models.append({"name": run.name, "role": "spec" if i == 0 else "chosen variant", "arch": config.arch,
                       "latent_dim": config.latent_dim, "hidden_size": config.hidden_size,
                       "fid": run.metrics.get("val", {}).get("fid")})
    return tensors, dtypes, {"kind": "generator", "default": page[0].name, "models": models}


def reference_generator(tensors: dict[str, np.ndarray], meta: dict, name: str | None = None) -> nn.Module:
    """The generator `name` (default: the spec) of a decoded container, as its real class in eval mode."""
    name = name or meta["default"]
    m = next(m for m in meta["models"] if m["name"] == name)
    G, _ = build_models(GANConfig(name=name, arch=m["arch"], latent_dim=m["latent_dim"], hidden_size=m["hidden_size"]))
    state = G.state_dict()
    for k in state:
        if f"{name}/{k}" in tensors:
            state[k] = torch.from_numpy(np.array(tensors[f"{name}/{k}"]))
    G.load_state_dict(state)
    return G.eval()


def page_walks(folder=None, steps: int = 9, seed: int = 0) -> dict[str, torch.Tensor]:
    """What the page shows when one slides along the great circle between two seeded codes: for each
    exported generator, its digits (steps, 1, 28, 28) in [0, 1]; for the PDF's static version."""
    from .. import web
    from .models import to_unit
    from .sampling import slerp
    from .train import noise

    tensors, meta = web.read_bundle(folder or utils.project_root() / "web", "generator")
    z = noise(2, meta["models"][0]["latent_dim"], seed, "cpu")  # (2, latent)
    codes = slerp(z[0], z[1], torch.linspace(0, 1, steps))  # (steps, latent)
    with torch.no_grad():
        return {m["name"]: to_unit(reference_generator(tensors, meta, m["name"])(codes)) for m in meta["models"]}
