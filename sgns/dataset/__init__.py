"""The dataset directory: the contract between `pipeline/` (writes it) and `sgns/` (reads it).

File names, the pair schema, the manifest layout and its version live here and nowhere else
(layout.py: the names; vocab.py: the vocabulary file; manifest.py: reading, checking and writing
the manifest; all re-exported here). It imports neither Beam nor torch, so both stages (and
users' scripts) can use it.

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
                        columns DELTA_BINARY_PACKED without a dictionary, zstd (a fraction of
                        8 bytes a pair: BENCHMARKS.md, "Pair shards"): a reader shuffles each
                        row group as it reads it (the trainer with a seeded permutation,
                        sgns.train.shards); "shuffled" (version 1): in their shuffled order,
                        plain and uncompressed
      snapshots/inc-00000/vocab.tsv, snapshots/inc-00000/counts.tsv
                        what vocab.tsv and counts.tsv held right after increment 0 (one folder
                        per increment, never rewritten): the exact files of the manifest whose
                        last increment it is
      phrases.tsv       --phrases only: increment 0's phrase table (sgns.pipeline.phrases)

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
DIR with .sgns-dataset (sgns.pipeline.dataset.outdir).

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
    phrases           --phrases only: {"file": PHRASES_FILE, "sha256", "phrases", "connectors"
                      (the words of --phrase-connectors; absent before 2026-12-05), "rounds"}
    stats             totals over increments: files, lines, tokens, oov_tokens,
                      replaced_bytes, long_tokens (tokens cut to tokens.MAX_TOKEN_CHARS
                      characters; absent in datasets written before 2026-12-04), pairs (summed
                      over passes), tokens_kept (summed over passes)
    increments        list of increments, in order (at least one; each field a reader uses
                      is checked for its kind, sgns.dataset.shape, and no increment or shard
                      is listed twice):
      index           0, 1, ...
      created         ISO-8601 UTC time the increment was written
      inputs          the input files of this increment, one object each: "path" (as given to
                      the readers; absolute for local files), "size" (bytes), "mtime" (seconds,
                      as the filesystem reports it), "head_tail_sha256" (sha256 of the first
                      MiB and the last MiB of its bytes; of all of them up to 2 MiB); since
                      2026-12-05 "content_head_sha256" (sha256 of the first MiB of its text: of
                      a .gz or .bz2 decompressed), "content_size" and "content_head_tail_sha256"
                      (its text's size and head_tail_sha256: of a plain file the size only, its
                      text being its bytes; of a .gz or .bz2 only once taken, as
                      sgns.pipeline.dataset.inputs says)
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

from sgns.dataset.layout import (  # noqa: F401 - the contract's names, read as sgns.dataset.X
    CENTER,
    CONTEXT,
    COUNTS_FILE,
    FORMAT,
    MANIFEST_FILE,
    PAIR_COLUMNS,
    PAIR_DTYPE,
    PAIRS_DIR,
    PHRASES_FILE,
    READABLE_VERSIONS,
    ROW_GROUP_ROWS,
    ROW_ORDER_SHUFFLED,
    ROW_ORDER_SORTED,
    SCHEMA_VERSION,
    SNAPSHOTS_DIR,
    VOCAB_FILE,
    DamagedManifest,
    check_utf8_name,
    inside,
    pair_schema,
    shard_path,
    snapshot_path,
)
from sgns.dataset.manifest import (  # noqa: F401
    Shard,
    check_resolved,
    dump_manifest,
    pass_shards,
    read_manifest,
    validate_manifest,
    write_manifest_local,
)
from sgns.dataset.vocab import (  # noqa: F401
    format_vocab,
    parse_vocab,
    read_manifest_vocab,
    read_vocab,
    vocab_fingerprint,
    words_fingerprint,
)
