"""sgns-preprocess's progress: on a terminal a bar of the input bytes read per run (vocabulary,
pairs), counting every byte of plain, ranged and compressed files once; elsewhere no bar, a log
line per run."""

import functools
import io
import os
import re

import pytest
from corpora import write_corpus

from sgns.pipeline import progress, runs
from sgns.pipeline.preprocess import main
from sgns.pipeline.text import read

WORDS = [f"w{i:02d}" for i in range(40)]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture()
def corpus(tmp_path):
    root = tmp_path / "corpus"
    names = write_corpus(root, WORDS, files=3, lines=300, longest=12, seed=3, compress=True)
    return str(root), sum(os.path.getsize(root / n) for n in names)


def test_a_terminal_shows_a_bar_of_every_input_byte_read_in_each_run(corpus, tmp_path, monkeypatch):
    root, total = corpus
    bars = []

    class Recorded(progress.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(progress, "tqdm", Recorded)
    # ranges of 1000 bytes: a plain file is read as several sources, each counted to its end
    monkeypatch.setattr(
        runs, "plan_sources", functools.partial(read.plan_sources, range_bytes=1000)
    )
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["--input", root, "--output", str(tmp_path / "data")]) == 0
    assert [(b.desc, b.n, b.total) for b in bars] == [
        ("vocabulary", total, total),
        ("pairs", total, total),
    ]
    assert re.search(r"vocabulary: 100%\|", terminal.getvalue())
    assert "vocabulary run: reading" not in terminal.getvalue()  # the bar says it


def test_without_a_terminal_there_is_no_bar_but_a_log_line_per_run(corpus, tmp_path, capfd):
    root, total = corpus
    assert main(["--input", root, "--output", str(tmp_path / "data")]) == 0
    err = capfd.readouterr().err
    assert "\r" not in err and "%|" not in err
    for stage in ("vocabulary", "pairs"):
        assert f"{stage} run: reading {total} bytes of input" in err
