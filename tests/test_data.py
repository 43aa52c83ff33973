"""hw3.data on tiny synthetic fixtures (IDX files, an aclImdb tree and tarball, corrupted copies), and on
the real mirror when HW3_DATA_MIRROR is set."""

import gzip
import hashlib
import os
import struct
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from torchvision.datasets import MNIST

from hw3 import data

from conftest import needs_data


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to reach the network fails, as on the CI machines."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def idx_bytes(array: np.ndarray) -> bytes:
    dtype_code = 0x08  # unsigned byte
    header = struct.pack(">HBB", 0, dtype_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def mnist_mirror(tmp_path, monkeypatch):
    """A mirror of four tiny IDX .gz files; MNIST.resources patched to their MD5 sums."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(20) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(10)[::-1] % 10,
    }
    mirror = tmp_path / "mirror" / "mnist"
    mirror.mkdir(parents=True)
    resources = []
    for name, arr in arrays.items():
        blob = gzip.compress(idx_bytes(arr), mtime=0)
        (mirror / f"{name}.gz").write_bytes(blob)
        resources.append((f"{name}.gz", hashlib.md5(blob).hexdigest()))
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setenv("HW3_DATA", str(tmp_path / "cache"))
    return mirror.parent, arrays


def test_mnist_from_mirror_without_network(mnist_mirror, tmp_path):
    mirror, arrays = mnist_mirror
    X, y = data.mnist(train=True, mirror=mirror)
    assert X.dtype == torch.uint8 and X.shape == (20, 28, 28)
    assert torch.equal(X, torch.from_numpy(arrays["train-images-idx3-ubyte"].astype(np.uint8)))
    assert y.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    Xt, yt = data.mnist(train=False)  # second call: from the cache, mirror no longer needed
    assert Xt.shape == (10, 28, 28) and yt.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()


def test_corrupt_mnist_file_is_rejected_naming_both_sums_and_never_used(mnist_mirror, tmp_path):
    mirror, _ = mnist_mirror
    bad = mirror / "mnist" / "train-labels-idx1-ubyte.gz"
    expected = hashlib.md5(bad.read_bytes()).hexdigest()
    bad.write_bytes(bad.read_bytes()[:-3] + b"xyz")
    actual = hashlib.md5(bad.read_bytes()).hexdigest()
    with pytest.raises(data.DataError) as err:
        data.mnist(train=True, mirror=mirror)
    msg = str(err.value)
    assert "train-labels-idx1-ubyte.gz" in msg and expected in msg and actual in msg
    raw = tmp_path / "cache" / "MNIST" / "raw"
    assert not (raw / "train-labels-idx1-ubyte.gz").exists()
    assert not (raw / "train-labels-idx1-ubyte").exists()


def test_corrupt_cache_entry_is_replaced_from_the_mirror(mnist_mirror, tmp_path):
    mirror, arrays = mnist_mirror
    raw = tmp_path / "cache" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    _, yt = data.mnist(train=False, mirror=mirror)
    assert yt.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()


def test_no_network_and_no_mirror_names_the_files_and_the_variable(mnist_mirror, monkeypatch):
    monkeypatch.delenv("HW3_DATA_MIRROR", raising=False)
    with pytest.raises(data.DataError) as err:
        data.mnist(train=True)
    msg = str(err.value)
    assert "train-images-idx3-ubyte.gz" in msg and "HW3_DATA_MIRROR" in msg


# --- IMDb --------------------------------------------------------------------------------------------

REVIEWS = {
    "train/pos": [(1, 9, "Great film.<br /><br />Loved it 😀"), (3, 10, "Wonderful; superb cast.")],
    "train/neg": [(2, 1, "Awful.<br />Boring!"), (0, 4, "Meh, not good.")],
    "test/pos": [(5, 8, "Très bien, a joy."), (6, 7, "Good.")],
    "test/neg": [(7, 2, "Bad."), (8, 3, "Dull and slow.")],
}


@pytest.fixture
def small_imdb(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "IMDB_PER_PART", 2)
    monkeypatch.setenv("HW3_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("HW3_DATA_MIRROR", raising=False)
    tree = tmp_path / "tree" / "aclImdb"
    for part, items in REVIEWS.items():
        (tree / part).mkdir(parents=True)
        for rid, rating, text in items:
            (tree / part / f"{rid}_{rating}.txt").write_text(text, encoding="utf-8")
    (tree / "README").write_text("readme")
    return tree


def make_tarball(tree, path):
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tree, arcname="aclImdb")
    return path


def test_imdb_from_labelled_archive_in_mirror(small_imdb, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "imdb").mkdir(parents=True)
    make_tarball(small_imdb, mirror / "imdb" / "aclImdb_labeled.tar.gz")
    train = data.imdb("train", mirror=mirror)
    assert [(r.id, r.rating, r.label) for r in train] == [(0, 4, 0), (2, 1, 0), (1, 9, 1), (3, 10, 1)]
    assert train[1].text == "Awful. Boring!"  # <br /> removed
    assert train[2].text == "Great film. Loved it 😀"  # UTF-8 kept
    test = data.imdb("test")  # from the cache now
    assert [r.text for r in test][2] == "Très bien, a joy."
    assert not list((tmp_path / "cache").glob(".aclImdb*"))  # no temporary folders left


def test_imdb_from_extracted_folder_in_mirror(small_imdb, tmp_path):
    assert len(data.imdb("test", mirror=small_imdb.parent)) == 4


def test_truncated_archive_gives_clear_error_and_leaves_cache_clean(small_imdb, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = make_tarball(small_imdb, tmp_path / "full.tar.gz")
    (mirror / "aclImdb_labeled.tar.gz").write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(data.DataError, match="truncated"):
        data.imdb("train", mirror=mirror)
    cache = tmp_path / "cache"
    assert not (cache / "aclImdb").exists() and not list(cache.glob(".aclImdb*"))


def test_interrupted_extraction_never_leaves_a_tree_that_counts(small_imdb, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    make_tarball(small_imdb, mirror / "aclImdb_labeled.tar.gz")
    real_extract, calls = tarfile.TarFile.extract, []

    def dying_extract(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_extract(self, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "extract", dying_extract)
    with pytest.raises(KeyboardInterrupt):
        data.imdb("train", mirror=mirror)
    assert not (tmp_path / "cache" / "aclImdb").exists()
    monkeypatch.setattr(tarfile.TarFile, "extract", real_extract)
    assert len(data.imdb("train", mirror=mirror)) == 4


def test_official_archive_with_wrong_md5_is_rejected(small_imdb, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    make_tarball(small_imdb, mirror / "aclImdb_v1.tar.gz")
    with pytest.raises(data.DataError, match=f"expected md5 {data.IMDB_MD5}"):
        data.imdb("train", mirror=mirror)


def test_incomplete_local_copy_is_rejected_with_counts(small_imdb, tmp_path):
    next((small_imdb / "test" / "neg").glob("*.txt")).unlink()
    with pytest.raises(data.DataError, match="test/neg: 1 reviews"):
        data.imdb("train", mirror=small_imdb.parent)


def test_imdb_without_network_or_mirror_names_files_and_variable(small_imdb):
    with pytest.raises(data.DataError, match="aclImdb_v1.tar.gz.*HW3_DATA_MIRROR"):
        data.imdb("train")


def test_unknown_split_is_an_error():
    with pytest.raises(ValueError, match="split"):
        data.imdb("validation")


# --- the real mirror ---------------------------------------------------------------------------------


@needs_data
def test_real_mnist_counts_and_first_labels():
    X, y = data.mnist(train=True)
    Xt, yt = data.mnist(train=False)
    assert X.shape == (60_000, 28, 28) and Xt.shape == (10_000, 28, 28)
    assert y[:5].tolist() == [5, 0, 4, 1, 9] and yt[:5].tolist() == [7, 2, 1, 0, 4]
    assert torch.bincount(y).min() > 5000


@needs_data
def test_real_mirror_checksums():
    mirror = data.utils.data_mirror()
    if mirror is None:
        pytest.skip("checksums are checked on the mirror itself")
    for name, md5 in data.mnist_resources():
        data.verify_md5(mirror / "mnist" / name, md5)


@needs_data
def test_real_imdb_counts_labels_and_a_known_first_review():
    train, test = data.imdb("train"), data.imdb("test")
    assert len(train) == len(test) == 25_000
    assert sum(r.label for r in train) == sum(r.label for r in test) == 12_500
    assert all((r.rating >= 7) == bool(r.label) for r in train)
    first = train[0]
    assert (first.id, first.rating, first.label) == (0, 3, 0)
    assert first.text.startswith("Story of a man who has unnatural feelings for a pig.")
    assert not any("<br" in r.text for r in train[:2000])


def test_md5sum_streams_large_files(tmp_path):
    p = tmp_path / "blob"
    p.write_bytes(os.urandom(3 << 20))
    assert data.md5sum(p, chunk=1 << 16) == hashlib.md5(p.read_bytes()).hexdigest()



def test_lazy_reviews_are_imdbs_reviews_read_on_demand(small_imdb):
    eager = data.imdb("test", mirror=small_imdb.parent)
    lazy = data.imdb_reviews("test", mirror=small_imdb.parent)
    assert len(lazy) == len(eager) and not lazy._read, "nothing read before it is indexed"
    assert lazy[2] == eager[2] and list(lazy._read) == [2]
    assert lazy[-1] == eager[-1] and lazy[:] == eager
    with pytest.raises(IndexError):
        lazy[len(eager)]


def test_idx_files_read_without_torchvision(tmp_path):
    """MNIST's IDX format (what torchvision's MNIST reads), on a tiny file of known content."""
    images = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    (tmp_path / "x").write_bytes(images + bytes(range(12)))
    X = data.read_idx(tmp_path / "x")
    assert X.dtype == torch.uint8 and X.shape == (2, 2, 3) and X[1, 1, 2] == 11
    (tmp_path / "y").write_bytes(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([7, 0, 9]))
    assert data.read_idx(tmp_path / "y").tolist() == [7, 0, 9]
    (tmp_path / "z").write_bytes(b"\x00\x00\x0d\x01" + (1).to_bytes(4, "big") + b"\x00\x00\x00\x00")
    with pytest.raises(data.DataError, match="IDX"):
        data.read_idx(tmp_path / "z")
