"""The manifest's shape: every field a reader uses is there and of its type, before any is used.

A manifest is JSON that a person can edit or a disk can damage. A field of another type
(`counts` a list, `config` null, an increment's `passes` a dict) would end deep inside a reader
in a TypeError, and an increment or a shard listed twice would be trained twice. `check_shape`
walks the whole manifest once (sgns.dataset.validate_manifest calls it, and every reader, the
trainer's and sgns-preprocess --append's, reads through that): each field of its kind
(`FIELDS`: required ones present), increments and passes numbered in order, no shard path twice,
the increments' vocabulary sizes adding up, and every path it names inside the dataset (`inside`);
the pipeline's settings in its config each of its kind, or one of its choices (`CONFIG`: a
dataset older than a setting lacks it), and a phrases entry where the config has phrase rounds.
Its one line names the field.

The limits of a setting (its range in `CONFIG`, passes x num_shards, npmi's threshold range) are
today's, and may be newer than a dataset (num_shards 70000 was a run's before MAX_SHARD_FILES):
they are checked where the setting is used, by `check_limits` (--append and --watch take the
dataset's settings, the phrase command its block_bytes and max_sentence_length), never where the
manifest is read (a trainer uses none of them).
"""

from __future__ import annotations

import math

from sgns.dataset.layout import (
    COUNTS_FILE,
    PHRASES_FILE,
    VOCAB_FILE,
    DamagedManifest,
    inside,
    snapshot_path,
)
from sgns.dataset.settings import (
    ERRORS,
    MAX_INT,
    MAX_PHRASE_ROUNDS,
    MAX_SHARD_FILES,
    MIN_BLOCK_BYTES,
    NORMALIZATIONS,
    NPMI_RANGE,
    PHRASE_GROWTHS,
    PHRASE_SCORERS,
    PHRASE_WORDS,
    TOKENIZERS,
    is_text_codec,
)
from sgns.errors import UsageError

COUNT, TEXT, OBJECT, LIST = "a count", "text", "an object", "a list"
FLAG, NUMBER = "true or false", "a finite number"
_KINDS = {COUNT: int, TEXT: str, OBJECT: dict, LIST: list, FLAG: bool}
# What each part of a manifest holds: {field: (kind, required)}; fields not named are not read.
# (seed and an increment's vocab_size: written by every sgns since the first, and read by
# --append and --resume)
FIELDS = {
    "manifest": {
        "config": (OBJECT, True), "vocab": (OBJECT, True), "stats": (OBJECT, True),
        "increments": (LIST, True), "counts": (OBJECT, False), "phrases": (OBJECT, False),
        "seed": (COUNT, True), "created": (TEXT, False), "beam_version": (TEXT, False),
    },
    "vocab": {
        "size": (COUNT, True), "file": (TEXT, True), "snapshot": (TEXT, False),
        "sha256": (TEXT, False), "words_sha256": (TEXT, False), "total_count": (COUNT, False),
    },
    "counts": {
        "file": (TEXT, True), "snapshot": (TEXT, False), "sha256": (TEXT, False),
        "distinct_words": (COUNT, False), "total_count": (COUNT, False),
    },
    "phrases": {"file": (TEXT, True), "sha256": (TEXT, True), "phrases": (COUNT, True)},
    "increment": {
        "index": (COUNT, True), "passes": (LIST, True), "stats": (OBJECT, True),
        "inputs": (LIST, False), "seed": (COUNT, False), "num_shards": (COUNT, False),
        "row_order": (TEXT, False), "vocab_size": (COUNT, True), "vocab_sha256": (TEXT, False),
        "new_words": (COUNT, False), "created": (TEXT, False),
    },
    "pass": {
        "shards": (LIST, True), "pairs": (COUNT, True), "tokens_kept": (COUNT, True),
        "pass": (COUNT, False),
    },
    "shard": {"path": (TEXT, True), "pairs": (COUNT, True), "row_groups": (COUNT, True)},
    # (an input without size or head_tail_sha256 is known by its path alone:
    # pipeline/dataset/inputs.py)
    "input": {"path": (TEXT, True), "size": (COUNT, False), "head_tail_sha256": (TEXT, False),
              "content_size": (COUNT, False), "content_head_sha256": (TEXT, False),
              "content_head_tail_sha256": (TEXT, False)},
}  # fmt: skip
_COUNTS = (1, MAX_INT)
# The settings a manifest's config records (sgns.dataset.settings), each one optional (a dataset
# older than a setting lacks it: its readers take what runs did then) and, when there, of its
# kind and in its range: {setting: (kind, (lowest, highest or None) or its choices, or None)}.
CONFIG = {
    "inputs": (LIST, None), "output": (TEXT, None), "lowercase": (FLAG, None),
    "append": (FLAG, None), "overwrite": (FLAG, None), "min_count": (COUNT, _COUNTS),
    "max_vocab": (COUNT, _COUNTS), "sample": (NUMBER, (0, None)), "window": (COUNT, _COUNTS),
    "max_sentence_length": (COUNT, _COUNTS), "passes": (COUNT, _COUNTS),
    "num_shards": (COUNT, _COUNTS), "seed": (COUNT, (0, None)),
    "block_bytes": (COUNT, (MIN_BLOCK_BYTES, MAX_INT)), "encoding": (TEXT, None),
    "errors": (TEXT, ERRORS), "normalize": (TEXT, NORMALIZATIONS), "tokenizer": (TEXT, TOKENIZERS),
    "phrases": (COUNT, (0, MAX_PHRASE_ROUNDS)), "phrase_threshold": (NUMBER, None),
    "phrase_min_count": (COUNT, _COUNTS), "phrase_scorer": (TEXT, PHRASE_SCORERS),
    "phrase_max_vocab": (COUNT, (1, None)), "phrase_connectors": (TEXT, None),
    "phrase_growth": (TEXT, PHRASE_GROWTHS), "phrase_words": (TEXT, PHRASE_WORDS),
}  # fmt: skip
NULLABLE = ("max_vocab", "phrase_threshold")  # null: every word; the scorer's threshold


def _shown(value) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, (int, float, str)):
        return f"{value!r:.40}"
    return type(value).__name__


def _of_kind(value, kind: str) -> bool:
    if kind == COUNT:  # (JSON's true and false are no counts)
        return type(value) is int and value >= 0
    if kind == NUMBER:
        return type(value) in (int, float) and math.isfinite(value)
    return isinstance(value, _KINDS[kind])


def damaged(where: str, what: str, of_config: bool = False) -> DamagedManifest:
    """The one-line error for a manifest (read from `where`) whose `what` is wrong (`of_config`:
    a setting of its config, and nothing that names the dataset's files)."""
    return DamagedManifest(where, what, of_config=of_config)


def _check(value, part: str, name: str, where: str) -> dict:
    """`value` (the manifest's `name`, a `part` of FIELDS) if an object whose fields are of
    their kinds, else the error naming the first that is not."""
    if not isinstance(value, dict):
        raise damaged(where, f"{name} is {_shown(value)}, not an object")
    for field, (kind, required) in FIELDS[part].items():
        said = field if part == "manifest" else f"{name}'s {field}"
        if field not in value:
            if required:
                raise damaged(where, f"{name} lacks its {field}")
        elif not _of_kind(value[field], kind):
            raise damaged(where, f"{said} is {_shown(value[field])}, not {kind}")
    return value


def check_shape(manifest: dict, where: str) -> None:
    """Raise UsageError naming the first field of `manifest` (read from `where`) that is
    missing, of another kind, out of order, listed twice or a path outside the dataset."""
    _check(manifest, "manifest", "the manifest", where)
    _check_config(manifest["config"], where)
    rounds = manifest["config"].get("phrases", 0)  # (a phrase table only with --phrases N > 0)
    if bool(rounds) != ("phrases" in manifest):
        said = f"is {rounds}" if "phrases" in manifest["config"] else "is not there (0 rounds)"
        raise damaged(where, f"config.phrases {said} but it has {'no' if rounds else 'a'} "
                      "phrases entry")  # fmt: skip
    for key in ("vocab", "counts", "phrases"):
        if key in manifest:
            entry = _check(manifest[key], key, key, where)
            for name in ("file", "snapshot"):
                if name in entry:
                    inside(entry[name], where, f"{key}.{name}")
    _check_stats(manifest["stats"], "stats", where)
    increments = manifest["increments"]
    if not increments:
        raise damaged(where, "increments is empty (a dataset has at least its first)")
    paths: dict[str, str] = {}
    for i, increment in enumerate(increments):
        what = f"increment {i}"
        _check(increment, "increment", what, where)
        if increment["index"] != i:  # (an increment listed twice, or one left out)
            raise damaged(where, f"{what} has the index {increment['index']}, not {i}")
        _check_stats(increment["stats"], f"{what}'s stats", where)
        for entry in increment.get("inputs", []):
            if not isinstance(entry, str):  # (a plain path in datasets of before 2026-11)
                _check(entry, "input", f"an input of {what}", where)
        if not increment["passes"]:
            raise damaged(where, f"{what} has no passes")
        for p, listed in enumerate(increment["passes"]):
            _check(listed, "pass", f"{what} pass {p}", where)
            if listed.get("pass", p) != p:
                raise damaged(where, f"{what} pass {p} has the number {listed['pass']}")
            for shard in listed["shards"]:
                _check(shard, "shard", f"a shard of {what} pass {p}", where)
                path = inside(shard["path"], where, f"a shard path of {what} pass {p}")
                if path in paths:  # its pairs would be trained twice
                    raise damaged(where, f"the shard {path!r} is listed twice ({paths[path]} "
                                  f"and {what} pass {p})")  # fmt: skip
                paths[path] = f"{what} pass {p}"
    _check_sizes(manifest, where)
    _check_names(manifest, len(increments) - 1, where)


def _check_sizes(manifest: dict, where: str) -> None:
    """Refuse vocabulary sizes that do not add up: an increment's vocab_size is the words before
    it plus its new_words (the vocabulary only grows: old ids never change), and the last one's
    is vocab.size (a trainer takes an increment's words from it; a checkpoint is checked
    against it, and would be blamed)."""
    before = 0
    for i, increment in enumerate(manifest["increments"]):
        size, new = increment["vocab_size"], increment.get("new_words")
        if size < before or (new is not None and size != before + new):
            added = f" plus its new_words {new}" if new is not None else " or more"
            raise damaged(where, f"increment {i}'s vocab_size is {size}, not the {before} words "
                          f"before it{added}")  # fmt: skip
        before = size
    if before != manifest["vocab"]["size"]:
        raise damaged(where, f"the last increment's vocab_size is {before}, not vocab.size "
                      f"{manifest['vocab']['size']}")  # fmt: skip


def _check_names(manifest: dict, last: int, where: str) -> None:
    """Refuse a vocab, counts or phrases entry naming a file other than the layout's (another
    file of the dataset: --append would publish its vocabulary over it)."""
    for key, name in (("vocab", VOCAB_FILE), ("counts", COUNTS_FILE), ("phrases", PHRASES_FILE)):
        entry = manifest.get(key, {})
        wanted = {"file": name, "snapshot": snapshot_path(last, name)}
        for field in ("file", "snapshot") if key != "phrases" else ("file",):
            if field in entry and entry[field] != wanted[field]:
                raise damaged(where, f"{key}.{field} is {_shown(entry[field])}, not "
                              f"{wanted[field]!r} (the layout's name for it)")  # fmt: skip


def _check_stats(stats, name: str, where: str) -> None:
    if not isinstance(stats, dict):
        raise damaged(where, f"{name} is {_shown(stats)}, not an object")
    for key, value in stats.items():
        if not _of_kind(value, COUNT):
            raise damaged(where, f"{name}.{key} is {_shown(value)}, not {COUNT}")


def _check_config(config: dict, where: str) -> None:
    """Refuse a manifest whose config holds a setting of another kind or not one of its choices
    (`CONFIG`), naming it: its readers (--append, the phrase command) take them as they are."""

    def refuse(field: str, wanted: str):
        raise damaged(where, f"config.{field} is {_shown(config[field])}, not {wanted}", True)

    for field, (kind, allowed) in CONFIG.items():
        value = config.get(field)
        if field not in config or (value is None and field in NULLABLE):
            continue
        if not _of_kind(value, kind):
            refuse(field, kind)
        if allowed and isinstance(allowed[0], str) and value not in allowed:
            refuse(field, f"one of {', '.join(allowed)}")
    if "encoding" in config and not is_text_codec(config["encoding"]):
        refuse("encoding", "a text encoding Python knows")
    if config.get("phrase_connectors") == "":
        refuse("phrase_connectors", "english, none or a file")


def past_limit(config: dict, fields) -> tuple[str, str] | None:
    """(the first setting of `fields` whose value in `config`, a manifest's checked config,
    lies outside what a run accepts today; what it must be), or None. passes x num_shards is
    checked when both are in `fields` (one given to a run: the run's own check says it)."""
    for field in fields:
        kind, allowed = CONFIG[field]
        value = config.get(field)
        if value is None or not allowed or isinstance(allowed[0], str):
            continue
        low, high = allowed
        if value < low or (high is not None and value > high):
            return field, f"{kind} in [{low}, {high}]" if high is not None else f"{kind} >= {low}"
    shards = config.get("passes", 1) * config.get("num_shards", 1)
    if {"passes", "num_shards"} <= set(fields) and shards > MAX_SHARD_FILES:
        return "num_shards", f"at most {MAX_SHARD_FILES:,} shard files with its passes"
    low, high = NPMI_RANGE
    threshold = config.get("phrase_threshold")
    npmi = config.get("phrase_scorer", "npmi") == "npmi"  # (npmi: the default scorer)
    if "phrase_threshold" in fields and npmi and threshold is not None:
        if not low <= threshold < high:
            return "phrase_threshold", f"in npmi's range [{low:g}, {high:g})"
    return None


def check_limits(config: dict, where: str, fields, advice) -> None:
    """UsageError when a setting of `fields` that a command takes from the config of the
    manifest read from `where` lies outside today's limits (`past_limit`), naming it, with
    `advice(field)`: what to do."""
    found = past_limit(config, fields)
    if found is not None:
        field, wanted = found
        raise UsageError(
            f"{where}: config.{field} {_shown(config[field])} is outside what this sgns allows "
            f"({wanted}): the dataset was made by an sgns that allowed it, or its manifest was "
            f"edited; {advice(field)}"
        )
