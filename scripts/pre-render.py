"""Quarto's pre-render step (`project: pre-render` in _quarto.yml): the freeze guard, `hw3.freeze --invalidate`.

Deletes the frozen output of each document whose stored runs or package code changed since it was
rendered, so Quarto re-executes exactly those, says which and why, and records the current digests
in freeze-digests.json. Standard library only: it runs with whichever Python Quarto finds, before
the document kernels start, and in the publishing workflow before any package is installed.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "code"))
from hw3 import freeze  # noqa: E402  (hw3/__init__.py imports nothing)

sys.exit(freeze.main(["--invalidate", "--project", str(Path.cwd())]))
