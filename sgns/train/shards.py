"""What the trainer reads of a dataset directory: its checked metadata, and its row groups.

A unit is one (shard file, row group): the unit of streaming and of work split across ranks and
loader workers. Before a run starts, `load_dataset` reads the vocabulary the manifest names and
every shard's Parquet footer (`scan_shard`): row-group sizes, columns and the ids' range from the
column statistics, so that a dataset that does not fit its vocabulary is refused before the
first step. `RowGroupReader` then reads whole row groups during training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq

from sgns import dataset


@dataclass(frozen=True)
class Unit:
    """One row group of one shard."""

    path: str
    row_group: int
    pairs: int


def scan_shard(path: str, vocab_size: int) -> list[int]:
    """Row-group sizes of one shard, after checking it cheaply from its Parquet footer.

    Raises ValueError naming the file when it is unreadable, has the wrong columns, or its column
    statistics show ids outside [0, vocab_size).
    """
    try:
        meta = pq.ParquetFile(path).metadata
    except FileNotFoundError:
        raise FileNotFoundError(f"shard {path} listed in the manifest does not exist") from None
    except Exception as e:  # pyarrow raises several types for a damaged file
        raise ValueError(f"shard {path} is not a readable Parquet file ({e})") from None
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if sorted(names) != sorted(dataset.PAIR_COLUMNS):
        raise ValueError(f"shard {path} has columns {names}, expected {list(dataset.PAIR_COLUMNS)}")
    sizes = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        sizes.append(group.num_rows)
        for c in range(group.num_columns):
            stats = group.column(c).statistics
            if stats is None or not stats.has_min_max or group.num_rows == 0:
                continue
            if stats.min < 0 or stats.max >= vocab_size:
                raise ValueError(
                    f"shard {path} row group {g} has {names[c]} ids in [{stats.min}, {stats.max}] "
                    f"but the vocabulary has {vocab_size} words: the dataset is inconsistent"
                )
    return sizes


def scan_dataset(directory: str, manifest: dict, vocab_size: int) -> dict[str, list[int]]:
    """Row-group sizes of every shard of every pass, keyed by path (checks each shard)."""
    sizes: dict[str, list[int]] = {}
    passes = max(len(inc["passes"]) for inc in manifest["increments"])
    for epoch in range(passes):
        for shard in dataset.pass_shards(directory, manifest, epoch):
            if shard.path not in sizes:
                sizes[shard.path] = scan_shard(shard.path, vocab_size)
                if sum(sizes[shard.path]) != shard.pairs:
                    raise ValueError(
                        f"shard {shard.path} holds {sum(sizes[shard.path])} pairs but the manifest "
                        f"says {shard.pairs}: the dataset is inconsistent"
                    )
    return sizes


def load_dataset(directory: str, manifest: dict | None = None):
    """Manifest, words, counts and row-group sizes, after the cheap consistency checks.

    The words and counts are exactly the manifest's (its snapshot: vocab.tsv may be newer while
    an increment is being added)."""
    manifest = manifest if manifest is not None else dataset.read_manifest(directory)
    try:
        words, counts = dataset.read_manifest_vocab(directory, manifest)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{directory!r} lacks {e.filename}") from None
    if not words:
        raise ValueError(f"the vocabulary of {directory!r} is empty: nothing to train")
    sizes = scan_dataset(directory, manifest, len(words))
    return manifest, words, counts, sizes


def epoch_units(directory: str, manifest: dict, sizes: dict[str, list[int]], epoch: int):
    """All units of the pass that `epoch` reads, in manifest order."""
    return [
        Unit(shard.path, g, n)
        for shard in dataset.pass_shards(directory, manifest, epoch)
        for g, n in enumerate(sizes[shard.path])
    ]


class RowGroupReader:
    """Reads whole row groups as (centers, contexts) int32 arrays, keeping the last file open.
    Every row group's ids are checked against the vocabulary as it is read (the footer's
    statistics may be absent), so that no engine ever trains a row outside the table."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.file, self.file_path = None, None

    def read(self, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
        try:
            if unit.path != self.file_path:
                self.file, self.file_path = pq.ParquetFile(unit.path), unit.path
            table = self.file.read_row_group(unit.row_group, columns=list(dataset.PAIR_COLUMNS))
            arrays = tuple(
                table.column(c).to_numpy().astype(np.int32, copy=False)
                for c in dataset.PAIR_COLUMNS
            )
        except Exception as e:
            raise ValueError(
                f"shard {unit.path} row group {unit.row_group} cannot be read ({e})"
            ) from None
        if len(arrays[0]) != unit.pairs:
            raise ValueError(f"shard {unit.path} row group {unit.row_group} changed size")
        self._check_ids(unit, arrays)
        return arrays

    def _check_ids(self, unit: Unit, arrays: tuple[np.ndarray, np.ndarray]) -> None:
        if not unit.pairs:
            return
        low = min(int(a.min()) for a in arrays)
        high = max(int(a.max()) for a in arrays)
        if low < 0 or high >= self.vocab_size:
            raise ValueError(
                f"shard {unit.path} row group {unit.row_group} has word ids in [{low}, {high}] "
                f"but the vocabulary has {self.vocab_size} words: the dataset is inconsistent"
            )
