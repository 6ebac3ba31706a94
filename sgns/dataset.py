"""The dataset directory: the contract between `pipeline/` (writes it) and `sgns/` (reads it).

File names, the pair schema, the manifest layout and its version live here and nowhere else.
This module imports neither Beam nor torch, so both stages (and users' scripts) can use it.

Layout of a dataset directory::

    DIR/
      manifest.json     written last and atomically; a directory without it is not a dataset
      vocab.tsv         one line per word id: "word<TAB>count\\n", ids 0..V-1 in file order;
                        counts are over all increments so far
      counts.tsv        every word seen, in-vocabulary or not, with its count over all
                        increments ("word<TAB>count", count descending then word): what an
                        increment merges its own counts into, so a word rare in each increment
                        can still reach min_count
      pairs/inc-00000/pass-00000/shard-00000-of-00016.parquet
                        Parquet, columns center:int32, context:int32 (word ids), row groups of
                        ROW_GROUP_ROWS pairs; the pairs are spread over the shards uniformly at
                        random and each shard's order is a uniform shuffle. How a row group
                        stores its rows is its increment's "row_order" (below): "sorted" (schema
                        version 2 on): the row group's pairs sorted by (center, context), both
                        columns DELTA_BINARY_PACKED without a dictionary, zstd (about 1.8 bytes
                        a pair, not 8): a reader shuffles each row group as it reads it (the
                        trainer with a seeded permutation, sgns.train.shards); "shuffled"
                        (version 1): in their shuffled order, plain and uncompressed
      snapshots/inc-00000/vocab.tsv, snapshots/inc-00000/counts.tsv
                        what vocab.tsv and counts.tsv held right after increment 0 (one folder
                        per increment, never rewritten): the exact files of the manifest whose
                        last increment it is

Ids are assigned by count descending, ties broken by the word (code-point order). An increment
(online training) appends new words after the old ones; old ids never change. Increment 0 is the
initial build. Each increment has `passes` independent subsampling/window draws; a trainer's epoch
e reads pass e mod passes.

An increment is published in this order, and manifest.json is the one file whose replacement
(atomic rename) makes it part of the dataset:
  1. pairs/inc-0000k/... and snapshots/inc-0000k/... are written (no manifest lists them yet);
  2. vocab.tsv and counts.tsv are replaced by copies of the new snapshots;
  3. manifest.json is replaced.
(Each replacement is atomic: temp file + rename locally, a single object write on object stores.)
So a reader that reads manifest.json and then vocab.tsv may get a vocab.tsv NEWER than that
manifest (never older): its first manifest["vocab"]["size"] lines are that manifest's words with
their ids (old ids never change; an increment only appends lines), but the counts may already
include later increments, so vocab.tsv's sha256 may differ from manifest["vocab"]["sha256"].
Readers that need exactly the manifest's counts read manifest["vocab"]["snapshot"] (see
`read_manifest_vocab`), which never changes. A run that fails or is killed before step 3
leaves the manifest as it was; the next run (or the failing run itself) restores vocab.tsv and
counts.tsv from the snapshots the manifest names and deletes the unlisted pairs and snapshots
(until then vocab.tsv may stay newer than the manifest, as above). Shards and snapshots listed by
a manifest are never rewritten or deleted by a later increment. Since counts change with each
increment, so do vocab["sha256"]; words_fingerprint of the first V words, V an older size, stays
equal to that older manifest's vocab["words_sha256"]. One writer at a time: sgns-preprocess holds an
OS lock on DIR/.lock (local directories) while it writes, and a build that has not committed marks
DIR with .sgns-dataset (sgns.pipeline.outdir).

Manifest (JSON object)::

    format            "sgns-dataset"
    schema_version    SCHEMA_VERSION when written; readers read every version in
                      READABLE_VERSIONS. 2 (2026-12) added increments' "row_order" and wrote
                      compact sorted row groups; 1 had plain shuffled row groups only
    created           ISO-8601 UTC time of the last write
    beam_version      version of apache-beam that wrote it
    seed              the pipeline seed
    config            the pipeline configuration of the initial build (tokenization, vocabulary,
                      sampling, window ...); every increment has the same lowercase,
                      max_sentence_length, min_count, max_vocab, sample and window (sgns-preprocess
                      --append refuses others), while passes, num_shards and seed are its own
    vocab             {"file": "vocab.tsv", "size": V, "sha256": hex digest of vocab.tsv,
                       "words_sha256": words_fingerprint(words), "total_count": sum of the counts,
                       "snapshot": snapshot_path(last increment, VOCAB_FILE)}
    counts            {"file": "counts.tsv", "snapshot": snapshot_path(last increment,
                       COUNTS_FILE), "sha256": hex digest of counts.tsv, "distinct_words": lines,
                       "total_count": sum of its counts (every token read so far)}
    stats             totals over increments: files, lines, tokens, oov_tokens,
                      replaced_bytes, long_tokens (tokens cut to tokens.MAX_TOKEN_CHARS
                      characters; absent in datasets written before 2026-12-04), pairs (summed
                      over passes), tokens_kept (summed over passes)
    increments        list of increments, in order:
      index           0, 1, ...
      created         ISO-8601 UTC time the increment was written
      inputs          the input files of this increment, one object each: "path" (as given to
                      the readers; absolute for local files), "size" (bytes), "mtime" (seconds,
                      as the filesystem reports it), "head_tail_sha256" (sha256 of the first MiB
                      and the last MiB of the raw bytes; of the whole file up to 2 MiB)
      seed, num_shards  the seed and shards per pass of this increment's pairs
      row_order       ROW_ORDER_SORTED for increments written since version 2; absent
                      (ROW_ORDER_SHUFFLED) in older ones, also inside a version-2 manifest that
                      an append grew from a version-1 dataset
      vocab_size      vocabulary size after this increment
      vocab_sha256    sha256 of its vocabulary snapshot (datasets written since 2026-12)
      new_words       words this increment added (== vocab_size for increment 0)
      stats           files, lines, tokens, oov_tokens (tokens of this increment outside the
                      vocabulary after it), replaced_bytes, long_tokens
      passes          list, one per pass:
        pass          0, 1, ...
        tokens_kept   tokens surviving subsampling in this pass
        pairs         pairs in this pass
        shards        list of {"path": relative path, "pairs": rows, "row_groups": n}
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from sgns import files, store
from sgns.files import atomic_write

FORMAT = "sgns-dataset"
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
ROW_ORDER_SORTED = "sorted"  # each row group sorted by (center, context): shuffle when reading
ROW_ORDER_SHUFFLED = "shuffled"  # each row group in its (already random) order
MANIFEST_FILE = "manifest.json"
VOCAB_FILE = "vocab.tsv"
COUNTS_FILE = "counts.tsv"
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
_DAMAGED = "the manifest is damaged; restore it or rebuild the dataset"


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


# ---------------------------------------------------------------------------------------------
# Vocabulary file


def format_vocab(words: list[str], counts: list[int]) -> bytes:
    """The bytes of a vocabulary file: one "word<TAB>count" line per id, UTF-8."""
    if len(words) != len(counts):
        raise ValueError(f"{len(words)} words but {len(counts)} counts")
    return "".join(f"{w}\t{c}\n" for w, c in zip(words, counts)).encode("utf-8")


def parse_vocab(data: bytes, name: str = "vocabulary") -> tuple[list[str], list[int]]:
    """Words and counts from the bytes of a vocabulary file (`name`: its path, for errors).

    Lines are split on "\\n" only: tokens come from `str.split()` and so hold no ASCII whitespace,
    but they may hold characters that `str.splitlines()` would also break on.
    """
    words: list[str] = []
    counts: list[int] = []
    text = files.decode_text(data, name)
    for number, line in enumerate(text.split("\n")[:-1] if text else [], start=1):
        word, sep, count = line.rpartition("\t")
        if not sep or not word or not count.isdigit():
            raise ValueError(f"{name} line {number} is not 'word<TAB>count': {line[:80]!r}")
        words.append(word)
        counts.append(int(count))
    return words, counts


def read_vocab(directory: str) -> tuple[list[str], list[int]]:
    """Words and counts of vocab.tsv in a dataset (a local directory or a URI), in id order."""
    path = store.join(directory, VOCAB_FILE)
    return parse_vocab(store.read_bytes(path), path)


def read_manifest_vocab(directory: str, manifest: dict) -> tuple[list[str], list[int]]:
    """Exactly the words and counts of this manifest, even while an increment is being added:
    its snapshot when it names one (vocab.tsv may already be newer), else vocab.tsv. The file
    must be the one the manifest fingerprinted (its sha256), else the dataset was changed after
    it was written and ValueError says so."""
    vocab = manifest["vocab"]
    name = inside(
        vocab.get("snapshot", VOCAB_FILE), store.join(directory, MANIFEST_FILE), "vocab.snapshot"
    )
    data = store.read_bytes(store.join(directory, name))
    if "sha256" in vocab and hashlib.sha256(data).hexdigest() != vocab["sha256"]:
        raise ValueError(
            f"{name} in {directory!r} is not the vocabulary its manifest was written with "
            "(its sha256 differs): the dataset was changed since; rebuild it (sgns-preprocess)"
        )
    words, counts = parse_vocab(data, store.join(directory, name))
    if len(words) != manifest["vocab"]["size"]:
        raise ValueError(
            f"{name} in {directory!r} has {len(words)} words but the manifest says "
            f"{manifest['vocab']['size']}: the dataset is inconsistent"
        )
    return words, counts


def vocab_fingerprint(words: list[str], counts: list[int]) -> str:
    """sha256 of the vocabulary file these words and counts make."""
    return hashlib.sha256(format_vocab(words, counts)).hexdigest()


def words_fingerprint(words: list[str]) -> str:
    """sha256 of the words alone, in id order: what stays equal for the old ids of a vocabulary
    that an increment grew (its counts change, its first words do not)."""
    digest = hashlib.sha256()
    for word in words:
        digest.update(word.encode("utf-8") + b"\n")
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Manifest


def dump_manifest(manifest: dict) -> str:
    """The manifest as JSON text (stable key order, so equal manifests are equal bytes)."""
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def validate_manifest(manifest: dict, where: str = "manifest") -> dict:
    """Check the format and version a reader relies on; returns the manifest."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{where} is not an sgns dataset manifest (no format {FORMAT!r})")
    version = manifest.get("schema_version")
    if version not in READABLE_VERSIONS:
        readable = ", ".join(map(str, READABLE_VERSIONS))
        raise ValueError(
            f"{where} has schema_version {version!r}; this sgns reads versions {readable}. "
            "Re-run sgns-preprocess with this version, or use the sgns that wrote it."
        )
    for key in ("vocab", "config", "increments", "stats"):
        if key not in manifest:
            raise ValueError(f"{where} lacks the field {key!r}: the dataset is incomplete")
    _check_files(manifest, where)
    return manifest


def inside(relative, where: str, what: str) -> str:
    """`relative` (named by the manifest `where` as `what`) if a normalised "/" path inside the
    dataset (no empty, "." or ".." part, no "?"), else ValueError: nothing is touched outside."""
    parts = relative.split("/") if isinstance(relative, str) else [""]
    if any(part in ("", ".", "..") for part in parts) or "?" in relative:
        raise ValueError(
            f"{where} names {what} {relative!r}, which is not a relative path inside the dataset:"
            " the manifest was damaged or edited; restore it or rebuild the dataset (nothing was"
            " read or written there)"
        )
    return relative


def _listed(value, where: str, what: str) -> list:
    if isinstance(value, list):
        return value
    raise ValueError(f"{where}: {what} is {type(value).__name__}, not a list: {_DAMAGED}")


def _check_files(manifest: dict, where: str) -> None:
    """Every file the manifest names, before any is read or written: the vocabulary's and the
    counts' files and snapshots (`inside`), every shard's path and pairs."""
    for key, field in [(k, f) for k in ("vocab", "counts") for f in ("file", "snapshot")]:
        entry = manifest.get(key)
        if isinstance(entry, dict) and field in entry:
            inside(entry[field], where, f"{key}.{field}")
    for i, increment in enumerate(_listed(manifest["increments"], where, "increments")):
        passes = increment.get("passes") if isinstance(increment, dict) else None
        for p, listed in enumerate(_listed(passes, where, f"increment {i}'s passes")):
            what = f"increment {i} pass {p}"
            shards = listed.get("shards") if isinstance(listed, dict) else None
            for shard in _listed(shards, where, f"{what}'s shards"):
                if not isinstance(shard, dict) or not {"path", "pairs"} <= shard.keys():
                    raise ValueError(f"{where}: a shard of {what} lacks its path or pairs "
                                     f"({shard!r:.80}): {_DAMAGED}")  # fmt: skip
                inside(shard["path"], where, f"a shard path of {what}")


def read_manifest(directory: str) -> dict:
    """The validated manifest of a dataset: a local directory, or a URI (sgns.store).

    Raises FileNotFoundError when the directory has no manifest (it is not a dataset, or the run
    that wrote it did not finish) and ValueError when the manifest is one we cannot read.
    """
    path = store.join(directory, MANIFEST_FILE)
    try:
        data = store.read_bytes(path)
    except (FileNotFoundError, NotADirectoryError):
        if not store.is_dir(directory):  # say whether it is missing or a file
            files.check_directory(directory, "dataset directory")
        raise FileNotFoundError(
            f"{directory!r} has no {MANIFEST_FILE}: it is not a finished sgns dataset "
            "(run sgns-preprocess, and let it finish)"
        ) from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory, not a manifest") from None
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    return validate_manifest(manifest, path)


def write_manifest_local(directory: str, manifest: dict) -> None:
    """Write the manifest of a local directory atomically and durably (sgns.files)."""
    atomic_write(os.path.join(directory, MANIFEST_FILE), dump_manifest(manifest).encode())


@dataclass(frozen=True)
class Shard:
    """One Parquet shard of a pass, as the manifest lists it."""

    path: str  # joined with the dataset's location (sgns.store.join)
    pairs: int
    row_groups: int
    increment: int = 0  # its increment's index,
    pass_index: int = 0  # its pass,
    number: int = 0  # and its place in the pass's list: the shard's identity, wherever it is
    row_order: str = ROW_ORDER_SHUFFLED  # its increment's (see the module docstring)


def pass_shards(directory: str, manifest: dict, epoch: int) -> list[Shard]:
    """The shards a trainer reads in `epoch`: pass (epoch mod passes) of every increment."""
    shards = []
    for increment in manifest["increments"]:
        passes = increment["passes"]
        chosen = passes[epoch % len(passes)]
        order = increment.get("row_order", ROW_ORDER_SHUFFLED)
        for number, shard in enumerate(chosen["shards"]):
            relative = inside(shard["path"], store.join(directory, MANIFEST_FILE), "a shard path")
            path = store.join(directory, relative)
            shards.append(
                Shard(path, shard["pairs"], shard["row_groups"], increment["index"],
                      epoch % len(passes), number, order)
            )  # fmt: skip
    return shards
