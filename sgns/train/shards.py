"""What the trainer reads of a dataset directory: its checked metadata, and its row groups.

A unit is one (shard file, row group): the unit of streaming and of work split across ranks and
loader workers. Before a run starts, `load_dataset` reads the vocabulary the manifest names and
every shard's Parquet footer (`scan_shard`): row-group sizes, columns and the ids' range from the
column statistics, so that a dataset that does not fit its vocabulary is refused before the
first step. `RowGroupReader` then reads whole row groups during training; a sorted row group
(sgns.dataset.ROW_ORDER_SORTED) comes out in the order of a permutation drawn from the stream
"rows" of its unit (sgns.train.seeds): a uniformly random order, as a shuffled shard's was, so
batches are drawn as they were (not the same batches: another random order). Every read goes
through sgns.store: the dataset may be local, on s3:// or gs://.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch

from sgns import dataset, store
from sgns.errors import UsageError
from sgns.train import seeds
from sgns.train.native import build


@dataclass(frozen=True)
class Unit:
    """One row group of one shard."""

    path: str
    row_group: int
    pairs: int
    # (seed, ids) of the stream "rows" that orders a sorted row group; None: read as stored
    order: tuple[int, ...] | None = None
    group: int = 0  # > 0: read in groups of at most this many pairs with one center (`grouped`)


def scan_shard(path: str, vocab_size: int) -> list[int]:
    """Row-group sizes of one shard, after checking it cheaply from its Parquet footer.

    Raises UsageError naming the file when it is unreadable, has the wrong columns (or columns
    of other than integers), or its column statistics show ids outside [0, vocab_size).
    """
    try:
        parquet = store.open_parquet(path)
        meta, schema = parquet.metadata, parquet.schema_arrow
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"shard {path} listed in the manifest does not exist") from None
    except Exception as e:  # pyarrow raises several types for a damaged file
        raise UsageError(f"shard {path} is not a readable Parquet file ({e})") from None
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if sorted(names) != sorted(dataset.PAIR_COLUMNS):
        raise UsageError(f"shard {path} has columns {names}, expected {list(dataset.PAIR_COLUMNS)}")
    for field in schema:
        if not pa.types.is_integer(field.type):
            raise UsageError(
                f"shard {path} column {field.name!r} holds {field.type}, not integer word ids: "
                "the file is no sgns shard; rebuild the dataset (sgns-preprocess)"
            )
    sizes = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        sizes.append(group.num_rows)
        for c in range(group.num_columns):
            stats = group.column(c).statistics
            if stats is not None and stats.has_null_count and stats.null_count:
                raise _holds_nulls(path, g, names[c], stats.null_count)
            if stats is None or not stats.has_min_max or group.num_rows == 0:
                continue
            if stats.min < 0 or stats.max >= vocab_size:
                raise UsageError(
                    f"shard {path} row group {g} has {names[c]} ids in [{stats.min}, {stats.max}] "
                    f"but the vocabulary has {vocab_size} words: the dataset is inconsistent"
                )
    return sizes


def _holds_nulls(path: str, group: int, column: str, nulls: int) -> UsageError:
    return UsageError(
        f"shard {path} row group {group} has {nulls} null {column} ids: the file is damaged "
        "(an sgns shard holds no nulls); rebuild the dataset (sgns-preprocess)"
    )


def scan_dataset(directory: str, manifest: dict, vocab_size: int) -> dict[str, list[int]]:
    """Row-group sizes of every shard of every pass, keyed by path (checks each shard)."""
    sizes: dict[str, list[int]] = {}
    passes = max(len(inc["passes"]) for inc in manifest["increments"])
    for epoch in range(passes):
        for shard in dataset.pass_shards(directory, manifest, epoch):
            if shard.path not in sizes:
                dataset.check_resolved(directory, shard.path, "shard")
                sizes[shard.path] = scan_shard(shard.path, vocab_size)
                if sum(sizes[shard.path]) != shard.pairs:
                    raise UsageError(
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
        raise UsageError(f"the vocabulary of {directory!r} is empty: nothing to train")
    sizes = scan_dataset(directory, manifest, len(words))
    return manifest, words, counts, sizes


def epoch_units(
    directory: str, manifest: dict, sizes: dict[str, list[int]], epoch: int, seed: int = 0,
    stage: int = 0, group: int = 0,
):  # fmt: skip
    """All units of the pass that `epoch` reads, in manifest order; those of sorted increments,
    and all with `group` (Unit.group), with their "rows" stream of (seed, stage (its first
    increment), epoch, unit)."""
    units = []
    for shard in dataset.pass_shards(directory, manifest, epoch):
        keyed = group or shard.row_order == dataset.ROW_ORDER_SORTED
        key = (seed, stage, epoch, shard.increment, shard.pass_index, shard.number)
        for g, n in enumerate(sizes[shard.path]):
            units.append(Unit(shard.path, g, n, (*key, g) if keyed else None, group))
    return units


def group_order(centers: np.ndarray, group: int, draws) -> np.ndarray:
    """The grouped reading order of a row group (Unit.group): each center's pairs together, in
    a random order, cut into runs of at most `group`, the runs in a random order (the native
    engine's negative mode "group" trains a run as one group sharing its negatives:
    sgns_groups.c), drawn from `draws` by the kernel's sgns_group_order in O(n). A row group
    that is not sorted by center (a version-1 shuffled shard) is sorted for it first."""
    n = len(centers)
    key = int(torch.randint(0, 2**62, (), generator=draws))
    centers = np.ascontiguousarray(centers, dtype=np.int32)
    by_center = None
    if n > 1 and np.any(centers[1:] < centers[:-1]):
        by_center = np.argsort(centers, kind="stable")
        centers = np.ascontiguousarray(centers[by_center])
    out, work = np.empty(n, dtype=np.int64), np.empty(3 * n + 1, dtype=np.int64)
    status = build.load().sgns_group_order(
        centers.ctypes.data, n, group, key, out.ctypes.data, work.ctypes.data
    )
    if status != 0:  # (sorted above: unreachable)
        raise RuntimeError(f"sgns_group_order refused sorted centers (status {status})")
    return out if by_center is None else by_center[out]


class RowGroupReader:
    """Reads whole row groups as (centers, contexts) int32 arrays, keeping the last file open.
    Every row group's ids are checked against the vocabulary as it is read (the footer's
    statistics may be absent), so that no engine ever trains a row outside the table."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.file, self.file_path = None, None

    def read(self, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
        """(centers, contexts) of the unit, in its reading order."""
        rows = np.empty((2, unit.pairs), dtype=np.int32)
        self.read_into(unit, rows)
        return rows[0], rows[1]

    def read_into(self, unit: Unit, rows: np.ndarray) -> None:
        """Write the unit's centers and contexts, in its reading order, into `rows` (2, pairs):
        one copy, or one gather by the permutation of a sorted (or grouped) row group."""
        centers, contexts = self._decode(unit)
        self._check_ids(unit, (centers, contexts))
        if unit.order is None:
            rows[0], rows[1] = centers, contexts
            return
        seed, *ids = unit.order
        draws = seeds.stream_generator(seed, "rows", *ids)
        if unit.group:
            order = group_order(centers, unit.group, draws)
        else:
            order = torch.randperm(unit.pairs, generator=draws).numpy()  # (pairs,)
        np.take(centers, order, out=rows[0], mode="clip")  # a permutation: never out of range,
        np.take(contexts, order, out=rows[1], mode="clip")  # and "clip" writes `out` unbuffered

    def _decode(self, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
        try:
            if unit.path != self.file_path:
                self.file, self.file_path = store.open_parquet(unit.path), unit.path
            table = self._read_row_group(unit)
            # a null would become whatever casting NaN to int32 gives on this machine: refused
            nulls = [(c, table.column(c).null_count) for c in dataset.PAIR_COLUMNS]
            nulls = [(c, n) for c, n in nulls if n]
            arrays = () if nulls else tuple(
                table.column(c).to_numpy().astype(np.int32, copy=False)
                for c in dataset.PAIR_COLUMNS
            )  # fmt: skip
        except Exception as e:
            raise UsageError(
                f"shard {unit.path} row group {unit.row_group} cannot be read ({e})"
            ) from None
        if nulls:
            raise _holds_nulls(unit.path, unit.row_group, *nulls[0])
        if len(arrays[0]) != unit.pairs:
            raise UsageError(f"shard {unit.path} row group {unit.row_group} changed size")
        return arrays

    def _read_row_group(self, unit: Unit):
        read = self.file.read_row_group  # (from an object store: `waited`, which signals stop)
        columns = list(dataset.PAIR_COLUMNS)
        if not store.is_uri(unit.path):
            return read(unit.row_group, columns=columns)
        return store.waited(unit.path, lambda _: read(unit.row_group, columns=columns))

    def _check_ids(self, unit: Unit, arrays: tuple[np.ndarray, np.ndarray]) -> None:
        if not unit.pairs:
            return
        low = min(int(a.min()) for a in arrays)
        high = max(int(a.max()) for a in arrays)
        if low < 0 or high >= self.vocab_size:
            raise UsageError(
                f"shard {unit.path} row group {unit.row_group} has word ids in [{low}, {high}] "
                f"but the vocabulary has {self.vocab_size} words: the dataset is inconsistent"
            )
