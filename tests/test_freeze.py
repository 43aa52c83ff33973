"""The freeze guard (hw3.freeze): a frozen document whose stored runs change is reported stale and its
frozen output invalidated before the next render; untouched documents stay frozen. On a temporary
project whose _freeze/ mimics Quarto's layout (hash = MD5 of the .qmd), rendered by a fake Quarto."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hw3 import freeze

ROOT = Path(__file__).resolve().parents[1]
READS = {"a.qmd": ("results/exp-a", "code/pkg"), "b.qmd": ("results/exp-b", "code/pkg"), "notes.qmd": ()}
CELL = "```{python}\nprint(1)\n```\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\nbook:\n  chapters:\n    - a.qmd\n"
                                          "    - b.qmd  # a comment naming old.qmd\n  appendices: [notes.qmd]\n")
    (tmp_path / "a.qmd").write_text(f"# A\n\n{CELL}")
    (tmp_path / "b.qmd").write_text(f"# B\n\n{CELL}")
    (tmp_path / "notes.qmd").write_text("# Notes\n\nNo code here.\n")
    for exp in ("exp-a", "exp-b"):
        store_run(tmp_path, exp, accuracy=0.8)
    (tmp_path / "code" / "pkg").mkdir(parents=True)
    (tmp_path / "code" / "pkg" / "facts.py").write_text("X = 1\n")
    return tmp_path


def store_run(project, experiment, **metrics):
    run = project / "results" / experiment / "run"
    run.mkdir(parents=True, exist_ok=True)
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "weights.safetensors").write_bytes(b"\0" * 64)


def quarto_render(project, log=None, reads=READS):
    """What `quarto render` does here: the pre-render guard, then execute every document whose frozen
    output is missing or whose hash is not the MD5 of its .qmd, writing _freeze/ as Quarto lays it out."""
    freeze.invalidate(project, reads, log=log or (lambda line: None))
    executed = []
    for doc in ("a.qmd", "b.qmd"):
        text = (project / doc).read_bytes()
        results = project / "_freeze" / Path(doc).stem / "execute-results"
        current = hashlib.md5(text).hexdigest()
        if all((results / f"{fmt}.json").exists() and json.loads((results / f"{fmt}.json").read_text())["hash"] == current
               for fmt in ("html", "typ")):
            continue
        results.mkdir(parents=True, exist_ok=True)
        for fmt in ("html", "typ"):
            (results / f"{fmt}.json").write_text(json.dumps({"hash": current, "result": {"markdown": "1"}}))
        figures = results.parent / "figure-html"
        figures.mkdir(exist_ok=True)
        (figures / "cell-1-output-1.png").write_bytes(b"png")
        executed.append(doc)
    return executed


def states(project):
    return {d.path: (d.state, d.reasons) for d in freeze.status(project, READS)}


def test_documents_come_from_quarto_yml(project):
    assert freeze.documents(project) == ["a.qmd", "b.qmd", "notes.qmd"]  # the commented-out name is no document


def test_first_render_executes_everything_then_everything_is_fresh(project):
    assert states(project) == {"a.qmd": ("missing", []), "b.qmd": ("missing", []), "notes.qmd": ("no code", [])}
    assert quarto_render(project) == ["a.qmd", "b.qmd"]
    assert states(project) == {"a.qmd": ("fresh", []), "b.qmd": ("fresh", []), "notes.qmd": ("no code", [])}
    record = json.loads((project / freeze.RECORD).read_text())["documents"]
    assert set(record["a.qmd"]) == {"results/exp-a", "code/pkg"}
    assert quarto_render(project) == []  # frozen: nothing executes


def test_changed_metrics_make_exactly_that_document_stale_and_invalidate_it(project):
    quarto_render(project)
    b_frozen = project / "_freeze" / "b" / "execute-results" / "html.json"
    b_before = (b_frozen.read_bytes(), b_frozen.stat().st_mtime_ns)
    store_run(project, "exp-a", accuracy=0.9)  # `hw3 train ... --retrain` after the render
    assert states(project)["a.qmd"] == ("stale", ["runs changed: results/exp-a"])
    assert states(project)["b.qmd"] == ("fresh", [])
    lines = []
    assert quarto_render(project, log=lines.append) == ["a.qmd"]  # exactly the stale document re-executes
    assert any("a.qmd is stale (runs changed: results/exp-a)" in line for line in lines), lines
    assert not any("b.qmd" in line for line in lines)
    assert (b_frozen.read_bytes(), b_frozen.stat().st_mtime_ns) == b_before  # untouched: still frozen
    assert states(project)["a.qmd"] == ("fresh", [])


def test_invalidate_removes_the_stale_frozen_output(project):
    quarto_render(project)
    store_run(project, "exp-b", accuracy=0.5)
    docs = {d.path: d for d in freeze.invalidate(project, READS, log=lambda line: None)}
    assert docs["b.qmd"].state == "missing" and docs["b.qmd"].reasons == ["runs changed: results/exp-b"]
    assert not (project / "_freeze" / "b").exists() and (project / "_freeze" / "a").exists()
    assert states(project)["b.qmd"] == ("missing", [])


def test_code_and_source_changes(project):
    quarto_render(project)
    (project / "code" / "pkg" / "facts.py").write_text("X = 2\n")
    assert states(project)["a.qmd"] == ("stale", ["code changed: code/pkg"])
    assert quarto_render(project) == ["a.qmd", "b.qmd"]
    (project / "b.qmd").write_text(f"# B, edited\n\n{CELL}")
    assert states(project)["b.qmd"] == ("stale", ["source changed"])
    docs = {d.path: d for d in freeze.invalidate(project, READS, log=lambda line: None)}
    assert not docs["b.qmd"].invalidate and (project / "_freeze" / "b").exists()  # Quarto sees this one itself
    assert quarto_render(project) == ["b.qmd"]


def test_hidden_files_of_the_run_store_are_no_input(project):
    quarto_render(project)
    partial = project / "results" / "exp-a" / ".run2.partial"
    partial.mkdir()
    (partial / "checkpoint.pt").write_bytes(b"half-trained")
    (project / "results" / ".reproduce-all.json").write_text("{}")
    assert states(project)["a.qmd"] == ("fresh", [])


def test_a_frozen_document_without_a_record_is_stale(project):
    quarto_render(project)
    (project / freeze.RECORD).unlink()
    assert states(project)["a.qmd"] == ("stale", ["no record of the runs it was rendered from"])


def test_a_document_missing_from_the_map_reads_everything(project):
    reads = {k: v for k, v in READS.items() if k != "b.qmd"}
    quarto_render(project, reads=reads)
    assert {d.path: d.state for d in freeze.status(project, reads)}["b.qmd"] == "fresh"
    store_run(project, "exp-a", accuracy=0.1)
    assert {d.path: d.state for d in freeze.status(project, reads)} == {"a.qmd": "stale", "b.qmd": "stale",
                                                                     "notes.qmd": "no code"}


def test_outputs_rendered_elsewhere_are_recorded_from_their_commit(project, tmp_path):
    quarto_render(project)
    old = tmp_path / "checkout-at-render"  # the tree as it was when _freeze/ was rendered
    shutil.copytree(project, old)
    store_run(project, "exp-a", accuracy=0.95)  # since then: a retrained run
    (project / freeze.RECORD).unlink()  # _freeze/ copied in without a record
    assert freeze.record_from(project, old, READS) == ["a.qmd", "b.qmd"]
    assert states(project) == {"a.qmd": ("stale", ["runs changed: results/exp-a"]), "b.qmd": ("fresh", []),
                               "notes.qmd": ("no code", [])}


# --- without PyTorch: the command line, the pre-render script --------------------------------------


def no_torch_env(tmp_path):
    """PYTHONPATH with a `torch` that cannot be imported, and nothing else from the project."""
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    for name in ("torch", "numpy", "pandas"):
        (shim / f"{name}.py").write_text(f"raise ImportError('the freeze guard imported {name}')\n")
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(shim)}


def test_the_guard_runs_as_a_script_without_torch(project, tmp_path):
    quarto_render(project)
    store_run(project, "exp-a", accuracy=0.7)
    env = no_torch_env(tmp_path)
    script = [sys.executable, str(ROOT / "code" / "hw3" / "freeze.py"), "--project", str(project)]
    out = subprocess.run([*script, "--check"], capture_output=True, text=True, env=env)
    assert out.returncode == 1, out.stderr  # a.qmd and b.qmd read everything (not in the real map): stale
    assert re.search(r"a\.qmd\s+stale\s+runs changed: results", out.stdout), out.stdout
    # Quarto's pre-render step runs in the project folder
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "pre-render.py")], capture_output=True, text=True,
                         env=env, cwd=project)
    assert out.returncode == 0, out.stderr
    assert "a.qmd is stale (runs changed: results" in out.stdout and not (project / "_freeze" / "a").exists()
    out = subprocess.run(script, capture_output=True, text=True, env=env)
    assert re.search(r"a\.qmd\s+missing", out.stdout), out.stdout


def test_quarto_runs_the_guard_before_every_render():
    config = (ROOT / "_quarto.yml").read_text(encoding="utf-8")
    assert re.search(r"^  pre-render: scripts/pre-render\.py\s*(#.*)?$", config, re.M)
    assert (ROOT / "scripts" / "pre-render.py").exists()


# --- the real project's map ---------------------------------------------------------------------------


def test_every_executed_document_declares_what_it_reads():
    docs = freeze.documents(ROOT)
    assert docs and set(docs) <= set(freeze.DOCUMENTS), "add the new document to hw3.freeze.DOCUMENTS"
    for doc in docs:
        entries = [e.lstrip("!") for e in freeze.DOCUMENTS[doc]]
        for entry in entries:
            assert list((ROOT).glob(entry)) or (ROOT / entry).exists(), f"{doc}: {entry} does not exist"
        # a results/<experiment> folder the text names is among its inputs
        named = set(re.findall(r"results/([\w-]+)/", (ROOT / doc).read_text(encoding="utf-8")))
        for experiment in named:
            assert f"results/{experiment}" in entries or "results" in entries, f"{doc} reads results/{experiment}"


# --- the repository: _freeze/ committed, the publishing workflow executes only what is stale ---------


def test_freeze_and_its_record_are_not_ignored():
    for path in ("_freeze/gan/execute-results/html.json", "_freeze/site_libs/clipboard/clipboard.min.js",
                 freeze.RECORD):
        out = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert out.returncode == 1, f"{path} is ignored by .gitignore"


def test_the_workflow_installs_python_only_when_a_document_must_be_executed():
    yaml = pytest.importorskip("yaml")
    (job,) = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text())["jobs"].values()
    steps = job["steps"]
    guard = next(i for i, s in enumerate(steps) if "code/hw3/freeze.py --check" in s.get("run", ""))
    assert steps[guard]["id"] == "freeze" and "execute=true" in steps[guard]["run"]
    setup = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/setup-python"))
    install = next(i for i, s in enumerate(steps) if "pip install" in s.get("run", ""))
    publish = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("quarto-dev/quarto-actions/publish"))
    assert guard < setup < install < publish
    for i in (setup, install):
        assert steps[i]["if"] == "steps.freeze.outputs.execute == 'true'"
    assert "if" not in steps[publish]  # always renders: from _freeze/ alone when nothing is stale
