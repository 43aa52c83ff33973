import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/quarto.py

from hw3 import utils  # noqa: E402


def have_real_data() -> bool:
    """Real MNIST and IMDb reachable: a mirror is set, or the cache already holds both."""
    if os.environ.get("HW3_DATA_MIRROR"):
        return True
    root = utils.data_root()
    return (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists() and (root / "aclImdb").is_dir()


needs_data = pytest.mark.skipif(not have_real_data(), reason="needs HW3_DATA_MIRROR (real MNIST/IMDb)")


@pytest.fixture
def quick_env(tmp_path, monkeypatch):
    """The quick profile with a temporary results folder."""
    monkeypatch.setenv("HW3_QUICK", "1")
    monkeypatch.setenv("HW3_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"
