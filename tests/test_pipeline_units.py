"""Pure functions of the preprocessing pipeline: vocabulary, subsampling, windows, shuffling."""

import math
from collections import Counter

import numpy as np
import pytest

from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.pairs.draw import (
    WordIds,
    block_rng,
    keep_probabilities,
    make_pairs,
    sentence_ids,
    subsample,
)
from sgns.pipeline.pairs.shuffle import merge_shuffle, pack, scatter, unpack
from sgns.pipeline.text.blocks import decode
from sgns.pipeline.text.tokens import (
    MAX_TOKEN_CHARS,
    arrow_splits_like_python,
    count_tokens,
    counts_dict,
    merge_counts,
    token_ids,
)
from sgns.pipeline.vocab.counting import select_vocabulary


def test_keep_probability_matches_word2vec_c_formula_by_hand():
    counts = np.array([1000, 100, 10, 1])
    sample = 1e-3
    keep = keep_probabilities(counts, sample)
    total = 1111
    for count, got in zip(counts, keep):
        f = count / total
        assert got == pytest.approx(min(1.0, (math.sqrt(f / sample) + 1) * sample / f))
    assert keep[0] == pytest.approx((math.sqrt(1000 / 1111 / 1e-3) + 1) * 1e-3 / (1000 / 1111))
    assert keep[0] < 0.05 and keep[-1] == 1.0


def test_sample_zero_keeps_everything():
    assert np.all(keep_probabilities(np.array([10**6, 5]), 0.0) == 1.0)


def test_ids_by_count_descending_ties_by_word_filter_before_top_k():
    counts = Counter({"b": 3, "a": 3, "c": 5, "d": 1, "é": 3, "B": 3})
    words, kept = select_vocabulary(counts, min_count=2, max_vocab=None)
    assert words == ["c", "B", "a", "b", "é"]  # code-point order breaks ties
    assert kept == [5, 3, 3, 3, 3]
    assert select_vocabulary(counts, min_count=2, max_vocab=2)[0] == ["c", "B"]
    assert select_vocabulary(counts, min_count=6, max_vocab=None) == ([], [])


def test_word_ids_map_missing_words_to_minus_one_without_growing():
    ids = WordIds({"a": 0})
    assert ids["a"] == 0 and ids["zzz"] == -1 and len(ids) == 1


def test_expected_pairs_per_center_is_window_plus_one():
    n, window = 200_000, 5
    rng = np.random.default_rng(7)
    centers, contexts = make_pairs(np.arange(n, dtype=np.int32), np.zeros(n), window, rng)
    assert len(centers) / n == pytest.approx(window + 1, abs=0.05)
    distance = np.abs(centers.astype(np.int64) - contexts)
    assert distance.min() >= 1 and distance.max() <= window  # never (i, i), never beyond b
    per_center = np.bincount(centers, minlength=n)[window:-window]
    assert np.all(per_center % 2 == 0)  # the same b on both sides
    assert set(np.unique(per_center)) == {2, 4, 6, 8, 10}


def test_no_pair_crosses_a_sentence_boundary():
    n = 10_000
    positions = np.arange(n, dtype=np.int32)
    sentences = positions // 7
    centers, contexts = make_pairs(positions, sentences, 5, np.random.default_rng(1))
    assert len(centers) > 0
    assert np.array_equal(sentences[centers], sentences[contexts])
    assert np.all(centers != contexts)


def test_make_pairs_of_tiny_inputs():
    rng = np.random.default_rng(0)
    for n in (0, 1):
        centers, contexts = make_pairs(np.zeros(n, np.int32), np.zeros(n), 5, rng)
        assert len(centers) == len(contexts) == 0
    centers, contexts = make_pairs(np.array([4, 9], np.int32), np.zeros(2), 5, rng)
    assert sorted(zip(centers, contexts)) == [(4, 9), (9, 4)]


def test_subsample_keeps_each_token_with_its_probability():
    ids = np.zeros(100_000, dtype=np.int32)
    kept, _ = subsample(ids, ids, np.array([0.3]), np.random.default_rng(3))
    assert len(kept) / len(ids) == pytest.approx(0.3, abs=0.01)


def test_sentences_cut_every_max_length_tokens_and_at_lines():
    lengths = np.array([5, 0, 3])
    starts = np.flatnonzero(np.diff(sentence_ids(lengths, carry=0, max_sentence_length=2)) != 0)
    # tokens 0..4 (line 0) cut at 2 and 4; line 2 starts at token 5, cut again at 7
    assert list(starts + 1) == [2, 4, 5, 7]
    with_carry = sentence_ids(np.array([3, 2]), carry=1, max_sentence_length=2)
    assert list(with_carry) == [with_carry[0]] + [with_carry[0] + 1] * 2 + [with_carry[0] + 2] * 2


def test_block_rng_depends_on_seed_pass_and_block_only():
    draw = lambda *a: block_rng(*a).integers(1 << 30, size=4).tolist()  # noqa: E731
    assert draw(1, 0, "0:0:3") == draw(1, 0, "0:0:3")
    assert draw(1, 0, "0:0:3") != draw(2, 0, "0:0:3")
    assert draw(1, 0, "0:0:3") != draw(1, 1, "0:0:3")
    assert draw(1, 0, "0:0:3") != draw(1, 0, "0:0:4")


def test_undecodable_bytes_are_replaced_and_counted_exactly():
    assert decode("héllo wörld".encode()) == ("héllo wörld", 0)
    text, bad = decode(b"ab\xffcd\xfe\xfe x\xc3")
    assert bad == 4
    assert text == "ab\ufffdcd\ufffd\ufffd x\ufffd"


@pytest.mark.parametrize(
    "text",
    [
        "the cat  sat\n\non the\tmat \n",
        "  lead and trail  \n\n\n",
        "a\x0bb\x0cc\rd\x1ce\x1ff",  # \x1c-\x1f split in Python: must take the Python path
        "café naïve\u00a0nbsp\u3000ideographic\nnext",
        "",
    ],
)
def test_fast_tokenizer_equals_str_split(text):
    lines = text.split("\n")
    expected = [w for line in lines for w in line.split()]
    counts, n, cut = count_tokens(text, lowercase=False)
    assert counts_dict(counts) == Counter(expected) and n == len(expected) and cut == 0
    vocab = WordIds({w: i for i, w in enumerate(sorted(set(expected))[::2])})
    ids, per_line = token_ids(text, vocab, lowercase=False)
    assert list(ids) == [vocab[w] for w in expected]
    assert list(per_line) == [len(line.split()) for line in lines]
    lower, _, _ = count_tokens(text.upper(), lowercase=True)
    assert counts_dict(lower) == Counter(text.upper().lower().split())


@pytest.mark.parametrize("other", ["", "\u00e9"])  # the fast (ASCII) path and the Python path
def test_tokens_longer_than_the_limit_are_cut_to_it_and_counted(other):
    long, longer = "x" * MAX_TOKEN_CHARS, "x" * (MAX_TOKEN_CHARS + 5) + other
    text = f"a {long} {longer}\n{longer} b"
    counts, n, cut = count_tokens(text, lowercase=False)
    assert counts_dict(counts) == Counter({long: 3, "a": 1, "b": 1}) and (n, cut) == (5, 2)
    ids, per_line = token_ids(text, WordIds({long: 7}), lowercase=False)
    assert list(ids) == [-1, 7, 7, 7, -1] and list(per_line) == [3, 2]


def test_fast_path_is_taken_only_where_it_is_exact():
    assert arrow_splits_like_python("plain ascii\ttext\n")
    assert not arrow_splits_like_python("unit\x1fseparator")
    assert not arrow_splits_like_python("non\u00a0ascii")


def test_pack_and_unpack_pairs_round_trip():
    centers = np.array([0, 5, 2**31 - 1, 7], dtype=np.int32)
    contexts = np.array([3, 0, 1, 2**31 - 1], dtype=np.int32)
    packed = pack(centers, contexts)
    assert packed.dtype == np.int64 and packed.shape == (4,)
    back = unpack(packed[::-1])
    assert np.array_equal(back[0], centers[::-1]) and np.array_equal(back[1], contexts[::-1])
    assert len(pack(np.zeros(0, np.int32), np.zeros(0, np.int32))) == 0


def test_scatter_partitions_the_pairs():
    rng = np.random.default_rng(5)
    centers = rng.integers(0, 50, 10_000).astype(np.int32)
    contexts = rng.integers(0, 50, 10_000).astype(np.int32)
    parts = scatter(pack(centers, contexts), 7, rng)
    assert len(parts) == 7
    sizes = [len(p) for p in parts]
    assert min(sizes) > 10_000 / 7 * 0.8  # uniform shard choice
    got_c, got_x = unpack(np.concatenate(parts))
    assert sorted(zip(got_c, got_x)) == sorted(zip(centers, contexts))
    first = unpack(parts[0])[0]
    assert not np.array_equal(first, np.sort(first))  # shuffled within a shard


def _batches(values: np.ndarray, size: int):
    """Packed pairs (value, value + 1000) of a piece, in batches."""
    for a in range(0, len(values), size):
        yield pack(values[a : a + size], values[a : a + size] + 1000)


def _centers(chunks) -> list[np.ndarray]:
    return [unpack(chunk)[0] for chunk in chunks]


def test_merge_shuffle_keeps_the_multiset_exactly_and_mixes_pieces():
    rng = np.random.default_rng(11)
    pieces = [
        np.arange(k * 1000, k * 1000 + n, dtype=np.int32) for k, n in enumerate([5, 0, 300, 77])
    ]
    sources = [(len(p), _batches(p, 16)) for p in pieces]
    chunks = list(merge_shuffle(sources, rng, chunk_rows=37))
    centers, contexts = unpack(np.concatenate(chunks))
    assert sorted(centers) == sorted(np.concatenate(pieces))
    assert np.array_equal(contexts, centers + 1000)  # rows stay whole
    assert all(len(c) == 37 for c in chunks[:-1])
    assert not np.array_equal(centers, np.concatenate(pieces))
    # each chunk takes a piece's rows from its front: chunk k's rows precede chunk k+1's
    third = [c[(c >= 2000) & (c < 3000)] for c in _centers(chunks)]
    third = [t for t in third if len(t)]
    assert all(a.max() < b.min() for a, b in zip(third, third[1:]))


def test_merge_shuffle_of_shuffled_pieces_puts_a_row_anywhere():
    # pieces come shuffled (scatter does it); a row of a small piece must then land uniformly
    # anywhere in the shard, whatever chunk size, not near the start
    where = []
    for seed in range(400):
        rng = np.random.default_rng(seed)
        small = rng.permutation(np.arange(3, dtype=np.int32))
        big = rng.permutation(np.arange(100, 160, dtype=np.int32))
        sources = [(3, _batches(small, 2)), (60, _batches(big, 8))]
        out = np.concatenate(_centers(merge_shuffle(sources, rng, chunk_rows=16)))
        where.append(int(np.flatnonzero(out == 0)[0]))
    assert np.mean(where) == pytest.approx(31, abs=3)  # uniform over 0..62: sd of mean ~0.9
    assert np.histogram(where, bins=3, range=(0, 63))[0].min() > 400 / 3 * 0.7


@pytest.mark.parametrize(
    "change",
    [
        {"window": 0},
        {"sample": -1e-3},
        {"min_count": 0},
        {"passes": 0},
        {"num_shards": 0},
        {"max_vocab": 0},
        {"max_sentence_length": 0},
        {"inputs": ()},
        {"window": 2.5},
    ],
)
def test_config_rejects_invalid_values(change):
    settings = {"inputs": ("corpus.txt",), "output": "out"}
    settings.update(change)
    with pytest.raises(ValueError):
        PipelineConfig(**settings)


def test_config_defaults_are_word2vec_defaults():
    config = PipelineConfig(inputs=("a",), output="b")
    assert (config.window, config.sample, config.min_count) == (5, 1e-3, 5)
    assert config.max_sentence_length == 10000 and config.passes == 1
    assert config.to_json()["inputs"] == ["a"]


def test_an_option_of_ours_among_beams_is_said_to_be_ours_not_unknown(tmp_path):
    import sgns
    from sgns.errors import UsageError
    from sgns.pipeline.options import build_parser
    from sgns.pipeline.preprocess import check_options

    with pytest.raises(UsageError) as caught:
        check_options(["--output", "x", "--min-count", "3"], build_parser())
    said = str(caught.value)
    assert said.startswith("--output, --min-count are options of sgns-preprocess, not of Beam")
    assert "output=, min_count= to sgns.preprocess itself" in said and "did you mean" not in said
    (tmp_path / "c.txt").write_text("a b c\n")
    for beam_args, keyword in (("--output x", "output="), (["--input", "f"], "inputs=")):
        with pytest.raises(UsageError, match=f"is an option of sgns-preprocess.*give {keyword}"):
            sgns.preprocess(str(tmp_path / "c.txt"), str(tmp_path / "d"), beam_args=beam_args)
    assert not (tmp_path / "d").exists()
    with pytest.raises(UsageError, match="--min-cont \\(did you mean --min-count\\?\\)"):
        check_options(["--min-cont", "3"], build_parser())


def test_an_option_of_ours_after_the_double_dash_is_told_to_go_before_it(tmp_path, capsys):
    from sgns.pipeline.preprocess import main

    (tmp_path / "q.txt").write_text("a b c\n")
    for tail, said in ((["--min-count", "3"], "--min-count is an option of sgns-preprocess, "
                        "not of Beam: give it before --"),
                       (["--window", "2", "--min-count", "3"], "--window, --min-count are options "
                        "of sgns-preprocess, not of Beam: give them before --")):  # fmt: skip
        argv = ["--input", str(tmp_path / "q.txt"), "--output", str(tmp_path / "o"), "--", *tail]
        assert main(argv) == 2
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if "error:" in line]
        assert len(lines) == 1 and said in lines[0], err
        assert "sgns.preprocess itself" not in err and "beam_args" not in err
    assert not (tmp_path / "o").exists()


def test_merge_counts_sums_per_word_like_counter():
    texts = ["the cat the", "café the\u00a0cat", "", "dog"]
    tables = [count_tokens(t, lowercase=False)[0] for t in texts]
    expected = Counter(w for t in texts for w in t.split())
    assert counts_dict(merge_counts(tables)) == expected
    assert counts_dict(merge_counts(tables[:1])) == Counter("the cat the".split())
    assert counts_dict(merge_counts([])) == Counter()


def test_a_stray_word_among_the_options_is_refused_not_dropped(tmp_path, capsys):
    """An unquoted `--input corpus/*.txt` reaches us as `--input a.txt b.txt`: b.txt was left
    to Beam, which dropped it with a warning, and a dataset of a.txt alone was made."""
    import sgns
    from sgns.errors import UsageError
    from sgns.pipeline.preprocess import main

    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("a b c a b\n")
    a, b, out = str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), str(tmp_path / "d")
    for argv in (["--input", a, b, "--output", out], ["--input", a, "--output", out, out + "2"]):
        assert main([*argv, "--min-count", "1"]) == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
        assert len(lines) == 1 and "unexpected argument(s) '" in lines[0], lines
        assert "quote a pattern" in lines[0]
    with pytest.raises(UsageError, match="unexpected argument.*beam_args holds Beam's options"):
        sgns.preprocess(a, out, beam_args=b, min_count=1)
    assert not (tmp_path / "d").exists() and not (tmp_path / "d2").exists()


def test_a_window_that_makes_one_sentence_too_many_pairs_is_refused(tmp_path, capsys):
    """--window 2147483647 with one line of 10,000 tokens made 1e8 pairs at once: 2.5 GB of
    memory, with nothing checked up front (fourth probe F12)."""
    from sgns.errors import UsageError
    from sgns.pipeline.config import MAX_SENTENCE_PAIRS, PipelineConfig
    from sgns.pipeline.preprocess import main

    assert PipelineConfig(("a",), "b", window=3355).window == 3355  # (10,000 tokens: 67.1M)
    assert PipelineConfig(("a",), "b", window=5, max_sentence_length=6_000_000).window == 5
    for window, length in ((2**31 - 1, 10000), (3356, 10000), (5, 7_000_000)):
        with pytest.raises(UsageError, match=f"at most {MAX_SENTENCE_PAIRS:,}"):
            PipelineConfig(("a",), "b", window=window, max_sentence_length=length)
    (tmp_path / "c.txt").write_text("a b c\n")
    argv = ["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / "d")]
    assert main([*argv, "--window", "2147483647"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "--window 2147483647 with --max-sentence-length 10000" in lines[0]
    assert "lower --window or --max-sentence-length" in lines[0]
    assert not (tmp_path / "d").exists()
