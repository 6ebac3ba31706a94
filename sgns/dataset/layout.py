"""The dataset's names: its files, the pair schema, the manifest's version, the one check
that a path a manifest names stays inside the dataset (the layout: sgns.dataset's docstring),
and the one check that a dataset's path can be handed to Parquet and Beam at all."""

from __future__ import annotations

import os
import sys

from sgns.errors import UsageError

FORMAT = "sgns-dataset"
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
ROW_ORDER_SORTED = "sorted"  # each row group sorted by (center, context): shuffle when reading
ROW_ORDER_SHUFFLED = "shuffled"  # each row group in its (already random) order
MANIFEST_FILE = "manifest.json"
VOCAB_FILE = "vocab.tsv"
COUNTS_FILE = "counts.tsv"
PHRASES_FILE = "phrases.tsv"
PAIRS_DIR = "pairs"
SNAPSHOTS_DIR = "snapshots"
CENTER = "center"
CONTEXT = "context"
PAIR_COLUMNS = (CENTER, CONTEXT)
PAIR_DTYPE = "int32"
# Rows per Parquet row group in the final shards: 131072 pairs = 1 MiB of ids. A row group is the
# trainer's unit of streaming and of work split across ranks and loader workers, so it must be small
# enough that a pass has many of them (and a worker holds only one or two in memory), and large
# enough that per-unit costs (a seek, a metadata lookup, a decode call) vanish next to the data.
ROW_GROUP_ROWS = 131072
RESTORE = "restore it or rebuild the dataset"  # what a damaged manifest's line tells to do


class DamagedManifest(UsageError):
    """The manifest read from `where` is damaged or was edited: `what` is wrong in it (`of_config`:
    a setting of its config only). Its line ends with what to do, `advice` (sgns-preprocess
    --overwrite, which reads the old manifest before it replaces the dataset, says to remove the
    folder: `advised`)."""

    def __init__(self, where: str, what: str, advice: str = RESTORE, of_config: bool = False):
        super().__init__(f"{where}: {what}: the manifest is damaged; {advice}")
        self.where, self.what, self.of_config = where, what, of_config

    def advised(self, advice: str) -> DamagedManifest:
        """The same error, with `advice` for what to do."""
        return DamagedManifest(self.where, self.what, advice, self.of_config)


def shard_path(increment: int, pass_index: int, shard: int, num_shards: int) -> str:
    """Relative path of one shard file inside the dataset directory."""
    return (
        f"{PAIRS_DIR}/inc-{increment:05d}/pass-{pass_index:05d}/"
        f"shard-{shard:05d}-of-{num_shards:05d}.parquet"
    )


def snapshot_path(increment: int, name: str) -> str:
    """Relative path of the copy of `name` (VOCAB_FILE, COUNTS_FILE) made by an increment."""
    return f"{SNAPSHOTS_DIR}/inc-{increment:05d}/{name}"


def pair_schema():
    """The pyarrow schema of a pair shard (pyarrow is imported lazily)."""
    import pyarrow as pa

    return pa.schema([(CENTER, pa.int32()), (CONTEXT, pa.int32())])


def inside(relative, where: str, what: str) -> str:
    """`relative` (named by the manifest `where` as `what`) if a normalised "/" path inside the
    dataset (no empty, "." or ".." part, no "?"), else DamagedManifest: nothing is touched
    outside."""
    parts = relative.split("/") if isinstance(relative, str) else [""]
    if any(part in ("", ".", "..") for part in parts) or "?" in relative:
        raise DamagedManifest(
            where, f"it names {what} {relative!r}, which is not a relative path inside the "
            "dataset (nothing was read or written there)",
        )  # fmt: skip
    return relative


def check_utf8_name(path, what: str) -> None:
    """Raise UsageError when `path` (of a dataset, or a file Beam reads) is not the same name
    in UTF-8 as the OS has it: pyarrow, Beam's coders and the manifest take names as UTF-8.
    Where Python's filesystem encoding is not UTF-8 (a C or POSIX locale with PYTHONUTF8=0:
    ascii) a non-ASCII name comes with lone surrogates, which they refuse with a traceback
    (or open another file): the line names the path and the fix. A name whose bytes are no
    UTF-8 is to be renamed."""
    if not isinstance(path, str):
        return
    try:
        raw = os.fsencode(path)  # the bytes the OS has (or had) for the name
        name = raw.decode("utf-8")
    except UnicodeError:  # (bytes that are no UTF-8, or a surrogate no file name holds)
        name = None
    if name == path:
        return
    if name is None:
        shown = path.encode("utf-8", "surrogateescape") if _escaped(path) else path
        raise UsageError(f"{what} {shown!r}: its name is not UTF-8, which Parquet, Beam and "
                         "the manifest take names in; rename it")  # fmt: skip
    encoding = sys.getfilesystemencoding()
    raise UsageError(
        f"{what} {name!r}: Python takes file names here as {encoding}, not UTF-8 (a C or POSIX "
        "locale with PYTHONUTF8=0), so it cannot hand this name on to Parquet and Beam; set "
        "PYTHONUTF8=1, or a UTF-8 locale (LC_ALL=C.UTF-8), and run again"
    )


def _escaped(path: str) -> bool:
    """Whether `path`'s lone surrogates are all surrogateescape's (one undecodable byte each)."""
    return all(not "\ud800" <= c <= "\udfff" or "\udc80" <= c <= "\udcff" for c in path)
