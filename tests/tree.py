"""Tests' view of a directory tree: every file's bytes, by relative path."""

import json
import os


def file_bytes(directory) -> dict[str, bytes]:
    """Every file below `directory`, its path relative to it -> its bytes."""
    found = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, directory)] = f.read()
    return found


def same_dataset(beam, local) -> dict:
    """Assert that two dataset directories hold the same files, byte for byte, and the same
    manifest but for what differs between any two runs (times, Beam's version, the output);
    returns the files of the first."""
    a_files, b_files = file_bytes(beam), file_bytes(local)
    assert sorted(a_files) == sorted(b_files)
    for name in a_files:
        if name != "manifest.json":
            assert a_files[name] == b_files[name], name
    a, b = (json.loads(d["manifest.json"]) for d in (a_files, b_files))
    for manifest in (a, b):
        for volatile in ("created", "beam_version"):
            manifest.pop(volatile)
        manifest["increments"][0].pop("created")
        manifest["config"].pop("output")
    assert a == b
    return a_files
