"""Small corpora for pipeline tests: Zipf-like lines over a fixed word list, in files."""

from __future__ import annotations

import bz2
import gzip
import os

import numpy as np


def write_corpus(
    root, words: list[str], files: int, lines, longest: int, seed: int, compress: bool = False
) -> list[str]:
    """`files` files part-000.txt ... under `root` (created), each of `lines` lines (an int, or a
    (low, high) range drawn per file) of 1 .. longest - 1 words drawn with weights 1 / rank;
    with `compress`, plain, .gz and .bz2 in turn. Returns the file names."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    os.makedirs(root)
    names = []
    for index in range(files):
        count = lines if isinstance(lines, int) else int(rng.integers(*lines))
        text = "".join(
            " ".join(rng.choice(words, size=int(rng.integers(1, longest)), p=weights)) + "\n"
            for _ in range(count)
        ).encode()
        name, data = f"part-{index:03d}.txt", text
        if compress and index % 3 == 1:
            name, data = name + ".gz", gzip.compress(text)
        elif compress and index % 3 == 2:
            name, data = name + ".bz2", bz2.compress(text)
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
        names.append(name)
    return names
