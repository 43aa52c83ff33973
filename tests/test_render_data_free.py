"""Issue 20: a render reads only results/. Every document executes against the committed runs with no
data set anywhere: an empty data cache, no mirror, and HW3_NO_DATA=1, so that any read of MNIST or IMDb
fails loudly (hw3.data.check_allowed) instead of downloading."""

import os

import pytest

from hw3 import data, report

from quarto import ROOT, execute, find_documents, parse

DOCS = [p for p in find_documents() if os.environ.get("HW3_DOCS", "") in str(p.relative_to(ROOT))]


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    empty = tmp_path / "data"
    empty.mkdir()
    for name in ("HW3_QUICK", "HW3_RESULTS", "HW3_DATA_MIRROR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HW3_DATA", str(empty))
    monkeypatch.setenv("HW3_NO_TRAIN", "1")
    monkeypatch.setenv("HW3_NO_DATA", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return empty


def test_data_reads_fail_loudly_when_forbidden(no_data):
    with pytest.raises(data.DataError, match="HW3_NO_DATA"):
        data.mnist(True)
    with pytest.raises(data.DataError, match="HW3_NO_DATA"):
        data.prepare_imdb()


@pytest.mark.slow
@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_document_renders_from_results_alone(path, no_data):
    if missing := report.missing():
        pytest.fail(f"runs the book shows are not committed: {', '.join(missing)}")
    nb = execute(parse(path), cwd=ROOT)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert not any(no_data.iterdir()), "the render wrote into the data cache"
