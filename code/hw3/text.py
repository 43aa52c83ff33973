"""The text pipeline for IMDb: tokenizer, vocabulary, encoding, length-grouped batches, a cached corpus.

- `tokenize(text)`: HTML tags removed, Unicode-normalised (NFKC), lower-cased words (apostrophes inside words kept: "don't"),
  digits kept ("7/10" -> "7", "10"), "!" and "?" kept as tokens (they carry sentiment), all other ASCII
  punctuation dropped, and any other symbol (emoji, dingbats) kept as a one-character token, which
  the vocabulary maps to `<unk>`.
- `Vocab`: `<pad>` = 0, `<unk>` = 1, then the most frequent training-split tokens (ties broken
  alphabetically, so it is deterministic); saved to / loaded from JSON with every run that uses it.
- `LengthGroupedBatchSampler`: shuffle, cut into large pools, sort each pool by length, cut into
  batches, shuffle the batch order. Batches hold reviews of similar length, so little padding is
  computed, while every epoch still sees a different random order (seeded by `seed + epoch`).
- `collate`: padded ids (B, T), lengths (B,), mask (B, T) and labels (B,).
- `corpus(split)`: the IMDb split tokenized once and cached under `utils.data_root()` as NumPy arrays
  of ids in the *full* training vocabulary, sorted by frequency. A vocabulary of any size is a prefix of
  it, so encoding for a 5,000-word vocabulary is one `np.where`; a second load takes well under a second.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from . import utils

TOKENIZER_VERSION = 1  # bump whenever `tokenize` changes: it names the corpus cache
PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

# --- tokenizer ---------------------------------------------------------------------------------------

_WORD = r"[^\W_]+(?:'[^\W_]+)*"  # letters/digits of any script, with inner apostrophes ("don't")
_TOKEN_RE = re.compile(rf"{_WORD}|[!?]|[^\w\s\x00-\x7f]")
_TAG_RE = re.compile(r"</?[a-zA-Z][^<>]{0,40}>")  # leftover HTML tags (<i>, </b>, <a href=...>)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens of `text`; see the module docstring for the rules.

    >>> tokenize("I didn't like it... 3/10!! \N{PILE OF POO}")
    ["i", "didn't", "like", "it", "3", "10", "!", "!", "\N{PILE OF POO}"]
    """
    return [m.group() for m in _matches(normalize(text).lower())]


def normalize(text: str) -> str:
    """HTML tags to spaces, NFKC (full-width letters, ligatures), typographic apostrophes to "'"."""
    return unicodedata.normalize("NFKC", _TAG_RE.sub(" ", text)).translate(_APOSTROPHES)


def _matches(text: str):
    for m in _TOKEN_RE.finditer(text):
        t = m.group()
        # a non-ASCII non-word character is kept only if it is a symbol (emoji, ©, ★), not punctuation («, —)
        if len(t) > 1 or t.isalnum() or t in "!?" or unicodedata.category(t)[0] == "S":
            yield m


def token_spans(text: str) -> tuple[str, list[tuple[str, int, int]]]:
    """`normalize(text)` and its tokens as (token, start, end) character spans in it, for display.

    `[t for t, _, _ in spans] == tokenize(text)`: the spans mark exactly the words the model reads.
    """
    shown = normalize(text)
    lower = shown.lower()
    if len(lower) != len(shown):  # rare characters whose lower case is longer (e.g. "İ"): show lower case
        shown = lower
    return shown, [(m.group(), m.start(), m.end()) for m in _matches(lower)]


# --- vocabulary --------------------------------------------------------------------------------------


@dataclass
class Vocab:
    """Token <-> id. `itos[0]` is `<pad>`, `itos[1]` is `<unk>`; unknown tokens map to `<unk>`."""

    itos: list[str]
    counts: list[int] = field(default_factory=list)  # training-split frequency of each token (0 for specials)
    tokenizer_version: int = TOKENIZER_VERSION

    def __post_init__(self):
        if self.itos[:2] != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}, not {self.itos[:2]}")
        if len(set(self.itos)) != len(self.itos):
            raise ValueError("vocabulary tokens must be unique")
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], size: int = 5000) -> Vocab:
        """The `size - 2` most frequent tokens (ties alphabetical) after `<pad>` and `<unk>`."""
        counter = Counter()
        for tokens in token_lists:
            counter.update(tokens)
        ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[: size - 2]
        return cls([PAD, UNK] + [t for t, _ in ranked], [0, 0] + [c for _, c in ranked])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, UNK_ID)

    def truncated(self, size: int) -> Vocab:
        """The `size` first (most frequent) entries."""
        return Vocab(self.itos[:size], self.counts[:size], self.tokenizer_version)

    def encode(self, tokens: Sequence[str], max_len: int | None = None) -> list[int]:
        """Ids of the first `max_len` tokens (the truncation used in training)."""
        tokens = tokens[:max_len] if max_len else tokens
        return [self.stoi.get(t, UNK_ID) for t in tokens]

    def encode_text(self, text: str, max_len: int | None = None) -> list[int]:
        return self.encode(tokenize(text), max_len)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[int(i)] for i in ids]

    def to_dict(self) -> dict:
        return {"tokenizer_version": self.tokenizer_version, "itos": self.itos, "counts": self.counts}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        return cls(list(d["itos"]), list(d.get("counts", [])), int(d.get("tokenizer_version", TOKENIZER_VERSION)))

    def save(self, path: Path) -> None:
        utils.write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> Vocab:
        vocab = cls.from_dict(utils.read_json(path))
        if vocab.tokenizer_version != TOKENIZER_VERSION:
            raise ValueError(f"{path} was built with tokenizer v{vocab.tokenizer_version}; this code has "
                             f"v{TOKENIZER_VERSION}: its ids would not match")
        return vocab


# --- the cached, tokenized corpus --------------------------------------------------------------------


@dataclass
class Corpus:
    """One IMDb split as token ids in the full training vocabulary (`types`, most frequent first).

    Review i is `ids[offsets[i]:offsets[i + 1]]`; tokens never seen in the training split are `<unk>`.
    """

    split: str
    ids: np.ndarray  # (total_tokens,) int32
    offsets: np.ndarray  # (N + 1,) int64
    labels: np.ndarray  # (N,) int64, 1 = positive
    ratings: np.ndarray  # (N,) int64
    review_ids: np.ndarray  # (N,) int64
    types: list[str]  # full training vocabulary: <pad>, <unk>, then by frequency
    counts: list[int]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        """Number of tokens of each review before any truncation, (N,)."""
        return np.diff(self.offsets)

    def vocab(self, size: int = 5000) -> Vocab:
        return Vocab(self.types[:size], self.counts[:size])

    def tokens(self, i: int) -> list[str]:
        return [self.types[j] for j in self.ids[self.offsets[i]:self.offsets[i + 1]]]

    def encode(self, vocab_size: int, max_len: int | None = None,
               indices: Sequence[int] | None = None) -> list[torch.Tensor]:
        """Each review's ids in the `vocab_size` most frequent types (rarer ones -> `<unk>`), truncated."""
        ids = np.where(self.ids < vocab_size, self.ids, UNK_ID).astype(np.int64)
        indices = range(len(self)) if indices is None else indices
        out = []
        for i in indices:
            start, end = self.offsets[i], self.offsets[i + 1]
            if max_len:
                end = min(end, start + max_len)
            out.append(torch.from_numpy(ids[start:end]))
        return out


def corpus_dir(root: Path | None = None) -> Path:
    return Path(root or utils.data_root()) / f"imdb-tokens-v{TOKENIZER_VERSION}"


def corpus(split: str, *, root: Path | None = None) -> Corpus:
    """The tokenized IMDb `split` ("train" or "test"), built once from `hw3.data.imdb` and cached."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    from . import data

    data.check_allowed("the tokenized IMDb corpus")
    folder = prepare_corpus(root)
    meta = utils.read_json(folder / "types.json")
    with np.load(folder / f"{split}.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return Corpus(split, arrays["ids"], arrays["offsets"], arrays["labels"], arrays["ratings"],
                  arrays["review_ids"], meta["types"], meta["counts"])


def prepare_corpus(root: Path | None = None, mirror: Path | None = None) -> Path:
    """Build the tokenized corpus cache unless it exists; return its folder (`hw3 data prepare`)."""
    folder = corpus_dir(root)
    if not (folder / "types.json").exists():
        build_corpus_cache(folder, mirror=mirror)
    return folder


def build_corpus_cache(folder: Path, mirror: Path | None = None) -> Path:
    """Tokenize both splits and write `types.json`, `train.npz`, `test.npz` into `folder` atomically."""
    from . import data

    tokenized = {}
    for split in ("train", "test"):
        reviews = data.imdb(split, mirror=mirror)
        token_lists = [tokenize(r.text) for r in utils.progress(reviews, desc=f"tokenizing IMDb {split}")]
        tokenized[split] = (reviews, token_lists)
    full = Vocab.build(tokenized["train"][1], size=10**9)  # every training type, most frequent first
    with utils.atomic_dir(folder) as tmp:
        utils.write_json(tmp / "types.json", {"tokenizer_version": TOKENIZER_VERSION,
                                              "types": full.itos, "counts": full.counts})
        for split, (reviews, token_lists) in tokenized.items():
            lengths = np.array([len(t) for t in token_lists], dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            ids = np.fromiter((full[t] for tokens in token_lists for t in tokens), dtype=np.int32,
                              count=int(offsets[-1]))
            np.savez_compressed(tmp / f"{split}.npz", ids=ids, offsets=offsets,
                     labels=np.array([r.label for r in reviews], dtype=np.int64),
                     ratings=np.array([r.rating for r in reviews], dtype=np.int64),
                     review_ids=np.array([r.id for r in reviews], dtype=np.int64))
    return folder


def training_vocab(size: int = 5000) -> Vocab:
    """The vocabulary of the `size` most frequent tokens of the IMDb training split."""
    return corpus("train").vocab(size)


# --- batches -----------------------------------------------------------------------------------------


class Batch(NamedTuple):
    ids: torch.Tensor  # (B, T) int64, PAD_ID after each review's end
    lengths: torch.Tensor  # (B,) int64, on the CPU (what pack_padded_sequence wants)
    mask: torch.Tensor  # (B, T) bool, True on real tokens
    labels: torch.Tensor  # (B,) float32
    index: torch.Tensor  # (B,) int64, position of each review in the dataset

    def to(self, device) -> Batch:
        return Batch(self.ids.to(device, non_blocking=True), self.lengths, self.mask.to(device, non_blocking=True),
                     self.labels.to(device, non_blocking=True), self.index)


def pad_batch(seqs: Sequence[torch.Tensor], pad_to: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-pad `seqs` with `<pad>`: ids (B, T), lengths (B,), mask (B, T); T = longest or `pad_to`."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    if (lengths == 0).any():
        raise ValueError("cannot batch an empty sequence (a review with no tokens)")
    T = max(int(lengths.max()), pad_to or 0)
    ids = torch.full((len(seqs), T), PAD_ID, dtype=torch.int64)  # (B, T)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
    mask = torch.arange(T)[None, :] < lengths[:, None]  # (B, T)
    return ids, lengths, mask


class EncodedDataset(torch.utils.data.Dataset):
    """Encoded reviews and their labels; item i is (ids, label, i)."""

    def __init__(self, seqs: Sequence[torch.Tensor], labels: Sequence[int]):
        if len(seqs) != len(labels):
            raise ValueError("one label per review")
        self.seqs = list(seqs)
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.seqs)

    def __getitem__(self, i):
        return self.seqs[i], self.labels[i], i

    @property
    def lengths(self) -> list[int]:
        return [len(s) for s in self.seqs]


def collate(items, pad_to: int | None = None) -> Batch:
    """Items (ids, label, index) -> `Batch`; pads to the batch's longest review (or `pad_to`)."""
    seqs, labels, index = zip(*items, strict=True)
    ids, lengths, mask = pad_batch(seqs, pad_to)
    return Batch(ids, lengths, mask, torch.stack(list(labels)).float(), torch.tensor(index, dtype=torch.int64))


class LengthGroupedBatchSampler(torch.utils.data.Sampler):
    """Batches of indices whose sequences have similar lengths.

    With `shuffle`: a seeded permutation is cut into pools of `pool_size` batches; each pool is sorted
    by length and cut into batches; then the order of all batches is shuffled. The RNG is
    `seed + epoch` (call `set_epoch`), so the order is reproducible and a resumed run sees the same
    batches as an uninterrupted one. Without `shuffle` (evaluation): all indices sorted by length.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, *, pool_size: int = 50, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        if batch_size < 1 or pool_size < 1:
            raise ValueError("batch_size and pool_size must be positive")
        self.lengths = np.asarray(lengths)
        self.batch_size, self.pool_size, self.shuffle = batch_size, pool_size, shuffle
        self.seed, self.drop_last, self.epoch = seed, drop_last, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            return [order[i:i + bs].tolist() for i in range(0, n, bs)]
        rng = np.random.default_rng(self.seed + self.epoch)
        perm = rng.permutation(n)
        pool = bs * self.pool_size
        batches = []
        for start in range(0, n, pool):
            chunk = perm[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + bs].tolist() for i in range(0, len(chunk), bs)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == bs]
        rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        n, bs = len(self.lengths), self.batch_size
        if not self.drop_last or not self.shuffle:
            pool = bs * self.pool_size
            full, rest = divmod(n, pool)
            return full * -(-pool // bs) + -(-rest // bs)
        return len(self.batches())


def loader(dataset: EncodedDataset, batch_size: int, *, shuffle: bool, seed: int = 0, grouped: bool = True,
           pad_to: int | None = None, pool_size: int = 50) -> torch.utils.data.DataLoader:
    """A DataLoader of `Batch`es: length-grouped (default) or the naive way (random batches, `pad_to`)."""
    if grouped:
        sampler = LengthGroupedBatchSampler(dataset.lengths, batch_size, pool_size=pool_size, shuffle=shuffle,
                                            seed=seed)
    else:
        gen = torch.Generator().manual_seed(seed)
        base = torch.utils.data.RandomSampler(dataset, generator=gen) if shuffle else range(len(dataset))
        sampler = torch.utils.data.BatchSampler(base, batch_size, drop_last=False)
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler,
                                       collate_fn=functools.partial(collate, pad_to=pad_to))


def padding_fraction(batches: Iterable[Sequence[int]], lengths: Sequence[int], pad_to: int | None = None) -> float:
    """Fraction of the computed positions that are padding when `lengths` are batched as `batches`."""
    lengths = np.asarray(lengths)
    real = total = 0
    for b in batches:
        lb = lengths[list(b)]
        T = max(int(lb.max()), pad_to or 0)
        real += int(lb.sum())
        total += T * len(lb)
    return 1 - real / total

