"""The report's trained models in the page: `hw3 export web --out DIR` (see `export`).

    bundle     the compact weight container (float32 / float16 / int8 per row) and its classic-script wrapper
    export     writes the ES modules, their classic-script builds, the weights and two standalone pages
    *.mjs      the forward passes in JavaScript (browser and Node): sentiment.mjs, generator.mjs, tensors.mjs

A core module: it imports no part. The parts hand it their models (`hw3.sentiment.export.web_model`,
`hw3.gan.export.web_models`) and `hw3.cli.export_web`, beside the command line, collects them.
"""

from __future__ import annotations

from .bundle import pack, read_weights_script, unpack, weights_script
from .export import export, read_bundle

__all__ = ["export", "pack", "read_bundle", "read_weights_script", "unpack", "weights_script"]
