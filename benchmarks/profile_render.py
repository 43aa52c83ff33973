"""Where a render's time goes: each document executed as Quarto's Jupyter engine does (one fresh kernel per
document, cells in order, inline expressions), against the stored runs, with a time per step.

    HW3_NO_TRAIN=1 HW3_DATA_MIRROR=../shared/data python benchmarks/profile_render.py
    python benchmarks/profile_render.py --docs gan attention --top 5

Reports per document: kernel start, each code cell (the slowest first), the inline expressions, and the
total; then the sum over the book (what a render without `_freeze/` spends executing, before Pandoc and
Typst). Prints figures only; nothing is asserted. A busy machine inflates every figure: compare shares.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from quarto import INLINE, find_documents, parse, to_notebook  # noqa: E402


def profile(path: Path) -> dict:
    from nbclient import NotebookClient
    from nbclient.util import run_sync

    doc = parse(path)
    nb = to_notebook(doc)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    steps: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    with client.setup_kernel():
        steps.append(("kernel start", time.perf_counter() - t0))
        inline = 0.0
        for index, (cell, nb_cell) in enumerate(zip(doc.cells, nb.cells, strict=True)):
            t = time.perf_counter()
            if cell.kind == "code":
                if cell.options.get("eval", True) is False:
                    continue
                client.execute_cell(nb_cell, index)
                label = cell.options.get("label") or cell.source.strip().split("\n")[0][:60]
                steps.append((f"cell {cell.line}: {label}", time.perf_counter() - t))
            elif exprs := INLINE.findall(cell.source):
                named = {f"e{i}": e.strip() for i, e in enumerate(exprs)}
                msg_id = client.kc.execute("", silent=True, store_history=False, user_expressions=named)
                run_sync(client.async_wait_for_reply)(msg_id)
                inline += time.perf_counter() - t
        steps.append(("inline expressions", inline))
    return {"doc": str(path.relative_to(ROOT)), "steps": steps, "total": time.perf_counter() - t0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", nargs="*", default=[], help="only documents whose path contains one of these")
    p.add_argument("--top", type=int, default=4, help="cells to list per document (the slowest)")
    args = p.parse_args()
    os.environ.setdefault("HW3_NO_TRAIN", "1")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    docs = [d for d in find_documents() if not args.docs or any(s in str(d) for s in args.docs)]
    grand = 0.0
    for d in docs:
        r = profile(d)
        grand += r["total"]
        kernel = dict(r["steps"])["kernel start"]
        cells = sorted((s for s in r["steps"] if s[0].startswith("cell")), key=lambda s: -s[1])
        print(f"{r['doc']:<28} {r['total']:6.1f} s  (kernel start {kernel:.1f} s, "
              f"inline {dict(r['steps'])['inline expressions']:.1f} s)")
        for name, sec in cells[: args.top]:
            print(f"    {sec:6.1f} s  {name}")
    print(f"{'all documents':<28} {grand:6.1f} s")


if __name__ == "__main__":
    main()
