"""The freeze guard: a document's frozen output is reused only while the runs and code it reads are unchanged.

With `freeze: auto` Quarto re-executes a document only when its own `.qmd` changes: the `hash` in
`_freeze/<doc>/execute-results/<format>.json` is the MD5 of the `.qmd` (quarto-cli issue 6793 asks
for more). A retrained run or a change to the package would leave stale numbers in the next render.
So each document also has its *inputs*, the folders and files its code reads (`DOCUMENTS`: its
results/<experiment>/ folders, its part of the package, the core modules, the exported web/ weights),
and this guard keeps a digest (SHA-256 of every file) of each input in `freeze-digests.json`.

Before every render, Quarto's pre-render script (scripts/pre-render.py) runs `--invalidate`: it
deletes the frozen output of each document whose inputs no longer match the record (so Quarto
executes exactly those), prints which and why, and records the current inputs. Every frozen output
left after that step was rendered from the recorded inputs: either it was fresh, or Quarto is about
to execute it (from scratch, or because its `.qmd` changed) with those inputs.

    hw3 freeze                         fresh / stale (source changed, runs changed, code changed) / missing
    python code/hw3/freeze.py --check  the same, exit status 1 if anything must be executed (CI)
    hw3 freeze --invalidate            what the pre-render step does

Standard library only (no PyTorch, no YAML): the publishing workflow runs it before it decides
whether it needs the Python stack at all. The record survives commits: it is the guard's own file,
beside `_freeze/`, never one of Quarto's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

RECORD = "freeze-digests.json"
FREEZE = "_freeze"

# The package code every document runs (cli.py and this module are run by no document). An entry is a
# file, a folder (every file under it) or a glob, relative to the project; "!path" leaves a file out.
CORE = ("code/hw3/*.py", "!code/hw3/cli.py", "!code/hw3/freeze.py")
DOCUMENTS: dict[str, tuple[str, ...]] = {
    # the front page: every stored run, the facts of every part, and the CLI's list of report runs
    "index.qmd": ("results", "code/hw3", "!code/hw3/freeze.py"),
    **{f"theory/{essay}.qmd": (f"results/theory-{essay}", "code/hw3/theory", *CORE)
       for essay in ("transfer", "layers", "regularization", "siamese", "activations")},
    "gan.qmd": ("results/gan", "results/judge", "code/hw3/gan", "web/generator.weights.js", *CORE),
    "attention.qmd": ("results/sentiment", "results/tfidf", "code/hw3/sentiment", "web/sentiment.weights.js", *CORE),
    "references.qmd": (),
}
# a document missing from DOCUMENTS reads, as far as the guard knows, everything
EVERYTHING = ("results", "code/hw3", "web", "!code/hw3/freeze.py")

_CODE_CELL = re.compile(r"^\s*```+\s*\{(?:python|r|julia|ojs)\b|`\{python\}", re.M)


@dataclass
class Document:
    path: str  # relative to the project, e.g. "theory/transfer.qmd"
    state: str  # "fresh", "stale", "missing" (never rendered, or invalidated) or "no code" (nothing to freeze)
    reasons: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)  # input -> digest now

    @property
    def invalidate(self) -> bool:
        """Stale for a reason Quarto cannot see: its inputs changed, or none were recorded."""
        return self.state == "stale" and any(r != "source changed" for r in self.reasons)


# --- digests -----------------------------------------------------------------------------------------


class Digests:
    """SHA-256 digests of inputs; each file is read once per instance."""

    def __init__(self, project: Path):
        self.project = Path(project)
        self._files: dict[Path, str] = {}

    def _file(self, path: Path) -> str:
        if path not in self._files:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            self._files[path] = h.hexdigest()
        return self._files[path]

    def files(self, entry: str) -> list[Path]:
        """The files an entry stands for, sorted; hidden files and folders (interrupted runs' `.partial`,
        `hw3 reproduce`'s state) and `__pycache__` are not inputs."""
        root = self.project
        if any(ch in entry for ch in "*?["):
            found = root.glob(entry)
        elif (root / entry).is_dir():
            found = (root / entry).rglob("*")
        else:
            found = [root / entry]
        keep = []
        for p in found:
            rel = p.relative_to(root).parts
            if p.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in rel):
                keep.append(p)
        return sorted(keep)

    def inputs(self, entries: tuple[str, ...]) -> dict[str, str]:
        """{entry: digest} for a document's entries (a missing input has the digest of no files)."""
        excluded = {self.project / e[1:] for e in entries if e.startswith("!")}
        out = {}
        for entry in (e for e in entries if not e.startswith("!")):
            h = hashlib.sha256()
            for p in self.files(entry):
                if p not in excluded:
                    h.update(p.relative_to(self.project).as_posix().encode() + b"\0" + self._file(p).encode() + b"\n")
            out[entry] = h.hexdigest()
        return out


# --- the project -------------------------------------------------------------------------------------


def documents(project: Path) -> list[str]:
    """The documents `_quarto.yml` lists (book chapters and appendices), in its order."""
    config = Path(project) / "_quarto.yml"
    if not config.exists():
        raise FileNotFoundError(f"{config} not found: not a Quarto project")
    text = re.sub(r"#.*", "", config.read_text(encoding="utf-8"))
    found = re.findall(r"[\w./-]+\.qmd\b", text)
    return [d for d in dict.fromkeys(found) if (Path(project) / d).exists()]


def frozen_hashes(project: Path, doc: str) -> dict[str, str]:
    """{format: hash} of a document's frozen outputs (`_freeze/<doc>/execute-results/<format>.json`)."""
    folder = Path(project) / FREEZE / Path(doc).with_suffix("") / "execute-results"
    out = {}
    for path in sorted(folder.glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text(encoding="utf-8")).get("hash", "")
        except (OSError, ValueError):
            out[path.stem] = ""
    return out


def read_record(project: Path) -> dict[str, dict[str, str]]:
    path = Path(project) / RECORD
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("documents", {})


def write_record(project: Path, inputs: dict[str, dict[str, str]]) -> None:
    """Write the record (sorted, no dates: it changes only when inputs do), atomically."""
    path = Path(project) / RECORD
    body = {"about": "Written by hw3.freeze before each render (Quarto's pre-render): SHA-256 digests of the "
                     "stored runs and package code each document's frozen output in _freeze/ was rendered from.",
            "documents": {doc: dict(sorted(d.items())) for doc, d in sorted(inputs.items())}}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def status(project: Path, reads: dict[str, tuple[str, ...]] | None = None) -> list[Document]:
    """Each document's state against its frozen output, the record and the current inputs.
    `reads` maps documents to inputs (default `DOCUMENTS`; a document it lacks reads `EVERYTHING`)."""
    project = Path(project)
    reads = DOCUMENTS if reads is None else reads
    record, digests = read_record(project), Digests(project)
    out = []
    for doc in documents(project):
        source = (project / doc).read_bytes()
        now = digests.inputs(reads.get(doc, EVERYTHING))
        frozen = frozen_hashes(project, doc)
        if not frozen:
            executes = _CODE_CELL.search(source.decode("utf-8", errors="replace"))
            out.append(Document(doc, "missing" if executes else "no code", [], now))
            continue
        reasons = []
        if any(h != hashlib.md5(source).hexdigest() for h in frozen.values()):
            reasons.append("source changed")
        if doc not in record:
            reasons.append("no record of the runs it was rendered from")
        else:
            before = record[doc]
            changed = [entry for entry in now if before.get(entry) != now[entry]]
            for kind, prefix in (("runs", "results"), ("code", "code/"), ("inputs", "")):
                mine = [e for e in changed if e.startswith(prefix)]
                changed = [e for e in changed if e not in mine]
                if mine:
                    reasons.append(f"{kind} changed: {', '.join(mine)}")
        out.append(Document(doc, "stale" if reasons else "fresh", reasons, now))
    return out


def invalidate(project: Path, reads: dict[str, tuple[str, ...]] | None = None, log=print) -> list[Document]:
    """Delete the frozen output of every document whose inputs changed (Quarto then executes exactly
    those, and the ones whose `.qmd` changed), say which and why, and record the current inputs.
    Returns the documents as they stand afterwards (an invalidated one is missing, its reasons kept)."""
    project = Path(project)
    docs = status(project, reads)
    for d in docs:
        if d.invalidate:
            shutil.rmtree(project / FREEZE / Path(d.path).with_suffix(""), ignore_errors=True)
            log(f"freeze: {d.path} is stale ({'; '.join(d.reasons)}): its frozen output is removed, Quarto executes it")
            d.state = "missing"
        elif d.state == "stale":
            log(f"freeze: {d.path} is stale (source changed): Quarto executes it")
        elif d.state == "missing":
            log(f"freeze: {d.path} has no frozen output: Quarto executes it")
    fresh = sum(d.state == "fresh" for d in docs)
    log(f"freeze: {fresh} of {sum(d.state != 'no code' for d in docs)} documents reuse their frozen output")
    record = read_record(project)
    record.update({d.path: d.inputs for d in docs})
    write_record(project, {k: v for k, v in record.items() if k in {d.path for d in docs}})
    return docs


def record_from(project: Path, tree: Path, reads: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Record, for each document with frozen output, the inputs as they are in `tree`: a checkout of the
    commit those outputs were rendered at (a render made elsewhere, e.g. on a machine with Quarto).
    Returns the documents recorded. The guard then compares that record with the inputs here."""
    project, reads = Path(project), DOCUMENTS if reads is None else reads
    digests = Digests(Path(tree))
    record = read_record(project)
    done = [doc for doc in documents(project) if frozen_hashes(project, doc)]
    record.update({doc: digests.inputs(reads.get(doc, EVERYTHING)) for doc in done})
    write_record(project, record)
    return done


def table(docs: list[Document]) -> str:
    width = max([len("document"), *(len(d.path) for d in docs)])
    rows = [f"{'document':<{width}}  {'state':<8}  why", *(
        f"{d.path:<{width}}  {d.state:<8}  {'; '.join(d.reasons)}".rstrip() for d in docs)]
    return "\n".join(rows)


def default_project() -> Path:
    """The current folder if it is the Quarto project (Quarto runs pre-render scripts there), else the
    checkout this file belongs to."""
    here = Path.cwd()
    if (here / "_quarto.yml").exists():
        return here
    return Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hw3 freeze", description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, help="the Quarto project (default: here, else this checkout)")
    parser.add_argument("--invalidate", action="store_true",
                        help="delete stale frozen outputs and record the current inputs (the pre-render step)")
    parser.add_argument("--check", action="store_true", help="exit with status 1 if any document is stale or missing")
    parser.add_argument("--record-from", type=Path, metavar="TREE",
                        help="for _freeze/ entries rendered elsewhere: record the inputs as they are in TREE, a "
                             "checkout of the commit they were rendered at")
    args = parser.parse_args(argv)
    project = args.project or default_project()
    if args.record_from:
        print(f"recorded the inputs in {args.record_from} for {', '.join(record_from(project, args.record_from))}")
    if args.invalidate:
        docs = invalidate(project)
    else:
        docs = status(project)
        print(table(docs))
    if args.check and any(d.state in ("stale", "missing") for d in docs):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
