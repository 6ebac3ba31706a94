"""Tests' view of a directory tree: every file's bytes, by relative path."""

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
