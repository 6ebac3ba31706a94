"""Compact pair shards (schema version 2): each row group sorted and stored DELTA_BINARY_PACKED +
zstd by pairfile, and shuffled again by the trainer's reader with the permutation of its
unit (a uniformly random order, as a shuffled shard's was) so that a resumed run reads the same;
version-1 datasets (and version-1 increments under a version-2 manifest) read as they were."""

import io

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from train_helpers import append_tiny_increment, pair_ids, write_tiny_dataset

from sgns import dataset
from sgns.pipeline.pairs.pairfile import sorted_pairs, write_pairs
from sgns.pipeline.pairs.shuffle import pack
from sgns.train.loader import PairBatches
from sgns.train.plan import assign_units, batch_counts
from sgns.train.shards import RowGroupReader, epoch_units, load_dataset

V = 40


def _zipf_pairs(n, vocab, seed=0):
    rng = np.random.default_rng(seed)
    words = (rng.zipf(1.2, 2 * n) - 1) % vocab
    return words[:n].astype(np.int32), words[n:].astype(np.int32)


def test_each_row_group_is_sorted_delta_encoded_and_zstd_compressed():
    centers, contexts = _zipf_pairs(5000, 3000)
    out = io.BytesIO()
    assert write_pairs(out, [pack(centers, contexts)], row_group_rows=1024) == (5000, 5)
    shard = pq.ParquetFile(io.BytesIO(out.getvalue()))
    stored = []
    for g in range(shard.num_row_groups):
        meta = shard.metadata.row_group(g)
        for c in range(meta.num_columns):
            column = meta.column(c)
            assert column.compression == "ZSTD"
            assert "DELTA_BINARY_PACKED" in column.encodings
            assert not column.dictionary_page_offset  # no dictionary
        table = shard.read_row_group(g)
        ids = pair_ids(table["center"], table["context"], 3000)
        assert np.all(np.diff(ids) >= 0)  # sorted by (center, context)
        start = 1024 * g  # the same pairs as that slice of the input
        want = pair_ids(centers[start : start + 1024], contexts[start : start + 1024], 3000)
        assert np.array_equal(ids, np.sort(want))
        stored.append(ids)
    assert sum(map(len, stored)) == 5000
    plain = io.BytesIO()
    pq.write_table(
        pq.read_table(io.BytesIO(out.getvalue())), plain, compression="none", use_dictionary=False
    )
    assert len(out.getvalue()) < 0.5 * len(plain.getvalue())


@pytest.mark.parametrize("vocab", [1, 40, 70000, 2**31 - 1])
def test_pairs_sort_by_center_then_context_for_any_id_width(vocab):
    rng = np.random.default_rng(vocab)
    for n in (0, 1, 3000):
        centers, contexts = (rng.integers(0, vocab, n).astype(np.int32) for _ in range(2))
        got_centers, got_contexts = sorted_pairs(pack(centers, contexts))
        order = np.lexsort((contexts, centers))
        assert np.array_equal(got_centers, centers[order])
        assert np.array_equal(got_contexts, contexts[order])


@pytest.fixture(scope="module")
def compact(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("compact"))
    manifest = write_tiny_dataset(directory, V, pairs=1000, shards=3, passes=2, sorted_rows=True)
    return directory, manifest, load_dataset(directory, manifest)[3]


def _stored(unit):
    table = pq.ParquetFile(unit.path).read_row_group(unit.row_group)
    return table["center"].to_numpy(), table["context"].to_numpy()


def test_a_sorted_row_group_is_read_in_its_units_own_shuffled_order(compact):
    directory, manifest, sizes = compact
    reader = RowGroupReader(V)
    unit = epoch_units(directory, manifest, sizes, 0, seed=5)[1]
    stored = pair_ids(*_stored(unit), V)
    first = pair_ids(*reader.read(unit), V)
    assert np.array_equal(np.sort(first), stored) and not np.array_equal(first, stored)
    again = pair_ids(*RowGroupReader(V).read(unit), V)  # another reader (worker, rank, run)
    assert np.array_equal(first, again)
    for other in (
        epoch_units(directory, manifest, sizes, 2, seed=5)[1],  # the same pass, a later epoch
        epoch_units(directory, manifest, sizes, 0, seed=6)[1],  # another seed
        epoch_units(directory, manifest, sizes, 0, seed=5, stage=1)[1],  # another stage
    ):
        assert other.path == unit.path and other.row_group == unit.row_group
        assert not np.array_equal(pair_ids(*reader.read(other), V), first)


def test_the_shuffle_is_uniform_over_positions(compact):
    directory, manifest, sizes = compact
    unit = epoch_units(directory, manifest, sizes, 0)[0]  # 64 pairs, stored sorted
    stored = pair_ids(*_stored(unit), V)
    rank_of = {pair: r for r, pair in enumerate(stored)}
    reader, means = RowGroupReader(V), []
    for epoch in range(0, 400, 2):  # pass 0 each time, a fresh permutation each epoch
        read = pair_ids(*reader.read(epoch_units(directory, manifest, sizes, epoch)[0]), V)
        means.append(np.mean([rank_of[p] for p in read[:8]]))
    # the first 8 pairs read are a random sample, not the smallest: mean sorted rank ~31.5
    assert 29 < np.mean(means) < 34


@pytest.mark.parametrize("world_size,workers", [(1, 0), (3, 2)])
def test_every_pair_once_per_epoch_and_the_same_batches_for_any_workers(
    compact, world_size, workers
):
    directory, manifest, sizes = compact
    for epoch in (0, 1):
        units = epoch_units(directory, manifest, sizes, epoch, seed=5)
        split = assign_units(units, world_size, 5, epoch)
        steps = max(batch_counts(split, 48))
        seen = []
        for rank_units in split:
            mine = [(c.clone(), x.clone(), n) for c, x, n in PairBatches(rank_units, 48, steps, V)]
            theirs = list(PairBatches(rank_units, 48, steps, V, workers=workers))
            assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]
                       for a, b in zip(mine, theirs))  # fmt: skip
            seen += [pair_ids(c[:n], x[:n], V) for c, x, n in mine]
        stored = [pair_ids(*_stored(u), V) for u in units]
        assert np.array_equal(np.sort(np.concatenate(seen)), np.sort(np.concatenate(stored)))
        assert len(np.concatenate(seen)) == 1000


def test_a_stream_started_mid_epoch_reads_the_same_order(compact):
    directory, manifest, sizes = compact
    units = epoch_units(directory, manifest, sizes, 1, seed=2)
    full = list(PairBatches(units, 50, 20, V))
    rest = list(PairBatches(units, 50, 20, V, start=7, workers=2))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(full[7:], rest))


def test_a_version_1_dataset_is_read_as_stored(tmp_path):
    directory = str(tmp_path / "v1")
    manifest = write_tiny_dataset(directory, V, pairs=500, shards=2)
    manifest["schema_version"] = 1
    dataset.write_manifest_local(directory, manifest)
    manifest = dataset.read_manifest(directory)
    sizes = load_dataset(directory, manifest)[3]
    reader = RowGroupReader(V)
    for unit in epoch_units(directory, manifest, sizes, 0, seed=5):
        assert unit.order is None
        assert all(np.array_equal(a, b) for a, b in zip(reader.read(unit), _stored(unit)))


def test_only_sorted_increments_are_shuffled_in_a_mixed_dataset(tmp_path):
    directory = str(tmp_path / "mixed")
    write_tiny_dataset(directory, V, pairs=300, shards=2)  # as a version-1 build wrote it
    manifest = append_tiny_increment(directory)
    manifest["increments"][1]["row_order"] = dataset.ROW_ORDER_SORTED  # a version-2 append ...
    dataset.write_manifest_local(directory, manifest)
    sizes = load_dataset(directory, manifest)[3]
    units = epoch_units(directory, manifest, sizes, 0, seed=1)
    increment = ["inc-00001" in u.path for u in units]
    assert [u.order is not None for u in units] == increment  # ... shuffled; the old one not
