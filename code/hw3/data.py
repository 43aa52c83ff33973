"""MNIST and IMDb, offline-safe and checksum-verified.

Sources, in order: the cache (`data/`, or `HW3_DATA`), a local mirror folder (`HW3_DATA_MIRROR` or the
`--mirror` flag) holding the official files, the official download. With a mirror, no network is
touched. A file whose checksum differs is rejected, named with both sums, and never used.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from . import utils


class DataError(RuntimeError):
    """Data missing, corrupt or of the wrong layout; the message says what to do."""


def check_allowed(what: str) -> None:
    """Rendering reads only results/: with HW3_NO_DATA=1 (set by `make report` and `hw3 render`) any read of
    a data set is an error naming it, instead of a silent download or a read of the cache."""
    if utils.env_flag("HW3_NO_DATA"):
        raise DataError(f"{what} was requested with HW3_NO_DATA=1: a chapter being rendered must read only the "
                        "stored runs under results/ (store what it shows with the run, e.g. "
                        "`python -m hw3.gan --rescore` or `python -m hw3.sentiment --artefacts`)")


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_md5(path: Path, expected: str) -> None:
    actual = md5sum(path)
    if actual != expected:
        raise DataError(f"checksum mismatch for {path}: expected md5 {expected}, got {actual}; the file is corrupt "
                        "or not the official one and was not used")


def _mirror_file(mirror: Path | None, name: str, subdirs: tuple[str, ...]) -> Path | None:
    if mirror is None:
        return None
    for sub in ("", *subdirs):
        candidate = Path(mirror) / sub / name
        if candidate.exists():
            return candidate
    return None


def _copy_atomic(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        Path(tmp).unlink(missing_ok=True)


# --- MNIST ------------------------------------------------------------------------------------------


def mnist_resources() -> list[tuple[str, str]]:
    """(file name, md5) of the four official MNIST files, as torchvision checks them."""
    from torchvision.datasets import MNIST

    return list(MNIST.resources)


def prepare_mnist(root: Path | None = None, mirror: Path | None = None) -> Path:
    """Make sure `<root>/MNIST/raw` holds the verified, extracted MNIST files; return `root`.

    Files come from the cache, else the mirror (verified before copying), else torchvision's
    download (which checks the same MD5 sums).
    """
    from torchvision.datasets import MNIST

    root = Path(root or utils.data_root())
    mirror = Path(mirror) if mirror else utils.data_mirror()
    raw = root / "MNIST" / "raw"
    resources = mnist_resources()
    extracted = [raw / Path(name).stem for name, _ in resources]
    if all(p.exists() for p in extracted):
        return root

    missing = []
    for name, md5 in resources:
        cached = raw / name
        if cached.exists() and md5sum(cached) != md5:
            cached.unlink()  # a corrupt cache entry is never used
        if cached.exists():
            continue
        src = _mirror_file(mirror, name, ("mnist", "MNIST", "MNIST/raw"))
        if src is not None:
            verify_md5(src, md5)
            _copy_atomic(src, cached)
        else:
            missing.append(name)

    if missing and mirror is not None:
        raise DataError(f"the mirror {mirror} lacks {', '.join(missing)} (expected in it or in its mnist/ folder)")
    try:
        for train in (True, False):  # verifies MD5s, then extracts (downloads only what is missing)
            MNIST(str(root), train=train, download=True)
    except (RuntimeError, urllib.error.URLError, OSError) as e:
        if missing:
            raise DataError(_no_data_message("MNIST", missing)) from e
        raise DataError(f"could not prepare MNIST in {raw}: {e}") from e
    return root


def mnist(train: bool = True, *, root: Path | None = None, mirror: Path | None = None):
    """MNIST images and labels as tensors: X uint8 (N, 28, 28), y int64 (N,).

    The extracted files (`prepare_mnist` verifies them when it extracts them) are read directly, as
    torchvision's `MNIST` reads them, without importing torchvision: seconds of a render that needs MNIST."""
    check_allowed("MNIST")
    root = Path(root or utils.data_root())
    raw = root / "MNIST" / "raw"
    prefix = "train" if train else "t10k"
    images, labels = raw / f"{prefix}-images-idx3-ubyte", raw / f"{prefix}-labels-idx1-ubyte"
    if not (images.exists() and labels.exists()):
        prepare_mnist(root, mirror)
    return read_idx(images), read_idx(labels).long()


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file of unsigned bytes (MNIST's format): magic 0x00000803 (3-D) or 0x00000801 (1-D), then
    the sizes as big-endian int32, then the data."""
    buf = Path(path).read_bytes()
    if buf[:3] != b"\x00\x00\x08":
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    ndim = buf[3]
    shape = [int.from_bytes(buf[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    array = np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)
    return torch.from_numpy(array.copy())


# --- IMDb -------------------------------------------------------------------------------------------

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_ARCHIVE = "aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
IMDB_LOCAL_ARCHIVES = (IMDB_ARCHIVE, "aclImdb_labeled.tar.gz")
IMDB_PARTS = ("train/pos", "train/neg", "test/pos", "test/neg")
IMDB_PER_PART = 12_500
_IMDB_MEMBER = re.compile(r"^(?:\./)?aclImdb/(?:(?:train|test)/(?:pos|neg)/\d+_\d+\.txt|README|imdb\.vocab)$")


class Review(NamedTuple):
    id: int
    rating: int  # 1-10 stars, from the file name <id>_<rating>.txt
    label: int  # 1 = positive (rating >= 7), 0 = negative (rating <= 4)
    text: str


def check_imdb_layout(folder: Path) -> None:
    """Raise DataError unless `folder` (an `aclImdb`) holds 12,500 reviews in each labelled part."""
    problems = []
    for part in IMDB_PARTS:
        d = Path(folder) / part
        n = sum(1 for _ in d.glob("*_*.txt")) if d.is_dir() else 0
        if n != IMDB_PER_PART:
            problems.append(f"{part}: {n} reviews")
    if problems:
        raise DataError(f"{folder} is not a complete aclImdb folder (expected {IMDB_PER_PART:,} reviews in each of "
                        f"{', '.join(IMDB_PARTS)}; found {'; '.join(problems)})")


def extract_imdb_archive(archive: Path, root: Path) -> Path:
    """Extract the labelled reviews of `archive` into `<root>/aclImdb` atomically; return that folder.

    Extraction goes to a temporary folder that is checked and then renamed, so an interrupted or
    truncated extraction never leaves a tree that counts as present.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / "aclImdb"
    with tempfile.TemporaryDirectory(dir=root, prefix=".aclImdb.", suffix=".tmp") as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = (m for m in tar if m.isfile() and _IMDB_MEMBER.match(m.name))
                for m in utils.progress(members, desc="extracting IMDb", unit=" files", total=50_002):
                    tar.extract(m, tmp, filter="data")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raise DataError(f"{archive} is truncated or not a valid .tar.gz ({e}); nothing was extracted") from e
        extracted = Path(tmp) / "aclImdb"
        check_imdb_layout(extracted)
        utils.replace_dir(extracted, final)
    return final


def prepare_imdb(root: Path | None = None, mirror: Path | None = None) -> Path:
    """Return a verified `aclImdb` folder: from the cache, the mirror (archive or folder), or the download."""
    check_allowed("IMDb")
    root = Path(root or utils.data_root())
    mirror = Path(mirror) if mirror else utils.data_mirror()
    final = root / "aclImdb"
    if final.is_dir():
        check_imdb_layout(final)  # only complete trees are ever renamed into place
        return final

    # 1. a mirror: an extracted folder, the labelled archive (layout checked) or the official archive
    if mirror is not None:
        folder = _mirror_file(mirror, "aclImdb", ("imdb",))
        if folder is not None and folder.is_dir():
            check_imdb_layout(folder)
            with utils.atomic_dir(final) as tmp:
                for part in IMDB_PARTS:
                    shutil.copytree(folder / part, tmp / part)
            return final
        for name in IMDB_LOCAL_ARCHIVES:
            archive = _mirror_file(mirror, name, ("imdb",))
            if archive is not None:
                if name == IMDB_ARCHIVE:
                    verify_md5(archive, IMDB_MD5)
                return extract_imdb_archive(archive, root)
        raise DataError(f"the mirror {mirror} has no IMDb data (expected imdb/{IMDB_ARCHIVE}, "
                        "imdb/aclImdb_labeled.tar.gz or an aclImdb/ folder)")

    # 2. the official download, verified before use
    archive = root / IMDB_ARCHIVE
    if archive.exists() and md5sum(archive) != IMDB_MD5:
        archive.unlink()
    if not archive.exists():
        download(IMDB_URL, archive, IMDB_MD5, what="IMDb")
    return extract_imdb_archive(archive, root)


def download(url: str, dest: Path, md5: str, what: str) -> Path:
    """Download `url` to `dest` through a temporary file, verify its MD5, then rename into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    try:
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
                total = int(r.headers.get("Content-Length") or 0) or None
                with utils.progress(total=total, unit="B", unit_scale=True, desc=f"downloading {dest.name}") as bar:
                    while block := r.read(1 << 20):
                        f.write(block)
                        bar.update(len(block))
        except (urllib.error.URLError, OSError) as e:
            raise DataError(_no_data_message(what, [dest.name])) from e
        verify_md5(Path(tmp), md5)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def _no_data_message(what: str, files: list[str]) -> str:
    return (f"cannot get {what}: no network and no local copy. Needed: {', '.join(files)}. Put the official "
            "files in a folder and point HW3_DATA_MIRROR (or --mirror) at it, e.g. HW3_DATA_MIRROR=../shared/data")


def imdb_files(folder: Path, split: str) -> list[tuple[Path, int]]:
    """(path, label) of `<folder>/<split>/{neg,pos}/<id>_<rating>.txt`: negatives, then positives, by id."""
    out = []
    for label, sub in ((0, "neg"), (1, "pos")):
        files = sorted((Path(folder) / split / sub).glob("*_*.txt"), key=lambda p: int(p.stem.split("_")[0]))
        out += [(path, label) for path in files]
    return out


def read_review(path: Path, label: int) -> Review:
    """One review file: UTF-8 text with `<br />` tags removed and whitespace collapsed."""
    rid, rating = (int(x) for x in path.stem.split("_"))
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"<br\s*/?>", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return Review(rid, rating, label, text)


def read_imdb_folder(folder: Path, split: str) -> list[Review]:
    """Parse `<folder>/<split>/{neg,pos}/<id>_<rating>.txt`: UTF-8 text with `<br />` tags removed."""
    return [read_review(path, label) for path, label in imdb_files(folder, split)]


class ReviewFiles(Sequence):
    """The reviews of a split as `imdb(split)` lists them, each read from its file when first indexed: a
    chapter that quotes a handful of the 25,000 reads a handful of files (seconds saved per render)."""

    def __init__(self, folder: Path, split: str):
        self._files = imdb_files(folder, split)
        self._read: dict[int, Review] = {}

    def __len__(self) -> int:
        return len(self._files)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]  # negative indices; IndexError past the end
        if i not in self._read:
            self._read[i] = read_review(*self._files[i])
        return self._read[i]


def imdb(split: str, *, root: Path | None = None, mirror: Path | None = None) -> list[Review]:
    """The labelled IMDb reviews of `split` ("train" or "test"): 25,000 `Review`s, negatives then positives."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    return read_imdb_folder(prepare_imdb(root, mirror), split)


def imdb_reviews(split: str, *, root: Path | None = None, mirror: Path | None = None) -> ReviewFiles:
    """`imdb(split)`, read lazily: the same reviews in the same order, each file read when first indexed."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    return ReviewFiles(prepare_imdb(root, mirror), split)


@functools.lru_cache(maxsize=2)
def _mnist_cached(train: bool):
    return mnist(train)


def mnist_float(train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as X float32 (N, 1, 28, 28) in [0, 1] and y int64 (N,); parsed once per process."""
    X, y = _mnist_cached(train)
    return X.unsqueeze(1).float().div_(255.0), y.clone()  # (N, 1, 28, 28): fresh tensors, safe to modify
