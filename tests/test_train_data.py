"""Streaming: every pair exactly once per epoch across ranks and workers, same steps per rank,
row groups (not batches) dealt to workers, fixed-shape batches (sgns/train/loader.py)."""

import numpy as np
import pytest
import torch
from train_helpers import pair_ids, write_tiny_dataset

from sgns import dataset
from sgns.train.loader import PairBatches, RowGroups
from sgns.train.plan import assign_units, batch_counts
from sgns.train.shards import epoch_units, scan_dataset, scan_shard

V = 40


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("tiny"))
    manifest = write_tiny_dataset(directory, vocab_size=V, pairs=1000, shards=3, passes=2)
    sizes = scan_dataset(directory, manifest, V)
    return directory, manifest, sizes


def _epoch_pairs(tiny, epoch, world_size, batch_size, workers=0, seed=5):
    directory, manifest, sizes = tiny
    units = epoch_units(directory, manifest, sizes, epoch)
    split = assign_units(units, world_size, seed, epoch)
    steps = max(batch_counts(split, batch_size))
    per_rank = []
    for rank_units in split:
        stream = PairBatches(rank_units, batch_size, steps, V, workers=workers)
        per_rank.append([(c.clone(), x.clone(), n) for c, x, n in stream])
    return per_rank, steps


def _read_pass(tiny, k):
    import pyarrow.parquet as pq

    directory, manifest, _ = tiny
    shards = manifest["increments"][0]["passes"][k]["shards"]
    tables = [pq.read_table(f"{directory}/{s['path']}") for s in shards]
    return np.concatenate([pair_ids(t["center"], t["context"], V) for t in tables])


@pytest.mark.parametrize("world_size,workers", [(1, 0), (2, 0), (3, 2), (4, 0)])
def test_every_pair_exactly_once_per_epoch_and_equal_steps(tiny, world_size, workers):
    for epoch in (0, 1, 2):
        per_rank, steps = _epoch_pairs(tiny, epoch, world_size, 48, workers)
        assert all(len(batches) == steps for batches in per_rank)
        assert all(len(c) == len(x) == 48 for b in per_rank for c, x, _ in b)  # fixed shape
        seen = np.concatenate([pair_ids(c[:n], x[:n], V) for b in per_rank for c, x, n in b])
        expected = _read_pass(tiny, epoch % 2)  # epoch e reads pass e mod passes
        assert len(seen) == len(expected) == 1000
        assert np.array_equal(np.sort(seen), np.sort(expected))


def test_batches_do_not_depend_on_the_number_of_workers(tiny):
    one, _ = _epoch_pairs(tiny, 0, 2, 40, workers=0)
    two, _ = _epoch_pairs(tiny, 0, 2, 40, workers=2)
    for a, b in zip(one, two):
        assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(a, b))
        assert [x[2] for x in a] == [y[2] for y in b]


def test_stream_starts_at_any_batch(tiny):
    directory, manifest, sizes = tiny
    units = epoch_units(directory, manifest, sizes, 0)
    full = list(PairBatches(units, 50, 20, V))
    rest = list(PairBatches(units, 50, 20, V, start=7, workers=2))
    assert len(rest) == 13
    assert all(torch.equal(a[0], b[0]) and a[2] == b[2] for a, b in zip(full[7:], rest))


def test_the_last_batch_is_padded_and_past_the_data_come_empty_ones(tiny):
    directory, manifest, sizes = tiny
    units = epoch_units(directory, manifest, sizes, 0)[:2]  # 2 row groups of 64 pairs
    batches = list(PairBatches(units, 50, 5, V))
    assert [n for _, _, n in batches] == [50, 50, 28, 0, 0]
    centers, contexts, _ = batches[2]
    assert len(centers) == 50 and not centers[28:].any() and not contexts[28:].any()


def test_each_row_group_goes_to_one_worker_only(tiny):
    directory, manifest, sizes = tiny
    units = epoch_units(directory, manifest, sizes, 0)
    stream = RowGroups(units, 3, V)
    shares = [stream.indices(w, 3) for w in range(3)]
    dealt = sorted(i for share in shares for i in share)
    assert dealt == list(range(3, len(units)))  # each unit from `first` on, exactly once


def test_shuffle_is_agreed_and_changes_with_epoch_and_seed(tiny):
    directory, manifest, sizes = tiny
    units = epoch_units(directory, manifest, sizes, 0)
    assert assign_units(units, 2, 1, 0) == assign_units(units, 2, 1, 0)
    assert assign_units(units, 1, 1, 0) != assign_units(units, 1, 1, 2)
    assert assign_units(units, 1, 1, 0) != assign_units(units, 1, 2, 0)


def test_ranks_pair_counts_differ_by_at_most_one_row_group(tiny):
    directory, manifest, sizes = tiny
    units = epoch_units(directory, manifest, sizes, 0)
    loads = [sum(u.pairs for u in r) for r in assign_units(units, 3, 0, 0)]
    assert max(loads) - min(loads) <= max(u.pairs for u in units)


def test_ids_beyond_the_vocabulary_are_caught_from_statistics(tiny):
    directory, manifest, _ = tiny
    path = dataset.pass_shards(directory, manifest, 0)[0].path
    with pytest.raises(ValueError, match="vocabulary has 10 words"):
        scan_shard(path, 10)
