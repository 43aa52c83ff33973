"""The text pipeline: tokenizer, vocabulary, padding/masks, the length-grouped sampler, the corpus cache."""

import time

import numpy as np
import pytest
import torch

from hw3 import text

from conftest import needs_data

# --- tokenizer ---------------------------------------------------------------------------------------


def test_tokenizer_lower_cases_words_and_keeps_contractions():
    assert text.tokenize("The Movie WASN'T good.") == ["the", "movie", "wasn't", "good"]


def test_tokenizer_drops_punctuation_but_keeps_exclamation_and_question_marks():
    assert text.tokenize("Great, great... (really?) Yes!") == ["great", "great", "really", "?", "yes", "!"]


def test_tokenizer_splits_numbers_and_hyphens():
    assert text.tokenize("A 7/10 co-star") == ["a", "7", "10", "co", "star"]


def test_tokenizer_normalises_typographic_apostrophes_and_width():
    assert text.tokenize("Don\u2019t") == text.tokenize("don't") == ["don't"]
    assert text.tokenize("\uff26\uff55\uff4c\uff4c") == ["full"]  # full-width letters (NFKC)


def test_tokenizer_removes_leftover_html_tags():
    assert text.tokenize("a <i>fine</i> film<br />") == ["a", "fine", "film"]


def test_tokenizer_keeps_any_script_and_emoji_as_tokens():
    tokens = text.tokenize("très bien 日本語 \N{GRINNING FACE} \u2014 \u00ab")
    assert tokens == ["très", "bien", "日本語", "\N{GRINNING FACE}"]  # the dash and guillemet are punctuation


@pytest.mark.parametrize("s", ["", "   ", "...", ",;:"])
def test_tokenizer_returns_nothing_for_text_without_words(s):
    assert text.tokenize(s) == []


@pytest.mark.parametrize("s", ["Don\u2019t <b>STOP</b> 7/10!!", "İstanbul naïve café's", "x\N{GRINNING FACE}y"])
def test_token_spans_mark_exactly_the_tokens(s):
    shown, spans = text.token_spans(s)
    assert [t for t, _, _ in spans] == text.tokenize(s)
    assert all(shown[a:b].lower() == t for t, a, b in spans)


# --- vocabulary --------------------------------------------------------------------------------------


def test_vocab_puts_specials_first_and_ranks_by_frequency_then_alphabet():
    v = text.Vocab.build([["b", "a", "c", "a"], ["c", "d"]], size=5)
    assert v.itos == ["<pad>", "<unk>", "a", "c", "b"]  # a, c: 2 each; b before d alphabetically
    assert v.counts == [0, 0, 2, 2, 1]
    assert len(v) == 5 and v["<pad>"] == text.PAD_ID == 0 and v["<unk>"] == text.UNK_ID == 1


def test_vocab_maps_unknown_tokens_to_unk_and_truncates():
    v = text.Vocab.build([["good", "bad"]], size=4)
    assert v.encode(["good", "zzz", "bad"]) == [v["good"], 1, v["bad"]]
    assert v.encode(["good", "bad", "good"], max_len=2) == [v["good"], v["bad"]]
    assert v.decode(v.encode(["good", "zzz"])) == ["good", "<unk>"]


def test_vocab_json_round_trip(tmp_path):
    v = text.Vocab.build([["x", "y", "y"]], size=10)
    v.save(tmp_path / "vocab.json")
    w = text.Vocab.load(tmp_path / "vocab.json")
    assert w.itos == v.itos and w.counts == v.counts and w.stoi == v.stoi


def test_vocab_from_another_tokenizer_version_is_refused(tmp_path):
    v = text.Vocab.build([["x"]], size=3)
    v.tokenizer_version = text.TOKENIZER_VERSION + 1
    v.save(tmp_path / "vocab.json")
    with pytest.raises(ValueError, match="tokenizer"):
        text.Vocab.load(tmp_path / "vocab.json")


def test_vocab_must_start_with_the_specials():
    with pytest.raises(ValueError):
        text.Vocab(["a", "<pad>", "<unk>"])


# --- batches -----------------------------------------------------------------------------------------


def test_collate_pads_with_zero_and_masks_real_tokens():
    seqs = [torch.tensor([5, 6, 7]), torch.tensor([8]), torch.tensor([9, 10])]
    ds = text.EncodedDataset(seqs, [1, 0, 1])
    b = text.collate([ds[i] for i in range(3)])
    assert b.ids.shape == (3, 3) and b.mask.shape == (3, 3)
    assert b.lengths.tolist() == [3, 1, 2]
    assert b.mask.sum(1).tolist() == [3, 1, 2]
    assert (b.ids[~b.mask] == text.PAD_ID).all()
    assert b.ids[0].tolist() == [5, 6, 7] and b.ids[1].tolist() == [8, 0, 0]
    assert b.labels.tolist() == [1.0, 0.0, 1.0] and b.index.tolist() == [0, 1, 2]
    assert text.collate([ds[1]], pad_to=6).ids.shape == (1, 6)


def test_collate_refuses_an_empty_review():
    with pytest.raises(ValueError, match="empty"):
        text.pad_batch([torch.tensor([], dtype=torch.int64)])


def _lengths(n=1000, seed=0):
    return np.random.default_rng(seed).integers(5, 900, size=n)


@pytest.mark.parametrize("n, bs", [(1000, 32), (7, 3), (640, 64), (1, 8)])
def test_sampler_yields_every_index_once_per_epoch(n, bs):
    s = text.LengthGroupedBatchSampler(_lengths(n), bs, pool_size=4, seed=1)
    for epoch in (0, 1):
        s.set_epoch(epoch)
        batches = list(s)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(n))
        assert all(1 <= len(b) <= bs for b in batches)
        assert len(batches) == len(s)


def test_sampler_is_seeded_and_changes_with_the_epoch():
    lengths = _lengths()
    a = text.LengthGroupedBatchSampler(lengths, 32, seed=3)
    b = text.LengthGroupedBatchSampler(lengths, 32, seed=3)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    assert list(text.LengthGroupedBatchSampler(lengths, 32, seed=4)) != list(a)


def test_sampler_groups_similar_lengths_so_padding_shrinks():
    lengths = _lengths(5000)
    grouped = list(text.LengthGroupedBatchSampler(lengths, 64, pool_size=50, seed=0))
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(lengths))
    naive = [perm[i:i + 64] for i in range(0, len(perm), 64)]
    assert text.padding_fraction(grouped, lengths) < 0.05
    assert text.padding_fraction(naive, lengths) > 0.3
    assert text.padding_fraction(naive, lengths, pad_to=900) > text.padding_fraction(naive, lengths)


def test_sampler_shuffles_the_order_of_batches():
    lengths = np.arange(6400)
    batches = list(text.LengthGroupedBatchSampler(lengths, 64, pool_size=100, seed=0))  # one pool
    maxima = [max(lengths[b]) for b in batches]
    assert maxima != sorted(maxima)  # batch order is not the length order


def test_unshuffled_sampler_sorts_by_length_for_evaluation():
    lengths = _lengths(100)
    batches = list(text.LengthGroupedBatchSampler(lengths, 10, shuffle=False))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(100))
    assert list(lengths[flat]) == sorted(lengths)


# --- the corpus cache --------------------------------------------------------------------------------


def _fake_imdb(split, mirror=None):
    from hw3.data import Review

    texts = {"train": ["Good good film!", "Bad film, bad acting.", "Good acting"],
             "test": ["Unseen words here", "good \N{GRINNING FACE}"]}[split]
    return [Review(i, 8 if i % 2 == 0 else 2, int(i % 2 == 0), t) for i, t in enumerate(texts)]


def test_corpus_cache_is_built_from_the_training_split_and_encodes_like_the_vocab(tmp_path, monkeypatch):
    from hw3 import data

    monkeypatch.setattr(data, "imdb", _fake_imdb)
    train = text.corpus("train", root=tmp_path)
    test = text.corpus("test", root=tmp_path)
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]  # written atomically, nothing left over
    assert train.types[:2] == ["<pad>", "<unk>"] and "unseen" not in train.types  # training split only
    assert train.tokens(0) == ["good", "good", "film", "!"]
    assert train.lengths.tolist() == [4, 4, 2] and train.labels.tolist() == [1, 0, 1]
    vocab = train.vocab(4)  # <pad>, <unk>, "good" (3), then "acting"/"bad"/"film" (2 each): "acting"
    assert vocab.itos == ["<pad>", "<unk>", "good", "acting"]
    for split_corpus, reviews in ((train, _fake_imdb("train")), (test, _fake_imdb("test"))):
        encoded = split_corpus.encode(4, max_len=3)
        for seq, r in zip(encoded, reviews, strict=True):
            assert seq.tolist() == vocab.encode_text(r.text, max_len=3)


@needs_data
def test_real_corpus_loads_in_seconds_and_matches_the_tokenizer():
    from hw3 import data

    text.prepare_corpus()
    t0 = time.perf_counter()
    train = text.corpus("train")
    test = text.corpus("test")
    assert time.perf_counter() - t0 < 5
    assert len(train) == len(test) == 25_000
    assert train.labels.sum() == test.labels.sum() == 12_500
    first = data.imdb("test")[0]
    assert test.tokens(0) == [t if t in train.types else "<unk>" for t in text.tokenize(first.text)]
    # frequencies are the training split's: counting its ids gives them back
    counts = np.bincount(train.ids, minlength=len(train.types))
    assert counts[2:50].tolist() == train.counts[2:50]
    vocab = text.training_vocab(5000)
    assert len(vocab) == 5000 and vocab.itos[:2] == ["<pad>", "<unk>"]
