"""The front page (hw3.report, index.qmd): its tables match the committed runs, read directly from
their JSON files; and the formatting helpers on known values. The stored-run tests are skipped when a
run the front page shows is not committed (nothing is ever trained here)."""

import json
import math
import statistics
from pathlib import Path

import pytest

from hw3 import fmt, gan, report, sentiment, utils
from hw3.sentiment import analysis as sa

RESULTS = utils.project_root() / "results"


@pytest.fixture
def committed(monkeypatch):
    """The committed results/ folder, the full profile, and no training: load every front-page run."""
    monkeypatch.delenv("HW3_QUICK", raising=False)
    monkeypatch.delenv("HW3_RESULTS", raising=False)
    monkeypatch.setenv("HW3_NO_TRAIN", "1")  # a missing run fails instead of training for hours
    if missing := report.missing():
        pytest.skip(f"runs not stored: {', '.join(missing)}")
    page = report.load()
    return page, report.headlines(page), report.headline_table(page)


def read(experiment: str, name: str, file: str = "metrics.json") -> dict:
    return json.loads(Path(RESULTS / experiment / name / file).read_text(encoding="utf-8"))


def row(headlines, part: str, contains: str):
    found = [h for h in headlines if h.part == part and contains in h.result]
    assert len(found) == 1, f"{len(found)} headlines in {part!r} mention {contains!r}"
    return found[0]


def test_table_shows_the_headlines(committed):
    _, headlines, table = committed
    assert list(table.columns) == ["result", "value", "compare with"]
    assert table["value"].tolist() == [h.value for h in headlines]
    assert table.index.tolist() == [h.part for h in headlines]
    assert sum(table.index.str.startswith("Q1")) == len(report.THEORY_TITLES), "one headline per essay"


def test_gan_rows_match_the_stored_runs(committed):
    """Re-derive the choice from the JSON files: lowest mean validation FID among variants with enough
    seeds; the headline shows the test-reference mean ± sd of the spec and of that variant."""
    page, headlines, _ = committed
    seeds_of: dict[str, list[str]] = {}
    for c in gan.study_configs():
        v = next(v for v in gan.study.VARIANTS if c.name in (v.name, v.run_name(c.seed)))
        seeds_of.setdefault(v.name, []).append(c.name)
    val_fid = {v: statistics.mean(read("gan", n)["val"]["fid"] for n in names) for v, names in seeds_of.items()}
    ranked = [v for v, names in seeds_of.items() if v != "spec" and len(names) >= gan.study.MIN_SEEDS]
    chosen = min(ranked, key=val_fid.get)
    assert page.gan.chosen == chosen
    floor = read("judge", "judge")["floor"]["test"]
    for name, contains in (("spec", "spec GAN"), (chosen, f"chosen variant, {chosen}")):
        h = row(headlines, "Q2 · GAN on MNIST", contains)
        fids = [read("gan", n)["test"]["fid"] for n in seeds_of[name]]
        entropies = [read("gan", n)["test"]["class_entropy"] for n in seeds_of[name]]
        assert h.numbers["fid"] == pytest.approx(statistics.mean(fids))
        assert h.numbers["class_entropy"] == pytest.approx(statistics.mean(entropies))
        assert h.value.startswith(f"{statistics.mean(fids):.1f} ± {statistics.stdev(fids):.1f} · ")
        assert h.compare == f"real digits: {fmt.fid(floor['fid'])} · {floor['class_entropy']:.3f}"
        assert all(f"gan/{n}" in h.runs for n in seeds_of[name])


def test_sentiment_rows_match_the_stored_runs(committed):
    _, headlines, _ = committed
    configs = sentiment.final_configs()
    for model in sentiment.MODELS:
        accs = [read("sentiment", c.name)["accuracy"] for c in configs if c.model == model]
        h = row(headlines, "Q3 · IMDb sentiment", sa.MODEL_LABELS[model])
        assert h.numbers["seeds"] == len(accs)
        assert h.numbers["accuracy_mean"] == pytest.approx(statistics.mean(accs))
        if len(accs) > 1:
            assert h.numbers["accuracy_std"] == pytest.approx(statistics.stdev(accs))  # sample std, as pandas
        assert h.value.startswith(f"{100 * statistics.mean(accs):.2f}")
    h = row(headlines, "Q3 · IMDb sentiment", "TF-IDF")
    assert h.value == f"{100 * read('tfidf', 'tfidf')['accuracy']:.2f}%"


def test_theory_rows_match_the_stored_runs(committed):
    _, headlines, _ = committed
    m = read("theory-siamese", "default")
    h = row(headlines, "Q1 · Siamese networks", "ROC AUC")
    assert h.value == f"{m['auc/seen digits']:.3f} · {m['auc/held-out digits']:.3f}"
    m = read("theory-regularization", "default")
    best = m["best_on_validation"]
    h = row(headlines, "Q1 · Regularization", best)
    assert h.numbers["best"] == pytest.approx(m[f"test_acc/{best}"])
    assert h.compare == f"no regularization: {100 * m['test_acc/none']:.1f}%"
    m = read("theory-activations", "default")
    h = row(headlines, "Q1 · Activation functions", "sigmoid")
    assert h.numbers["sigmoid"] == pytest.approx(m["test_acc/sigmoid"])


def test_provenance_table_matches_the_stored_provenance(committed):
    page, _, _ = committed
    table = report.provenance_table(page)
    assert len(table) == len(page.shown()) and table.index.is_unique
    for run_id, r in table.iterrows():
        experiment, name = run_id.split("/")
        p = read(experiment, name, "provenance.json")
        assert r["commit"] == p["git_commit"][:7]
        assert r["date (UTC)"] == p["date"][:16].replace("T", " ")
        assert r["wall time"] == report.wall_time(p["wall_time_s"])
        assert r["device"] == (p["device_name"].removeprefix("NVIDIA ") if p["device"].startswith("cuda")
                               else p["device"].upper())


# --- formatting, on known values ---------------------------------------------------------------------


def test_formatting():
    assert fmt.accuracy(0.89123, 0.00214, 3) == "89.12 ± 0.21%"
    assert fmt.accuracy(0.88868, 0.0, 1) == "88.87%"
    assert fmt.fid(264.6025) == "264.6" and fmt.fid(1.6297) == "1.63"
    assert [report.wall_time(s) for s in (7.4, 182.1, 8000.0)] == ["7 s", "3 min", "2.2 h"]
    assert report.wall_time(math.nan) == "?"
    assert report.date_label("2026-11-25T09:44:02+00:00") == "2026-11-25 09:44"
    assert report.device_label({"device": "cuda", "device_name": "NVIDIA H100 80GB HBM3"}) == "NVIDIA H100 80GB HBM3"
    assert report.device_label({"device": "cpu", "device_name": "x86_64"}) == "CPU"


def test_front_page_words():
    from hw3 import compare

    clear = report.difference_words(compare.seeds([0.893, 0.894, 0.892], [0.899, 0.900, 0.899]))
    assert clear.startswith("-0.63 points (95 % interval [") and clear.endswith("over seeds): lower")
    overlap = report.difference_words(compare.seeds([0.89, 0.90, 0.88], [0.885, 0.895, 0.89]))
    assert overlap.endswith("no clear difference")
    assert report.difference_words(compare.seeds([0.9], [0.8])).endswith("(no interval): not ranked (one seed)")
    assert report.stored_text(30, 30) == "all of them stored,"
    assert report.stored_text(12, 30) == "12 of them stored so far,"
    assert report.seeds_text(3) == "mean over three seeds" and report.seeds_text(1) == "one seed"
