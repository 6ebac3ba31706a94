"""The manifest's shape: every field a reader uses is there and of its type, before any is used.

A manifest is JSON that a person can edit or a disk can damage. A field of another type
(`counts` a list, `config` null, an increment's `passes` a dict) would end deep inside a reader
in a TypeError, and an increment or a shard listed twice would be trained twice. `check_shape`
walks the whole manifest once (sgns.dataset.validate_manifest calls it, and every reader, the
trainer's and sgns-preprocess --append's, reads through that): each field of its kind
(`FIELDS`: required ones present), increments and passes numbered in order, no shard path twice,
and every path it names inside the dataset (`inside`). Its one line names the field.
"""

from __future__ import annotations

from sgns.dataset.layout import _DAMAGED, inside
from sgns.errors import UsageError

COUNT, TEXT, OBJECT, LIST = "a count", "text", "an object", "a list"
_KINDS = {COUNT: int, TEXT: str, OBJECT: dict, LIST: list}
# What each part of a manifest holds: {field: (kind, required)}; fields not named are not read.
FIELDS = {
    "manifest": {
        "config": (OBJECT, True), "vocab": (OBJECT, True), "stats": (OBJECT, True),
        "increments": (LIST, True), "counts": (OBJECT, False), "phrases": (OBJECT, False),
        "seed": (COUNT, False), "created": (TEXT, False), "beam_version": (TEXT, False),
    },
    "vocab": {
        "size": (COUNT, True), "file": (TEXT, True), "snapshot": (TEXT, False),
        "sha256": (TEXT, False), "words_sha256": (TEXT, False), "total_count": (COUNT, False),
    },
    "counts": {
        "file": (TEXT, True), "snapshot": (TEXT, False), "sha256": (TEXT, False),
        "distinct_words": (COUNT, False), "total_count": (COUNT, False),
    },
    "phrases": {"file": (TEXT, False), "sha256": (TEXT, False), "phrases": (COUNT, False)},
    "increment": {
        "index": (COUNT, True), "passes": (LIST, True), "stats": (OBJECT, True),
        "inputs": (LIST, False), "seed": (COUNT, False), "num_shards": (COUNT, False),
        "row_order": (TEXT, False), "vocab_size": (COUNT, False), "vocab_sha256": (TEXT, False),
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


def _shown(value) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, (int, float, str)):
        return f"{value!r:.40}"
    return type(value).__name__


def _of_kind(value, kind: str) -> bool:
    if kind == COUNT:  # (JSON's true and false are no counts)
        return type(value) is int and value >= 0
    return isinstance(value, _KINDS[kind])


def damaged(where: str, what: str) -> UsageError:
    """The one-line error for a manifest (read from `where`) whose `what` is wrong."""
    return UsageError(f"{where}: {what}: {_DAMAGED}")


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


def _check_stats(stats, name: str, where: str) -> None:
    if not isinstance(stats, dict):
        raise damaged(where, f"{name} is {_shown(stats)}, not an object")
    for key, value in stats.items():
        if not _of_kind(value, COUNT):
            raise damaged(where, f"{name}.{key} is {_shown(value)}, not {COUNT}")
