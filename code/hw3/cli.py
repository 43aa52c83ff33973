"""The `hw3` command: data, training, stored runs, sampling, prediction, reproduction and rendering.

Start-up stays under a second: this module imports only the standard library and the light core
(`utils`, `runs`); PyTorch, pandas and matplotlib load inside the commands that need them (`train`
builds its per-experiment options from the experiment modules, so only `hw3 train ...` imports them
to parse its arguments). `benchmarks/bench_cli.py` measures it.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import runs, utils

# Modules whose import registers experiments (@runs.trainer) and that list the report's runs
# (`report_configs()`), in the order `hw3 reproduce` trains them. The last part of each name is the
# part's name for `hw3 reproduce --only`.
EXPERIMENT_MODULES = ("hw3.theory", "hw3.gan", "hw3.sentiment")

EPILOG = """examples:
  hw3 data prepare --mirror ../shared/data      verify and unpack MNIST and IMDb offline
  hw3 runs                                      stored runs and their headline metrics
  hw3 train gan --name spec                     train (or load) the report's spec GAN
  hw3 train gan --name my-gan --lr 1e-4         a new run with one hyperparameter changed
  hw3 train sentiment --model attention --resume   continue an interrupted run (--retrain: start over)
  hw3 sample gan --run spec -n 64 --out samples.pt --png samples.png
  hw3 predict --run attention-s0 "A moving, beautifully acted film."
  hw3 export web --out web                      the page's models (weights and JavaScript), never training
  hw3 reproduce --only sentiment                retrain one chapter's runs (on a CPU: keeps GPU-trained ones)
  hw3 freeze                                    which documents' frozen outputs are fresh, stale or missing
"""


class CLIError(Exception):
    """An error shown to the user as one line, exit status 1."""


def experiment_modules() -> list:
    return [importlib.import_module(name) for name in EXPERIMENT_MODULES]


def report_configs(only: str | None = None) -> list[runs.RunConfig]:
    """Every run the report shows, dependencies first. `only` selects a part, every run of its chapter
    (`theory`, `gan`: judge included, `sentiment`: TF-IDF included), or an experiment, a folder under
    results/ (`judge`, `tfidf`, `theory-activations`, ...; `theory-` prefixes match too)."""

    def wanted(part: str, c: runs.RunConfig) -> bool:
        return only is None or only == part or c.experiment == only or c.experiment.startswith(f"{only}-")

    return [c for m in experiment_modules() for c in m.report_configs() if wanted(m.__name__.split(".")[-1], c)]


# --- commands ----------------------------------------------------------------------------------------


def cmd_data_prepare(args) -> None:
    from . import data, text

    mirror = Path(args.mirror) if args.mirror else None
    print(f"MNIST: {data.prepare_mnist(mirror=mirror) / 'MNIST' / 'raw'}")
    print(f"IMDb:  {data.prepare_imdb(mirror=mirror)}")
    print(f"IMDb tokens: {text.prepare_corpus(mirror=mirror)}")


def cmd_runs(args) -> None:
    found = [r for r in runs.list_runs() if not args.experiment or r.experiment == args.experiment]
    if not found:
        print(f"no stored runs under {utils.results_root()}")
        return
    rows = []
    for r in found:
        scalars = [(k, v) for k, v in r.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        headline = ", ".join(f"{k}={v:.4g}" for k, v in scalars[:3])
        p = r.provenance
        rows.append((f"{r.experiment}/{r.name}", headline, p.get("date", "")[:10], p.get("device", ""),
                     f"{p.get('wall_time_s', 0):.0f}s"))
    widths = [max(len(row[i]) for row in rows + [("run", "metrics", "date", "device", "time")]) for i in range(5)]
    for row in [("run", "metrics", "date", "device", "time"), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _parse_value(field: dataclasses.Field, text: str):
    default = field.default
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise CLIError(f"--{field.name.replace('_', '-')} expects true/false, not {text!r}")
    if isinstance(default, tuple):
        return tuple(json.loads(f"[{text}]"))
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    return text


def build_config(experiment: str, args) -> runs.RunConfig:
    cls = runs.CONFIGS[experiment]
    base = cls()
    if args.config:
        base = cls.from_dict({**base.to_dict(), **json.loads(Path(args.config).read_text())})
    presets = {c.name: c for c in report_configs(experiment) if c.experiment == experiment}
    if args.cfg_name in presets:
        base = presets[args.cfg_name]
    changes = {}
    for f in dataclasses.fields(cls):
        value = getattr(args, f"cfg_{f.name}", None)
        if value is not None:
            changes[f.name] = _parse_value(f, value)
    return dataclasses.replace(base, **changes)


def cmd_train(args) -> None:
    config = build_config(args.experiment, args)
    target = config.quick() if utils.quick() else config
    stored = runs.run_dir(target).exists() and not args.retrain
    resuming = args.resume and not args.retrain and (runs.partial_dir(target) / "checkpoint.pt").exists()
    action = ("loading the stored run" if stored else
              f"{'resuming' if resuming else 'training'} on {utils.get_device(args.device)}")
    print(f"{config.experiment}/{config.name}: {action}{' (quick profile)' if utils.quick() else ''}", file=sys.stderr)
    run = runs.load_or_train(config, retrain=args.retrain, resume=args.resume, device=args.device)
    shown = {k: v for k, v in run.metrics.items() if isinstance(v, (int, float, str))}
    print(f"{run.path}\n{json.dumps(shown, indent=2)}")


def reproduce_state_path(only: str | None) -> Path:
    """Under results/: the runs an unfinished `hw3 reproduce [--only ONLY]` has redone so far."""
    return utils.results_root() / f".reproduce-{only or 'all'}.json"


def _stored_wall_time(c: runs.RunConfig) -> float | None:
    path = runs.run_dir(c) / "provenance.json"
    return utils.read_json(path)["wall_time_s"] if path.exists() else None


def _trained_on_gpu(c: runs.RunConfig) -> bool:
    path = runs.run_dir(c) / "provenance.json"
    return path.exists() and utils.read_json(path).get("device", "cpu") != "cpu"


def cmd_reproduce(args) -> None:
    device = utils.get_device(args.device)
    configs = report_configs(args.only)
    if not configs:
        raise CLIError(f"no report runs match {args.only!r}")
    # On a CPU, runs that were trained on a GPU (hours to days here) are kept unless --all asks for them;
    # the report has CPU-recipe runs of its own for those models.
    kept = {(c.experiment, c.name) for c in configs if device.type == "cpu" and not args.all and _trained_on_gpu(c)}
    if kept:
        print(f"keeping {len(kept)} runs that were trained on a GPU (--all retrains them too, for hours on a CPU)",
              file=sys.stderr)
    # An interrupted reproduce goes on where it stopped: the runs it already redid stay, the one it was
    # training resumes from its last epoch checkpoint.
    state_path = reproduce_state_path(args.only)
    state = utils.read_json(state_path) if state_path.exists() and not args.restart else None
    if state:
        print(f"continuing the reproduce started {state['started'][:16]}: {len(state['done'])} runs already redone "
              "(--restart starts over)", file=sys.stderr)
    else:
        state = {"only": args.only, "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "done": []}
    done = {tuple(k) for k in state["done"]} | kept

    # The estimate uses the wall time each run took last time, where a stored run says so.
    previous = {(c.experiment, c.name): _stored_wall_time(c) for c in configs}
    known = [t for t in previous.values() if t]
    fallback = sum(known) / len(known) if known else 60.0
    todo_keys = [k for k in previous if k not in done]
    total = sum(previous[k] or fallback for k in todo_keys)
    print(f"retraining {len(todo_keys)} of the {len(configs)} runs from scratch on {device}; about "
          f"{total / 60:.0f} min by the stored wall times", file=sys.stderr)
    bar = utils.progress(total=round(total), unit="s", desc="reproduce", leave=True,
                         bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} est. s [{elapsed}<{remaining}]")
    # The list is read again after every run: some configs depend on earlier runs (the sentiment seeds
    # use the max_len that the freshly retrained sweep chose).
    while todo := [c for c in report_configs(args.only) if (c.experiment, c.name) not in done]:
        c = todo[0]
        bar.set_postfix_str(f"{c.experiment}/{c.name}")
        t0 = time.perf_counter()
        target = c.quick() if utils.quick() else c
        if runs.partial_dir(target).exists():
            # what an interrupted reproduce was training: continued (same config), or redone with --restart
            runs.train_run(target, resume=not args.restart, retrain=args.restart, device=device)
        else:
            runs.load_or_train(c, retrain=not args.keep, device=device)
        done.add((c.experiment, c.name))
        state["done"].append([c.experiment, c.name])
        utils.write_json(state_path, state)
        bar.update(previous.get((c.experiment, c.name)) or fallback)
        print(f"  {c.experiment}/{c.name}: {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    bar.close()
    state_path.unlink(missing_ok=True)
    if not args.no_render:
        render(to=None)  # the freeze guard (Quarto's pre-render) re-executes the documents whose runs changed


def find_quarto() -> str:
    """$QUARTO, a `quarto` on PATH, or the one PyPI's quarto-cli put next to this Python (`make report`)."""
    for candidate in (os.environ.get("QUARTO"), shutil.which("quarto"), str(Path(sys.executable).parent / "quarto")):
        if candidate and Path(candidate).exists():
            return candidate
    raise CLIError("Quarto is not installed: run `make report` (installs PyPI's quarto-cli into the virtual "
                   "environment where it can), or install it from https://quarto.org/docs/get-started/")


def render(to: str | None) -> None:
    """`quarto render` of the project. Its pre-render script (scripts/pre-render.py, `hw3.freeze`) first
    invalidates the frozen documents whose runs or code changed, so Quarto re-executes exactly those."""
    quarto = find_quarto()
    # rendering shows stored runs: a missing one is an error, never an hour of training inside a render
    env = {**os.environ, "QUARTO_PYTHON": os.environ.get("QUARTO_PYTHON", sys.executable),
           "HW3_NO_TRAIN": "1", "HW3_NO_DATA": "1"}  # render from results/ only
    cmd = [quarto, "render", *(["--to", to] if to else [])]
    print(" ".join(cmd), file=sys.stderr)
    done = subprocess.run(cmd, cwd=utils.project_root(), env=env)
    if done.returncode:
        raise CLIError(f"quarto render failed (exit {done.returncode})")


def cmd_render(args) -> None:
    render(args.to)


def cmd_freeze(args) -> None:
    from . import freeze

    code = freeze.main([*(["--invalidate"] if args.invalidate else []), *(["--check"] if args.check else []),
                        *(["--record-from", str(args.record_from)] if args.record_from else []),
                        "--project", str(args.project or utils.project_root())])
    if code:
        raise SystemExit(code)


# --- hw3 sample gan (issue 3: the MNIST GAN) -----------------------------------------------------------


def add_sample_command(sub) -> None:
    """`hw3 sample gan --run NAME -n N --out FILE.pt [--seed S] [--png FILE]`."""
    p = sub.add_parser("sample", help="generate samples from a trained model")
    ssub = p.add_subparsers(dest="sample_model", required=True, metavar="MODEL")
    g = ssub.add_parser("gan", help="digits from a stored GAN run",
                        description="Write N generated digits as a float tensor N x 1 x 28 x 28 with values in "
                                    "[0, 1] (torch.save), optionally also a PNG grid.")
    g.add_argument("--run", default="spec", help="run name under results/gan/ (default: spec)")
    g.add_argument("-n", type=int, default=64, help="number of samples (default: 64)")
    g.add_argument("--out", required=True, type=Path, help="output .pt file")
    g.add_argument("--seed", type=int, default=0, help="seed of the latent codes (default: 0)")
    g.add_argument("--png", type=Path, help="also write the samples as a PNG grid")
    g.add_argument("--device", default="cpu", help="cpu, cuda or mps (default: cpu)")
    g.set_defaults(func=cmd_sample_gan)


def cmd_sample_gan(args) -> None:
    from .gan import sampling

    if args.n < 1:
        raise CLIError(f"-n must be at least 1, not {args.n}")
    images = sampling.sample_to_file(args.run, args.n, args.out, seed=args.seed, png=args.png, device=args.device)
    print(f"wrote {tuple(images.shape)} samples of gan/{args.run} to {args.out}"
          + (f" and {args.png}" if args.png else ""))


# --- hw3 predict (issue 4: IMDb sentiment) -------------------------------------------------------------


def add_predict_command(sub) -> None:
    """`hw3 predict --run NAME "text" ...` or `hw3 predict --run NAME --input FILE [--output FILE.jsonl]`."""
    p = sub.add_parser("predict", help="sentiment of reviews with a stored IMDb run",
                       description="Print label, P(positive) and the most-attended words of each review, or read "
                                   "one review per line from --input and write one JSON object per line "
                                   "(label, prob_pos, top_words, ...) to --output (default: stdout).")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="review text(s)")
    p.add_argument("--run", required=True, help="run name under results/sentiment/ (or results/tfidf/)")
    p.add_argument("--input", type=Path, help="a UTF-8 file with one review per line")
    p.add_argument("--output", type=Path, help="write JSON lines here (with --input)")
    p.add_argument("--top-k", type=int, default=5, help="number of top words shown (default: 5)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or mps (default: cpu)")
    p.set_defaults(func=cmd_predict)


def cmd_predict(args) -> None:
    from .sentiment import predict

    if bool(args.texts) == bool(args.input):
        raise CLIError("give either review text(s) or --input FILE, not both or neither")
    if args.output and not args.input:
        raise CLIError("--output goes with --input")
    texts = predict.read_reviews(args.input) if args.input else args.texts
    preds = predict.predict(args.run, texts, top_k=args.top_k, device=args.device)
    if args.input:
        if args.output:
            predict.write_jsonl(args.output, preds)
            print(f"wrote {len(preds)} predictions to {args.output}", file=sys.stderr)
        else:
            for p in preds:
                print(json.dumps(p, ensure_ascii=False))
        return
    for p in preds:
        print(predict.format_prediction(p))


# --- hw3 export web (issue 12: the models in the page) -------------------------------------------------


def add_export_command(sub) -> None:
    """`hw3 export web --out DIR`: the page's models (weights and JavaScript) from the stored runs."""
    p = sub.add_parser("export", help="export trained models for the web page (never trains)")
    esub = p.add_subparsers(dest="export_target", required=True, metavar="TARGET")
    w = esub.add_parser("web", help="the attention GRU and the GAN generators as ES modules and weights",
                        description="Write the chapter's attention GRU and the spec and best GAN generators "
                                    "(compact weights, ES modules, classic scripts, two standalone pages) "
                                    "into DIR, from the stored runs.")
    w.add_argument("--out", required=True, type=Path, help="output folder (e.g. web/)")
    w.set_defaults(func=cmd_export_web)


def export_web(out: Path) -> dict[str, int]:
    """The page's models from the stored runs (never training), written by the core exporter `hw3.web`.
    The parts hand over their models here, beside the command line, so the core imports no part."""
    from . import web
    from .gan import export as gan_export
    from .sentiment import export as sentiment_export

    return web.export(out, {"sentiment": sentiment_export.web_model(), "generator": gan_export.web_models()})


def cmd_export_web(args) -> None:
    sizes = export_web(args.out)
    for name, size in sizes.items():
        print(f"{size:>10,}  {args.out / name}")
    print(f"{sum(sizes.values()):>10,}  bytes in all")


# --- parser ------------------------------------------------------------------------------------------


def _add_config_options(parser: argparse.ArgumentParser, cls: type[runs.RunConfig]) -> None:
    group = parser.add_argument_group(f"{cls.__name__} fields (defaults shown)")
    for f in dataclasses.fields(cls):
        flag = f"--{f.name.replace('_', '-')}"
        default = f.default if f.default is not dataclasses.MISSING else None
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        group.add_argument(flag, dest=f"cfg_{f.name}", metavar=type(default).__name__.upper(),
                           help=f"default: {shown}")


def build_parser(experiments: bool = True) -> argparse.ArgumentParser:
    """The `hw3` parser. `experiments=False` leaves out the per-experiment options of `train` (they come
    from the experiment modules, which import PyTorch): enough for every other command."""
    parser = argparse.ArgumentParser(
        prog="hw3", description="Deep Learning Assignment 3: train, inspect and render the report's runs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"hw3 {__import__('hw3').__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("data", help="fetch, verify and unpack the data sets")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    q = dsub.add_parser("prepare", help="MNIST and IMDb: fetch or copy from a mirror, verify, extract, tokenize")
    q.add_argument("--mirror", help="folder with the official files (default: $HW3_DATA_MIRROR)")
    q.set_defaults(func=cmd_data_prepare)

    p = sub.add_parser("runs", help="table of stored runs and their headline metrics")
    p.add_argument("--experiment", help="only this experiment (e.g. gan, sentiment)")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("train", help="train an experiment's run (or load it if an identical one is stored)",
                       epilog="`--name` of a report run starts from that run's config; other flags override fields. "
                              "An interrupted run continues only with --resume; --retrain discards it.")
    tsub = p.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    if experiments:
        experiment_modules()
    for experiment, cls in sorted(runs.CONFIGS.items()):
        doc = (cls.__doc__ or "").strip().splitlines()
        t = tsub.add_parser(experiment, help=doc[0] if doc else experiment)
        t.add_argument("--config", help="JSON file of config fields")
        t.add_argument("--resume", action="store_true",
                       help="continue an interrupted run of this config from its last finished epoch")
        t.add_argument("--retrain", action="store_true",
                       help="train again from scratch, discarding a stored or interrupted run of this name")
        t.add_argument("--device", help="cpu, cuda or mps (default: $HW3_DEVICE, else the best available)")
        _add_config_options(t, cls)
        t.set_defaults(func=cmd_train, on_interrupt="rerun the same command with --resume to continue from the "
                                                    "last finished epoch (--retrain starts over)")

    p = sub.add_parser("reproduce", help="retrain the runs the report shows from scratch, then render it",
                       description="Retrain the report's runs in dependency order, then render. On a CPU the runs "
                                   "that were trained on a GPU are kept unless --all. Run again after an "
                                   "interruption, it keeps the runs it already redid and resumes the one it was "
                                   "training (--restart starts over).")
    p.add_argument("--only", help="one part, every run of its chapter (theory, gan, sentiment: TF-IDF included), "
                                  "or one experiment under results/ (judge, tfidf, theory-activations, ...)")
    p.add_argument("--keep", action="store_true", help="keep stored runs whose config is unchanged")
    p.add_argument("--all", action="store_true", help="on a CPU, also retrain the runs that were trained on a GPU")
    p.add_argument("--restart", action="store_true",
                   help="start over instead of continuing an interrupted reproduce")
    p.add_argument("--no-render", action="store_true", help="train only; do not run quarto render")
    p.add_argument("--device", help="cpu, cuda or mps")
    p.set_defaults(func=cmd_reproduce, on_interrupt="rerun the same `hw3 reproduce` to continue where it stopped "
                                                    "(--restart starts over)")

    p = sub.add_parser("render", help="render the report with Quarto (HTML site and PDF) from the stored runs")
    p.add_argument("--to", choices=["html", "typst"], help="one format only")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("freeze", help="each document's frozen output: fresh, stale (and why) or missing",
                       description="Quarto re-executes a frozen document only when its .qmd changes; this guard also "
                                   "ties each document to a digest of the stored runs and package code it reads "
                                   "(recorded at every render by Quarto's pre-render script). Standard library only: "
                                   "also `python code/hw3/freeze.py`.")
    p.add_argument("--invalidate", action="store_true",
                   help="delete the frozen output of documents whose runs or code changed (the next render "
                        "re-executes them) and record the current inputs: Quarto's pre-render step")
    p.add_argument("--check", action="store_true", help="exit with status 1 if any document is stale or missing")
    p.add_argument("--project", type=Path, help="the Quarto project (default: this checkout)")
    p.add_argument("--record-from", type=Path, metavar="TREE",
                   help="for _freeze/ entries rendered elsewhere: record the inputs as they are in TREE, a checkout "
                        "of the commit they were rendered at")
    p.set_defaults(func=cmd_freeze)

    for add in _part_commands():
        add(sub)
    return parser


def _part_commands():
    """Commands that belong to one part of the report (sampling a GAN, predicting sentiment): every
    function of this module named `add_<something>_command(subparsers)` adds its own subcommand."""
    return [f for name, f in globals().items() if name.startswith("add_") and name.endswith("_command")]


def _command(argv: list[str]) -> str | None:
    """The subcommand named in `argv` (the top level has only flags without values before it)."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(experiments=_command(argv) == "train")
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        how = getattr(args, "on_interrupt", None)
        print(f"interrupted{f'; {how}' if how else ''}", file=sys.stderr)
        return 130
    except Exception as e:  # one clear line, not a traceback; HW3_DEBUG=1 shows the traceback of every error
        if utils.env_flag("HW3_DEBUG"):
            raise
        expected = (CLIError, runs.RunError, runs.TrainingDiverged, ValueError, FileNotFoundError)
        if isinstance(e, expected):
            prefix = "error"
        else:  # hw3.data is imported only if a command used it (it imports PyTorch)
            data = sys.modules.get("hw3.data")
            prefix = "data error" if data is not None and isinstance(e, data.DataError) else type(e).__name__
        print(f"hw3: {prefix}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
