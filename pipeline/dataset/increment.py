"""`--append`: what an increment needs from the dataset it grows, and keeping that dataset whole.

Settings of an append (see `check_settings`): those that decide what a token, a word id, a keep
probability or a pair is must equal the dataset's (`MATCHING`); the others may differ per
increment (`PER_INCREMENT`: passes, shards, seed, block size). A setting the user does not pass
is the dataset's own, so `--append` needs only --input and --output.

Crash safety, a second writer and whose a directory is: sgns.pipeline.dataset.outdir.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from sgns.dataset import (
    MANIFEST_FILE,
    PAIRS_DIR,
    SNAPSHOTS_DIR,
    DamagedManifest,
    validate_manifest,
)
from sgns.dataset.manifest import check_distinct_shards
from sgns.dataset.shape import check_limits
from sgns.errors import UsageError, loads_json
from sgns.pipeline.config import (
    MAX_SENTENCE_PAIRS,
    PHRASE_THRESHOLDS,
    PipelineConfig,
    sentence_pairs,
)
from sgns.pipeline.dataset.inputs import already_ingested
from sgns.pipeline.dataset.outputs import read_bytes

log = logging.getLogger(__name__)

MATCHING = ("lowercase", "max_sentence_length", "min_count", "max_vocab", "sample", "window")
# phrases: an increment applies the dataset's phrase table, found with these (never again)
MATCHING += ("phrases", "phrase_threshold", "phrase_min_count", "phrase_scorer", "phrase_max_vocab")
MATCHING += ("phrase_connectors", "phrase_growth", "phrase_words")
PHRASE_SETTINGS = tuple(name for name in MATCHING if name.startswith("phrase_"))
# text before tokens (sgns.pipeline.text.format): a token must mean what it meant in the dataset
MATCHING += ("normalize", "tokenizer")
# what a dataset older than a setting did, where that is not the setting's default today
OLDER = {"phrase_words": "replace"}
# how an increment's own files are decoded (sgns.pipeline.text.decoding) may differ from the
# dataset's
PER_INCREMENT = ("passes", "num_shards", "seed", "block_bytes", "encoding", "errors")


def read_dataset(output: str) -> dict | None:
    """The validated manifest of the dataset in `output` (any Beam filesystem); None if none.
    Checked as sgns.dataset.read_manifest checks it for train: also no two shard paths that
    are one file through a link inside the dataset (`check_distinct_shards`)."""
    path = FileSystems.join(output, MANIFEST_FILE)
    if not FileSystems.exists(path):
        return None
    data = read_bytes(path)
    try:
        manifest = loads_json(data.decode("utf-8"))
    except ValueError as e:
        raise DamagedManifest(path, f"it is not valid JSON ({e})") from None
    return check_distinct_shards(output, validate_manifest(manifest, path), path)


def require_dataset(output: str) -> dict:
    """The dataset `--append` grows, or a one-line error saying there is none."""
    manifest = read_dataset(output)
    if manifest is None:
        raise FileNotFoundError(
            f"--append: --output {output!r} holds no dataset (no {MANIFEST_FILE}); "
            "run without --append to build one"
        )
    return manifest


def _shown(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "none" if value is None else str(value)


def dataset_setting(dataset_config: dict, name: str):
    """A setting of the dataset whose manifest's config is `dataset_config`; one newer than the
    dataset is what the dataset did: OLDER's, else the default."""
    default = OLDER.get(name, PipelineConfig.__dataclass_fields__[name].default)
    return dataset_config.get(name, default)


def check_settings(config: PipelineConfig, dataset_config: dict) -> None:
    """Refuse an increment whose MATCHING settings differ from the dataset's, naming each."""
    dataset = {name: dataset_setting(dataset_config, name) for name in MATCHING}
    if dataset["phrase_threshold"] is None:  # as a config settles it: the scorer's default
        dataset["phrase_threshold"] = PHRASE_THRESHOLDS.get(dataset["phrase_scorer"])
    # a dataset without phrases, grown without phrases: how phrases would be found does not matter
    unused = () if dataset["phrases"] or config.phrases else PHRASE_SETTINGS
    differing = [
        f"--{name.replace('_', '-')} {_shown(getattr(config, name))} differs from the "
        f"dataset's {name} {_shown(dataset[name])}"
        for name in MATCHING
        if getattr(config, name) != dataset[name] and name not in unused
    ]
    if differing:
        raise UsageError(
            "; ".join(differing) + " (an increment must tokenize, count and sample as the "
            "dataset did; leave these options out to use the dataset's)"
        )


def check_taken_settings(output: str, dataset_config: dict | None, taken) -> None:
    """Refuse a setting an increment takes from the dataset in `output` (`taken`: those not
    given) that lies outside today's limits (sgns.dataset.shape.check_limits: a dataset may be
    older than a limit), naming it and what to do; and the dataset's window, which every
    increment takes, given or not, if its pairs per sentence lie past today's bound."""

    def advice(name: str) -> str:
        if name in PER_INCREMENT:  # (an increment's own: the dataset's is only its default)
            return f"give --{name.replace('_', '-')} for this increment"
        return "an increment takes the dataset's: rebuild it (--overwrite) to add to it"

    if taken:
        check_limits(dataset_config, FileSystems.join(output, MANIFEST_FILE), taken, advice)
    if dataset_config is not None:
        _check_sentence_pairs(output, dataset_config)


def _check_sentence_pairs(output: str, dataset_config: dict) -> None:
    """Refuse to grow a dataset whose window and max_sentence_length (made before
    MAX_SENTENCE_PAIRS, or edited) let one sentence make more pairs than that bound: the bound
    keeps the pairs one sentence makes at once within memory, and an increment makes its pairs
    with the dataset's window as a first run does (so it cannot just use them)."""
    window = dataset_setting(dataset_config, "window")
    length = dataset_setting(dataset_config, "max_sentence_length")
    pairs = sentence_pairs(window, length)
    if pairs > MAX_SENTENCE_PAIRS:
        widest = MAX_SENTENCE_PAIRS // (2 * length)
        fix = f"--window {widest} or less" if widest else "a lower --max-sentence-length"
        raise UsageError(
            f"{FileSystems.join(output, MANIFEST_FILE)}: config.window {window} with "
            f"config.max_sentence_length {length} lets one sentence make up to {pairs:,} pairs, "
            f"held in memory at once; this sgns makes at most {MAX_SENTENCE_PAIRS:,} (the "
            "dataset was made before that bound, or its manifest was edited), and an increment "
            "takes the dataset's window: build the dataset again from all its text with "
            f"{fix} (a new --output, or --overwrite)"
        )


def check_new_inputs(described: list[dict], manifest: dict) -> None:
    """Refuse input files that an increment of the dataset already read, naming them."""
    notes = already_ingested(described, manifest)
    if notes:
        raise UsageError(
            f"{len(notes)} input file(s) already in the dataset: {', '.join(notes.values())}; "
            "append only new files"
        )


def base_folder(output: str, manifest: dict) -> str:
    """The folder with the vocab.tsv and counts.tsv snapshots that the next increment grows,
    after checking that they are the files the manifest was written with (their sha256): a
    count changed since would be merged into every later increment's vocabulary."""
    if "snapshot" not in manifest.get("counts", {}) or "snapshot" not in manifest["vocab"]:
        raise UsageError(
            f"the dataset in {output!r} was written before increments kept counts.tsv; "
            "rebuild it (--overwrite) to append to it"
        )
    for key in ("vocab", "counts"):
        entry = manifest[key]
        path = FileSystems.join(output, entry["snapshot"])
        if "sha256" in entry and _sha256(path) != entry["sha256"]:
            raise UsageError(
                f"{path} was changed since the manifest was written (its sha256 is not the "
                f"manifest's {key}.sha256): restore it, or rebuild the dataset (--overwrite)"
            )
    return FileSystems.join(output, posixpath.dirname(manifest["counts"]["snapshot"]))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def increment_folders(output: str, index: int) -> list[str]:
    """Where increment `index` writes: its pairs and its snapshots."""
    name = f"inc-{index:05d}"
    return [FileSystems.join(output, folder, name) for folder in (PAIRS_DIR, SNAPSHOTS_DIR)]
