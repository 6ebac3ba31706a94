"""Reading corpus files as blocks: line ownership, enormous lines, sentences cut across pieces."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest

from sgns.pipeline.pairs.draw import WordIds, block_word_ids
from sgns.pipeline.text.blocks import Block, Source, read_blocks
from sgns.pipeline.text.read import plan_sources


def _blocks(data: bytes, block_bytes: int, max_len: int = 10000, start=0, end=-1) -> list[Block]:
    return list(read_blocks(io.BytesIO(data), Source(0, "mem", start, end), block_bytes, max_len))


def _corpus(lines: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(lines):
        n = int(rng.integers(0, 30))
        out.append(" ".join(f"w{int(v)}" for v in rng.integers(0, 50, n)))
    return ("\n".join(out) + "\n").encode()


@pytest.mark.parametrize("block_bytes", [16, 100, 1 << 20])
def test_blocks_hold_whole_lines_and_every_token_once(block_bytes):
    data = _corpus(200)
    blocks = _blocks(data, block_bytes)
    assert "".join(b.text for b in blocks) == data.decode()
    assert sum(b.lines for b in blocks) == data.count(b"\n")
    if block_bytes > max(map(len, data.split(b"\n"))):  # lines shorter than a block stay whole
        assert all(b.text.endswith("\n") for b in blocks)
    assert len({b.key for b in blocks}) == len(blocks)


def test_last_line_without_newline_is_counted():
    blocks = _blocks(b"a b\nc d", 1 << 20)
    assert sum(b.lines for b in blocks) == 2
    assert _blocks(b"", 1024) == []


@pytest.mark.parametrize("range_bytes", [7, 50, 333, 10_000])
def test_byte_ranges_read_each_line_exactly_once(range_bytes):
    data = _corpus(300, seed=3)
    sources = []
    for start in range(0, len(data), range_bytes):
        sources.append((start, min(start + range_bytes, len(data))))
    texts = [b.text for s, e in sources for b in _blocks(data, 64, start=s, end=e)]
    assert "".join(texts) == data.decode()


def test_plan_sources_splits_plain_files_not_compressed_ones():
    files = [("/c/a.txt", 250), ("/c/b.txt.gz", 10**9), ("/c/empty.txt", 0)]
    sources = plan_sources(files, range_bytes=100)
    assert [(s.path, s.start, s.end) for s in sources] == [
        ("/c/a.txt", 0, 100),
        ("/c/a.txt", 100, 200),
        ("/c/a.txt", 200, 250),
        ("/c/b.txt.gz", 0, -1),
        ("/c/empty.txt", 0, 0),
    ]


def _sentence_starts(blocks: list[Block], max_len: int) -> tuple[list[str], list[int]]:
    """All tokens in order, and the positions where a block's sentences start (not counting
    the start of each block, which the cutting does not decide)."""
    tokens = [w for b in blocks for w in b.text.split()]
    ids = WordIds({w: i for i, w in enumerate(sorted(set(tokens)))})
    starts, offset = [], 0
    for b in blocks:
        _, sentences, _ = block_word_ids(b, ids, False, max_len)
        starts += [offset + int(i) + 1 for i in np.flatnonzero(np.diff(sentences))]
        offset += len(sentences)
    return tokens, starts


def test_enormous_single_line_read_in_small_chunks_cuts_sentences_as_the_whole_line():
    n, max_len = 5000, 37
    line = " ".join(f"t{i % 97}" for i in range(n)).encode()  # one line, no newline
    blocks = _blocks(line, block_bytes=64, max_len=max_len)
    assert len(blocks) > 50 and sum(b.lines for b in blocks) == 1
    tokens, starts = _sentence_starts(blocks, max_len)
    assert tokens == line.decode().split()
    block_starts = set(np.cumsum([len(b.text.split()) for b in blocks])[:-1].tolist())
    expected = [p for p in range(max_len, n, max_len) if p not in block_starts]
    assert [p for p in starts if p not in block_starts] == expected
    assert max(b.carry for b in blocks) < max_len and any(b.carry for b in blocks)


def test_enormous_line_followed_by_short_lines():
    big = " ".join(["x"] * 1000)
    data = f"{big}\na b c\n{big}\nd\n".encode()
    max_len = 300
    blocks = _blocks(data, block_bytes=128, max_len=max_len)
    tokens, starts = _sentence_starts(blocks, max_len)
    assert tokens == data.decode().split()
    assert sum(b.lines for b in blocks) == 4
    lines_at = [0, 1000, 1003, 2003]
    block_starts = set(np.cumsum([len(b.text.split()) for b in blocks])[:-1].tolist())
    expected = sorted(
        {p for s in (0, 1003) for p in range(s + max_len, s + 1000, max_len)} | set(lines_at[1:])
    )
    assert [p for p in starts if p not in block_starts] == [
        p for p in expected if p not in block_starts
    ]


def test_undecodable_bytes_counted_per_block():
    data = b"good line\nbad \xff\xfe line\n" * 3
    blocks = _blocks(data, 1 << 20)
    assert sum(b.replaced_bytes for b in blocks) == 6
    assert "".join(b.text for b in blocks).count("\ufffd") == 6


def test_a_token_longer_than_a_block_is_read_past_and_kept_cut():
    token = "é" * 3000 + "x" * 5000  # no separator: two-byte characters, then one-byte ones
    data = f"a {token} b\u3000c\nd\n".encode()
    blocks = _blocks(data, block_bytes=1024)
    assert max(len(b.text.encode()) for b in blocks) < 2 * 1024 + 16
    tokens = "".join(b.text for b in blocks).split()
    assert tokens[0] == "a" and tokens[1].startswith("é" * 101) and tokens[2:] == ["b", "c", "d"]
    assert sum(b.lines for b in blocks) == 2 and sum(b.replaced_bytes for b in blocks) == 0


def test_one_huge_token_in_a_gz_is_read_in_bounded_memory(tmp_path):
    import gzip

    path = tmp_path / "huge.txt.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(b"a b ")
        for _ in range(64):
            f.write(b"x" * (1 << 20))  # one 64 MiB token
        f.write(b" b c\n")
    script = (
        "import resource, sys; from sgns.pipeline.config import PipelineConfig; "
        "from sgns.pipeline.local import build; "
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        "m = build(PipelineConfig(('x',), sys.argv[1], min_count=1), [sys.argv[2]]); "
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before; "
        "print(grown // 1024, m['stats']['long_tokens'], m['vocab']['size'])"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = [sys.executable, "-c", script, str(tmp_path / "out"), str(path)]
    done = subprocess.run(args, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=root), timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    grown_mib, long_tokens, words = map(int, done.stdout.split())
    assert long_tokens == 1 and words == 4  # a, b, c and the token's first 100 characters
    assert grown_mib < 40  # the token is 64 MiB; a block is 4 MiB


def test_a_pattern_through_a_linked_directory_says_the_files_it_does_not_read(tmp_path, caplog):
    """`--input 'gd/*/*'` read gd/real/a.txt and skipped gd/linked/b.txt (a link to a
    directory) without a word, where sgns.fit's glob read both (fourth probe F4)."""
    from sgns.pipeline.text.read import list_files

    (tmp_path / "gd" / "real").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "gd" / "real" / "a.txt").write_text("a b c\n")
    (tmp_path / "elsewhere" / "b.txt").write_text("d e f\n")
    os.symlink(tmp_path / "elsewhere", tmp_path / "gd" / "linked")
    pattern = str(tmp_path / "gd" / "*" / "*")
    with caplog.at_level("WARNING", logger="sgns.pipeline.text.read"):
        for _ in range(2):  # (--watch lists it every poll: said once)
            found = [m.path for m in list_files((pattern,))]
    assert found == [str(tmp_path / "gd" / "real" / "a.txt")]
    said = [r.getMessage() for r in caplog.records if "link to a directory" in r.getMessage()]
    assert len(said) == 1 and str(tmp_path / "gd" / "linked" / "b.txt") in said[0], said
    assert "are not read" in said[0] and "as an --input of its own" in said[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="sgns.pipeline.text.read"):
        list_files((str(tmp_path / "gd" / "real" / "*"),))
    assert not [r for r in caplog.records if "link to a directory" in r.getMessage()]
