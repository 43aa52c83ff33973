"""`hw3 export web --out DIR`: the report's models as files a page (or Node) runs, from the stored runs.

DIR receives, deterministically (the same runs give the same bytes):

    tensors.mjs, sentiment.mjs, generator.mjs    ES modules (browser over HTTP, Node): `load`, `mount`, ...
    sentiment.js, generator.js                   the same code as classic scripts, `globalThis.hw3web.*`
    sentiment.weights.js, generator.weights.js   the weights (bundle.py), base64 in a classic script
    sentiment.html, generator.html               standalone pages of the two widgets

A page opened from disk (file://) can run neither module imports nor fetch() of local files, so the
chapters and the standalone pages use the classic scripts; everything works offline.

A core module: the parts hand it their models (`hw3.sentiment.export.web_model`,
`hw3.gan.export.web_models`); `hw3.cli.export_web` is what collects them and calls `export`.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from .bundle import pack, read_weights_script, unpack, weights_script

MODULES = ("tensors.mjs", "sentiment.mjs", "generator.mjs")
PAGE_TITLES = {"sentiment": "Try a review: the attention GRU", "generator": "Walk the latent space: the GAN generators"}
_EXPORTED = re.compile(r"^export (?:async )?(?:function|class|const|let) (\w+)", re.M)


def source(name: str) -> str:
    """The text of a JavaScript file shipped with the package (hw3/web/<name>)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def classic_script(model: str) -> str:
    """`<model>.mjs` and tensors.mjs as one classic script that sets `globalThis.hw3web[model]` to the
    module's exports (the modules hold no other imports; `export` only marks top-level declarations)."""
    body = source(f"{model}.mjs")
    names = _EXPORTED.findall(body)
    body = re.sub(r'^import \{[^}]*\} from "\./tensors\.mjs";\n', "", body, flags=re.M)
    parts = [re.sub(r"^export ", "", text, flags=re.M) for text in (source("tensors.mjs"), body)]
    return (f"// {model}.mjs and tensors.mjs as a classic script (for pages opened from disk); written by "
            f"`hw3 export web`\n(() => {{\n{parts[0]}\n{parts[1]}\n"
            f"(globalThis.hw3web = globalThis.hw3web || {{}}).{model} = {{ {', '.join(names)} }};\n}})();\n")


def page(model: str) -> str:
    """A standalone page of one widget, working from disk: the weights and the classic script, mounted."""
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{PAGE_TITLES[model]}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 46em; margin: 2em auto">
<h1 style="font-size: 1.3em">{PAGE_TITLES[model]}</h1>
<div id="hw3-{model}">Loading the model…</div>
<script src="{model}.weights.js"></script>
<script src="{model}.js"></script>
<script>
hw3web.{model}.mount(document.getElementById("hw3-{model}"))
  .then((w) => {{ window.hw3widget = w; document.body.dataset.ready = "1"; }})
  .catch((e) => {{ document.getElementById("hw3-{model}").textContent = "Could not load the model: " + e; }});
</script>
</body>
</html>
"""


def export(out: Path, models: dict[str, tuple[dict, dict, dict]]) -> dict[str, int]:
    """Write the bundle into `out`: the JavaScript, and for each of `models` ("sentiment", "generator":
    `(tensors, storage dtypes, meta)` as the parts' exporters return them) its weights, classic script
    and standalone page. Return each file's size in bytes."""
    unknown = set(models) - set(PAGE_TITLES)
    if unknown:
        raise ValueError(f"no page for model(s) {sorted(unknown)}; known: {sorted(PAGE_TITLES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {name: source(name) for name in MODULES}
    for key, (tensors, dtypes, meta) in models.items():
        files[f"{key}.weights.js"] = weights_script(key, pack(tensors, dtypes, meta))
        files[f"{key}.js"] = classic_script(key)
        files[f"{key}.html"] = page(key)
    sizes = {}
    for name, text in sorted(files.items()):
        path = out / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8", newline="\n")
        tmp.replace(path)
        sizes[name] = path.stat().st_size
    return sizes


def read_bundle(folder: Path, key: str) -> tuple[dict, dict]:
    """Decoded float32 tensors and meta of `<folder>/<key>.weights.js` ("sentiment" or "generator")."""
    return unpack(read_weights_script(Path(folder) / f"{key}.weights.js"))
