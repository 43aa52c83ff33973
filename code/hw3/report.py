"""The front page (`index.qmd`): the report's headline results, and where each number comes from.

Nothing is re-derived here: the runs are loaded through each part's own functions
(`gan.report_configs`, `gan.study.outcome`, `sentiment.final_configs`,
`sentiment.analysis.summary`, `theory.report_configs`) with `runs.load_or_train`, so the front page shows exactly the runs the chapters
show. In a real render every run is stored and only loads; in the quick profile (a temporary, empty
results folder) the tiny versions are trained, about a minute on one core.

    page = report.load()
    report.front_facts(page)        # what the front page's prose states (a `FrontFacts`)
    report.headline_table(page)     # results at a glance, one row per headline (formatted for display)
    report.provenance_table(page)   # run, date, device, wall time and commit of every run shown
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import pandas as pd

from . import compare, fmt, gan, runs, sentiment, theory, utils
from .fmt import accuracy, fid, pct
from .sentiment import analysis as sa


class FrontPage(NamedTuple):
    """Every run the front page shows (and the GAN study's verdict, which picks the best variant)."""

    judge: runs.Run  # its metrics["floor"]: real training digits scored like samples
    gan: gan.study.Outcome  # the study: validation summary, the chosen variant, test summary, target
    final: list[runs.Run]  # every GRU model at its chosen max_len, every seed
    tfidf: runs.Run
    theory: dict[str, runs.Run]  # experiment ("theory-transfer", ...) -> run

    def shown(self) -> list[tuple[str, runs.Run]]:
        """(what the run stands for on the front page, run), in the order of the headline table."""
        out = [(f"Q1 · {THEORY_TITLES[e]}", r) for e, r in self.theory.items()]
        out += [("Q2 · judge CNN (real-digit floor)", self.judge)]
        out += [(f"Q2 · spec GAN, seed {r.config.seed}", r) for r in self.spec_runs]
        out += [(f"Q2 · chosen variant, seed {r.config.seed}", r) for r in self.best_runs]
        out += [(f"Q3 · {sa.MODEL_LABELS[sa.model_of(r)]}, seed {r.config_dict['seed']}", r) for r in self.final]
        out.append((f"Q3 · {sa.MODEL_LABELS['tfidf']}", self.tfidf))
        return out


    @property
    def spec_runs(self) -> list[runs.Run]:
        return self.gan.grouped[gan.study.SPEC]

    @property
    def best_runs(self) -> list[runs.Run]:
        return self.gan.grouped[self.gan.chosen]

    @property
    def gan_target(self) -> dict:
        return self.gan.target


THEORY_TITLES = {
    "theory-transfer": "transfer learning",
    "theory-layers": "dense vs convolutional layers",
    "theory-regularization": "regularization",
    "theory-siamese": "Siamese networks",
    "theory-activations": "activation functions",
}


def configs() -> list[runs.RunConfig]:
    """Every run the front page loads, in training order (the judge before the GANs it scores)."""
    return [*theory.report_configs(), *gan.report_configs(), *sentiment.final_configs(), sentiment.TfidfConfig()]


def missing() -> list[str]:
    """experiment/name of the front page's runs that are not stored with their config (would be trained)."""
    out = []
    for c in configs():
        c = c.quick() if utils.quick() else c
        path = runs.run_dir(c)
        if not (path / "config.json").exists() or not runs.same_config(utils.read_json(path / "config.json"), c):
            out.append(f"{c.experiment}/{c.name}")
    return out


def load(*, device=None) -> FrontPage:
    """Load (in the quick profile: train the tiny versions of) every run the front page shows."""
    loaded = [runs.load_or_train(c, device=device) for c in configs()]

    def of(experiment: str) -> list[runs.Run]:
        return [r for r in loaded if r.experiment == experiment]

    return FrontPage(
        judge=of("judge")[0], gan=gan.study.outcome(of("gan")),
        final=of("sentiment"), tfidf=of("tfidf")[0],
        theory={r.experiment: r for r in loaded if r.experiment.startswith("theory-")},
    )


# --- results at a glance -----------------------------------------------------------------------------


class Headline(NamedTuple):
    part: str
    result: str  # what is measured
    value: str  # as shown
    compare: str  # what to read it against
    numbers: dict[str, float]  # the unformatted values behind `value` (tests compare them with the runs)
    runs: tuple[str, ...]  # experiment/name of the runs it comes from


def _id(run: runs.Run) -> str:
    return f"{run.experiment}/{run.name}"


def theory_headlines(theory_runs: dict[str, runs.Run]) -> list[Headline]:
    """One headline per essay: the number its key points rest on."""
    out = []
    if r := theory_runs.get("theory-transfer"):
        m = r.metrics  # accuracies at the number of steps chosen on the labelled images' validation part
        near, far = m["acc/near/fine-tune"], m["acc/far/fine-tune"]
        out.append(Headline(
            "Q1 · Transfer learning",
            f"Target accuracy after fine-tuning the source model with {m['target_labelled']} labelled target "
            f"images ({m['target_val']} of them choose the number of steps): near domain · far domain",
            f"{pct(near)} · {pct(far)}",
            f"not adapted: {pct(m['acc/near/source only'])} · {pct(m['acc/far/source only'])}; "
            f"from scratch: {pct(m['acc/near/from scratch'])} · {pct(m['acc/far/from scratch'])}",
            {"near": near, "far": far}, (_id(r),)))
    if r := theory_runs.get("theory-layers"):
        m = r.metrics
        cnn, mlp, _ = m["models"]
        shift = m["table_shift"]
        out.append(Headline(
            "Q1 · Dense vs convolutional",
            f"MNIST test accuracy at about the same budget ({m[f'params/{cnn}']:,} vs {m[f'params/{mlp}']:,} "
            "parameters): CNN · MLP",
            f"{pct(m[f'test_acc/{cnn}'])} · {pct(m[f'test_acc/{mlp}'])}",
            f"digits shifted by {shift} pixels: {pct(m[f'shifted_acc/{cnn}'])} · {pct(m[f'shifted_acc/{mlp}'])}",
            {"cnn": m[f"test_acc/{cnn}"], "mlp": m[f"test_acc/{mlp}"]}, (_id(r),)))
    if r := theory_runs.get("theory-regularization"):
        m = r.metrics
        best = m["best_on_validation"]  # chosen on validation, as in the essay
        out.append(Headline(
            "Q1 · Regularization",
            f"Test accuracy of the single regularizer chosen on validation ({best}), "
            f"{r.config.train_size:,} training images, mean over {len(m['seeds'])} seeds",
            pct(m[f"test_acc/{best}"]),
            f"no regularization: {pct(m['test_acc/none'])}",
            {"best": m[f"test_acc/{best}"], "none": m["test_acc/none"]}, (_id(r),)))
    if r := theory_runs.get("theory-siamese"):
        m = r.metrics
        out.append(Headline(
            "Q1 · Siamese networks",
            f"Verification ROC AUC on test pairs: digits seen in training · {m['num_held_out']} held-out digits "
            f"(mean over {len(m['seeds'])} runs)",
            f"{m['auc/seen digits']:.3f} · {m['auc/held-out digits']:.3f}",
            "chance: 0.5",
            {"seen": m["auc/seen digits"], "held_out": m["auc/held-out digits"]}, (_id(r),)))
    if r := theory_runs.get("theory-activations"):
        m = r.metrics
        best = m["best_on_validation"]  # chosen on validation, as in the essay
        out.append(Headline(
            "Q1 · Activation functions",
            f"Test accuracy of a {m['depth']}-layer MLP, mean over {len(m['seeds'])} seeds: sigmoid (gain 1) · "
            f"activation chosen on validation ({theory.activations.LABELS[best]})",
            f"{pct(m['test_acc/sigmoid'])} · {pct(m[f'test_acc/{best}'])}",
            f"chance: {pct(1 / 10)}",  # ten digits
            {"sigmoid": m["test_acc/sigmoid"], "best": m[f"test_acc/{best}"]}, (_id(r),)))
    return out


def gan_headlines(page: FrontPage) -> list[Headline]:
    """Test-reference classifier FID and normalized class entropy of the spec GAN and of the variant chosen
    on the validation reference (mean ± standard deviation over seeds), against real digits."""
    floor = page.judge.metrics["floor"]["test"]
    compare = f"real digits: {fid(floor['fid'])} · {floor['class_entropy']:.3f}"
    test = page.gan.test.set_index("variant")
    out = []
    chosen = page.gan.chosen
    for label, name, rs in (("spec GAN", gan.study.SPEC, page.spec_runs),
                            (f"chosen variant, {chosen}", chosen, page.best_runs)):
        c, row = rs[0].config, test.loc[name]
        arch = "MLP" if c.arch == "mlp" else "DCGAN"
        seeds = len(rs)
        out.append(Headline(
            "Q2 · GAN on MNIST",
            f"{label} ({arch}, {c.num_epochs} epochs, {seeds} seed{'s' * (seeds > 1)}): test classifier FID ↓ · "
            "normalized class entropy ↑",
            f"{row['fid_mean']:.1f} ± {row['fid_sd']:.1f} · {row['class_entropy_mean']:.3f} ± {row['class_entropy_sd']:.3f}",
            compare, {"fid": float(row["fid_mean"]), "class_entropy": float(row["class_entropy_mean"])},
            tuple(_id(r) for r in rs) + (_id(page.judge),)))
    return out


def sentiment_headlines(page: FrontPage) -> list[Headline]:
    """IMDb test accuracy of each GRU model (mean ± std over seeds) and of the TF-IDF reference."""
    s = sa.summary(page.final, page.tfidf)
    compare = {"attention": f"target ≥ {pct(sa.TARGETS['attention'])}",
               "baseline": f"target ≥ {pct(sa.TARGETS['baseline'])}",
               "meanpool": "control for attention (uniform weights)",
               "tfidf": "reference without a network"}
    out = []
    for model, row in s.iterrows():
        seeds = int(row["seeds"])
        rs = [r for r in [*page.final, page.tfidf] if sa.model_of(r) == model]
        length = "whole reviews" if model == "tfidf" else f"max_len {int(row['max_len'])}"
        out.append(Headline(
            "Q3 · IMDb sentiment",
            f"Test accuracy: {sa.MODEL_LABELS.get(model, model)}; {length}, {seeds} seed{'s' * (seeds > 1)}",
            accuracy(row["accuracy_mean"], row["accuracy_std"], seeds), compare.get(model, ""),
            {"accuracy_mean": float(row["accuracy_mean"]), "accuracy_std": float(row["accuracy_std"]),
             "seeds": seeds}, tuple(_id(r) for r in rs)))
    return out


def headlines(page: FrontPage | None = None) -> list[Headline]:
    page = page or load()
    return [*theory_headlines(page.theory), *gan_headlines(page), *sentiment_headlines(page)]


def headline_table(page: FrontPage | None = None) -> pd.DataFrame:
    """Results at a glance: part, what is measured, the value, and what to compare it with."""
    rows = [{"part": h.part, "result": h.result, "value": h.value, "compare with": h.compare}
            for h in headlines(page)]
    return pd.DataFrame(rows).set_index("part")  # parts label the rows (tables.show: the first column)


# --- provenance --------------------------------------------------------------------------------------


def device_label(provenance: dict) -> str:
    """The GPU's name for a CUDA run ('NVIDIA H100 80GB HBM3'), else 'CPU' / 'MPS'.

    No thread count: some trainers pin their own (see `theory.common.single_threaded`), and provenance
    records the process default.
    """
    device = str(provenance.get("device", "?"))
    if device.startswith("cuda"):
        return provenance.get("device_name") or device
    return device.upper()


def wall_time(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def date_label(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(iso)


def provenance_table(page: FrontPage | None = None) -> pd.DataFrame:
    """One row per run shown: experiment/name, what it stands for, date (UTC), device (a GPU's name without
    its vendor, to keep the table within the PDF's width), wall time, commit."""
    page = page or load()
    rows = []
    for role, r in page.shown():
        p = r.provenance
        rows.append({"run": _id(r), "shown as": role, "date (UTC)": date_label(p.get("date", "")),
                     "device": device_label(p).removeprefix("NVIDIA "), "wall time": wall_time(p.get("wall_time_s", math.nan)),
                     "commit": str(p.get("git_commit", "unknown"))[:7]})
    return pd.DataFrame(rows).set_index("run")  # run folders label the rows (tables.show: the first column)


def totals(page: FrontPage) -> dict:
    """Counts for the front page's prose: the runs shown and every run of the report (what `hw3 reproduce`
    retrains), with their summed wall times as stored."""
    from . import cli  # the CLI's list of report runs is the one `hw3 reproduce` works through

    shown = [r for _, r in page.shown()]
    stored = [r for r in map(_stored, cli.report_configs()) if r is not None]
    return {
        "num_shown": len(shown),
        "shown_wall_time_s": sum(r.provenance.get("wall_time_s", 0.0) for r in shown),
        "devices": sorted({device_label(r.provenance) for r in shown}),
        "num_report_runs": len(cli.report_configs()),
        "num_stored": len(stored),
        "stored_wall_time_s": sum(r.provenance.get("wall_time_s", 0.0) for r in stored),
    }


def _stored(config: runs.RunConfig) -> runs.Run | None:
    path = runs.run_dir(config.quick() if utils.quick() else config)
    return runs.Run(path) if path.exists() else None


# --- the front page's prose --------------------------------------------------------------------------

GRU_LABELS = {"baseline": "last-token baseline", "attention": "attention model", "meanpool": "mean-pooling model"}


@dataclass(frozen=True)
class FrontFacts:
    """What index.qmd's prose states: the GAN verdict, the best GRU, and the runs' totals."""

    num_variants: int  # GAN study variants (the spec excluded)
    gan_target: dict  # gan.study.target: on the test reference, after the choice on validation
    best_variant: str
    spec_fid: float
    best_fid: float
    floor_fid: float
    fid_share: float  # best / spec
    gan_verdict: str  # "met" | "missed"
    baseline_accuracy: str  # '89.92 ± 0.05%' (mean ± sd over seeds)
    attention_accuracy: str
    tfidf_accuracy: float
    attention_vs_baseline: str  # '−0.59 points (95 % interval [−0.81, −0.38] over seeds): lower'
    seeds_text: str  # "mean over three seeds" | "one seed"
    num_shown: int
    shown_time: str
    devices: str
    num_report_runs: int
    stored_text: str  # "all of them stored," | "12 of them stored so far,"
    stored_time: str


def difference_words(c: compare.Comparison) -> str:
    """A difference of accuracies with its interval and the word `compare` chose for it."""
    interval = "no interval" if c.word == compare.UNRANKED else f"95 % interval {c.interval(100)} over seeds"
    return f"{100 * c.a_minus_b:+.2f} points ({interval}): {c.say(same='no clear difference')}"


def stored_text(num_stored: int, num_runs: int) -> str:
    return "all of them stored," if num_stored == num_runs else f"{num_stored} of them stored so far,"


def seeds_text(num_seeds: int) -> str:
    return f"mean over {fmt.word(num_seeds)} seeds" if num_seeds > 1 else "one seed"


def front_facts(page: FrontPage, totals_: dict | None = None) -> FrontFacts:
    """The front page's `FrontFacts` from its loaded runs (and `totals(page)`, computed if not given)."""
    t = totals_ or totals(page)
    summary = sa.summary(page.final, page.tfidf)
    tfidf_acc = float(summary.loc["tfidf", "accuracy_mean"])
    acc = {m: [r.metrics["accuracy"] for r in page.final if sa.model_of(r) == m] for m in ("attention", "baseline")}

    def shown(model):
        row = summary.loc[model]
        return accuracy(row["accuracy_mean"], row["accuracy_std"], int(row["seeds"]))
    target = page.gan_target
    return FrontFacts(
        num_variants=len(page.gan.val) - 1, gan_target=target, best_variant=page.gan.chosen,
        spec_fid=target["spec_fid"], best_fid=target["best_fid"],
        floor_fid=page.judge.metrics["floor"]["test"]["fid"],
        fid_share=target["ratio"], gan_verdict="met" if target["met"] else "missed",
        baseline_accuracy=shown("baseline"), attention_accuracy=shown("attention"), tfidf_accuracy=tfidf_acc,
        attention_vs_baseline=difference_words(compare.seeds(acc["attention"], acc["baseline"])),
        seeds_text=seeds_text(int(summary.loc["attention", "seeds"])),
        num_shown=t["num_shown"], shown_time=wall_time(t["shown_wall_time_s"]), devices=" and ".join(t["devices"]),
        num_report_runs=t["num_report_runs"], stored_text=stored_text(t["num_stored"], t["num_report_runs"]),
        stored_time=wall_time(t["stored_wall_time_s"]),
    )
