"""The Beam shells under TestPipeline + assert_that (offline engine, never Prism)."""

import gzip
import json
import os

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from sgns import dataset
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.pairs.make import MakePairs
from sgns.pipeline.pairs.merge import MergeShards
from sgns.pipeline.preprocess import LOCAL_RUNNER
from sgns.pipeline.text.blocks import Source
from sgns.pipeline.text.read import ReadBlocks
from sgns.pipeline.vocab.vocabulary import CountVocabulary, load_vocabulary, summary_path


def _pipeline() -> test_pipeline.TestPipeline:
    return test_pipeline.TestPipeline(runner=LOCAL_RUNNER)


def test_read_blocks_reads_plain_and_gzip_files(tmp_path):
    (tmp_path / "a.txt").write_text("x y\nz\n")
    with gzip.open(tmp_path / "b.txt.gz", "wt") as f:
        f.write("p q r\n")
    sources = [Source(0, str(tmp_path / "a.txt"), 0, 6), Source(1, str(tmp_path / "b.txt.gz"))]
    with _pipeline() as p:
        texts = (
            p
            | beam.Create(sources)
            | ReadBlocks(block_bytes=1024, max_sentence_length=100)
            | beam.Map(lambda b: (b.key, b.text, b.lines))
        )
        assert_that(texts, equal_to([("0:0:0", "x y\nz\n", 2), ("1:0:0", "p q r\n", 1)]))


def test_count_vocabulary_writes_the_ordered_file_and_summary(tmp_path):
    (tmp_path / "a.txt").write_text("b a c a b a d\nb\n")
    out = str(tmp_path / "out")
    with _pipeline() as p:
        summary = (
            p
            | beam.Create([Source(0, str(tmp_path / "a.txt"))])
            | ReadBlocks(1024, 100)
            | CountVocabulary(out, lowercase=False, min_count=2, max_vocab=None)
            | beam.Map(lambda s: (s["size"], s["tokens"], s["oov_tokens"], s["lines"]))
        )
        assert_that(summary, equal_to([(2, 8, 2, 2)]))
    assert load_vocabulary(os.path.join(out, dataset.VOCAB_FILE)) == (["a", "b"], [3, 3])
    with open(summary_path(out)) as f:
        assert json.load(f)["distinct_words"] == 4


def test_make_pairs_then_merge_shards_keeps_every_pair(tmp_path):
    out = str(tmp_path / "out")
    os.makedirs(out)
    words = [f"w{i}" for i in range(10)]
    with open(os.path.join(out, dataset.VOCAB_FILE), "wb") as f:
        f.write(dataset.format_vocab(words, [10] * 10))
    rng = np.random.default_rng(0)
    (tmp_path / "a.txt").write_text(
        "\n".join(" ".join(rng.choice(words, 50)) for _ in range(40)) + "\n"
    )
    config = PipelineConfig(inputs=("a",), output=out, sample=0, num_shards=3, block_bytes=1024)
    with _pipeline() as p:
        blocks = p | beam.Create([Source(0, str(tmp_path / "a.txt"))]) | ReadBlocks(1024, 100)
        pieces, kept = blocks | MakePairs(config, [0])
        shards = pieces | MergeShards(out, passes=1, num_shards=3, seed=1)
        total_kept = kept | beam.CombinePerKey(sum)
        assert_that(total_kept, equal_to([(0, 2000)]), label="AllKept")
        counts = shards | beam.Map(lambda r: (r["shard"], r["pairs"] > 0))
        assert_that(counts, equal_to([(0, True), (1, True), (2, True)]), label="EveryShard")
    total = 0
    for shard in range(3):
        path = os.path.join(out, dataset.shard_path(0, 0, shard, 3))
        total += pq.read_metadata(path).num_rows
    assert 2000 * 2 < total < 2000 * 10  # about window + 1 = 6 pairs per kept token
    assert not [f for _, _, fs in os.walk(os.path.join(out, ".tmp-pieces")) for f in fs]


def test_local_runs_never_ask_for_prism_and_user_options_win():
    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    from sgns.pipeline.preprocess import LOCAL_MODE, LOCAL_WORKERS, pipeline_options

    for args in ([], ["--runner=DirectRunner"]):
        options = pipeline_options(args)
        assert options.view_as(StandardOptions).runner == LOCAL_RUNNER
        direct = options.view_as(DirectOptions)
        assert (direct.direct_running_mode, direct.direct_num_workers) == (
            LOCAL_MODE,
            LOCAL_WORKERS,
        )
    mine = pipeline_options(["--direct_running_mode=in_memory", "--direct_num_workers=1"])
    assert mine.view_as(DirectOptions).direct_running_mode == "in_memory"
    assert mine.view_as(DirectOptions).direct_num_workers == 1
    flink = pipeline_options(["--runner=FlinkRunner", "--flink_master=host:8081"])
    assert flink.view_as(StandardOptions).runner == "FlinkRunner"


def test_a_retried_shard_merge_after_its_pieces_were_deleted_reuses_the_shard(tmp_path):
    from sgns.pipeline.pairs.pieces import piece_path, write_piece
    from sgns.pipeline.pairs.shuffle import pack

    out = str(tmp_path)
    merge = MergeShards(out, passes=1, num_shards=2, seed=3)
    records = []
    for k in range(3):
        path = piece_path(out, 0, 1, f"0:0:{k}")
        write_piece(path, pack(np.arange(k * 10, k * 10 + 7), np.zeros(7)))
        records.append((path, 7))
    first = merge._merge((0, 1), records + [None])
    assert first["pairs"] == 21 and not any(os.path.exists(p) for p, _ in records)
    assert merge._merge((0, 1), records) == first  # the retry finds the pieces gone
    assert pq.read_metadata(os.path.join(out, first["path"])).num_rows == 21


def test_merging_in_groups_keeps_every_pair_and_bounds_the_fan_in(tmp_path):
    from sgns.pipeline.pairs.pieces import iter_piece, reduce_fan_in, write_piece
    from sgns.pipeline.pairs.shuffle import merge_shuffle, pack, unpack

    rng = np.random.default_rng(4)
    pieces, values = [], []
    for k in range(11):
        part = rng.permutation(
            np.arange(k * 100, k * 100 + int(rng.integers(0, 40)), dtype=np.int32)
        )
        path = str(tmp_path / f"p{k}.arrow")
        pieces.append((path, write_piece(path, pack(part, part + 7))))
        values += part.tolist()
    left, made = reduce_fan_in(pieces, rng, str(tmp_path / "scratch"), fan_in=3)
    assert len(left) <= 3 and len(made) == 4 + 2  # 11 -> 4 -> 2
    merged = np.concatenate(list(merge_shuffle([(r, iter_piece(p)) for p, r in left], rng)))
    centers, contexts = unpack(merged)
    assert sorted(centers.tolist()) == sorted(values)
    assert np.array_equal(contexts, centers + 7)


def test_a_piece_reads_the_same_kept_open_or_reopened(tmp_path):
    from sgns.pipeline.pairs.pieces import PIECE_BATCH_ROWS, iter_piece, write_piece
    from sgns.pipeline.pairs.shuffle import pack

    values = np.arange(2 * PIECE_BATCH_ROWS + 5, dtype=np.int32)
    path = str(tmp_path / "piece.arrow")
    write_piece(path, pack(values, values + 1))
    reopened = list(iter_piece(path))
    kept_open = list(iter_piece(path, keep_open=True))
    assert [len(b) for b in reopened] == [PIECE_BATCH_ROWS, PIECE_BATCH_ROWS, 5]
    assert all(np.array_equal(a, b) for a, b in zip(reopened, kept_open, strict=True))
