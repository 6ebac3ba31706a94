"""A dataset's phrase table applied to text (sgns.pipeline.phrases.table, sgns.pipeline.text.own):
the join is greedy left to right within sentences (and the blocks' join equals it), your own text is
made the dataset's tokens before it is phrased, a table is checked against its manifest, and the
command `python -m sgns.pipeline.phrases` reads a block at a time and writes nothing for a text
it refuses. (Finding the phrases: tests/test_pipeline_phrases.py.)"""

import dataclasses
import io
import logging
import random
import shutil
import subprocess
import sys

import pytest
from test_pipeline_phrases import SETTINGS, _corpus, _noise, _table

from sgns.errors import UsageError
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.local import main as build_local
from sgns.pipeline.phrases.__main__ import main as phrases_command
from sgns.pipeline.phrases.blocks import join_block, prepare
from sgns.pipeline.phrases.table import Phrase, Phrases, load_phrases
from sgns.pipeline.text.blocks import Block
from sgns.pipeline.text.tokens import MAX_TOKEN_CHARS


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    """A dataset of tests/test_pipeline_phrases.py's corpus with its phrase settings (2 rounds,
    --lowercase --tokenizer words, english connectors), built without Beam."""
    root = tmp_path_factory.mktemp("phrases")
    (root / "c.txt").write_text(_corpus())
    assert (
        build_local(["--input", str(root / "c.txt"), "--output", str(root / "d"), *SETTINGS]) == 0
    )
    return str(root / "d")


def test_the_join_is_greedy_left_to_right_within_sentences():
    phrases = Phrases([Phrase("a", "b", 9.0, 5, 1), Phrase("b", "c", 9.0, 5, 1),
                       Phrase("a_b", "c", 9.0, 5, 2)])  # fmt: skip
    assert phrases.apply("a b c b c".split()) == ["a_b_c", "b_c"]
    assert phrases.apply("b a b".split()) == ["b", "a_b"]
    # with connector words between: "of" and "the" are joined with the pair that holds them
    spans = Phrases([Phrase("b", "c", 9.0, 5, 1, ("of",)), Phrase("c", "a", 9.0, 5, 1),
                     Phrase("a", "b", 9.0, 5, 1, ("of", "the")),
                     Phrase("b_of_c", "a", 9.0, 5, 2, ("the",))])  # fmt: skip
    assert spans.apply("b of c a of the b".split()) == ["b_of_c", "a_of_the_b"]
    assert spans.apply("b of the c a the b c a".split()) == ["b", "of", "the", "c_a", "the", "b",
                                                             "c_a"]  # fmt: skip
    assert spans.apply("b of c the a".split()) == ["b_of_c_the_a"]
    # the blocks' vectorised join equals `apply` sentence by sentence, on ASCII and other text
    rng = random.Random(1)
    config = PipelineConfig(("x",), "out", max_sentence_length=5, lowercase=True,
                            phrase_words="replace")  # fmt: skip
    keep = dataclasses.replace(config, phrase_words="keep")
    cases = [(phrases, ["a", "b", "c", "A", "B"]), (phrases, ["a", "b", "c", "ä", "b\u00a0c"]),
             (spans, ["a", "b", "c", "of", "the", "of", "B"])]  # fmt: skip
    for phrases, words in cases:
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 13))) for _ in range(80)]
        block = Block("0:0:0", "\n".join(lines) + "\n", 3, len(lines), 0)
        got = join_block(block, config, prepare(phrases)).text.split("\n")[:-1]
        kept = join_block(block, keep, prepare(phrases))  # the same text beside the words'
        assert kept.text == block.text and kept.phrased[0].split("\n")[:-1] == got
        want, carry = [], 3  # the first line already had 3 tokens: its first sentence has 2
        for line in lines:
            tokens = line.lower().split()
            cuts = [0, *range((5 - carry) % 5 or 5, len(tokens), 5), len(tokens)]
            want += [" ".join(phrases.apply(tokens[a:b])) for a, b in zip(cuts, cuts[1:]) if b > a]
            carry = 0
        assert got == want


class _Reads(io.BytesIO):
    """stdin's bytes, with the size of every read asked of them."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.sizes: list = []

    def read(self, size=-1):
        self.sizes.append(size)
        return super().read(size)


def _stdin(monkeypatch, data: bytes) -> _Reads:
    stream = _Reads(data)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stream))
    return stream


def test_the_command_phrases_text_as_the_dataset_was(data, monkeypatch, capsys):
    text = "The New York Times, said\nnew  york\n\nThe Bank of America."
    _stdin(monkeypatch, text.encode())
    assert phrases_command([data]) == 0
    out = "the new_york_times said\nnew_york\n\nthe bank_of_america\n"
    assert capsys.readouterr().out == out
    # text in another codec than the dataset's: refused as sgns-preprocess refuses a file,
    # in one line, before a line is written; or read with --encoding
    _stdin(monkeypatch, text.replace("Times", "Tim\xe9s").encode("latin-1") * 10)
    assert phrases_command([data]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert captured.out == "" and len(err) == 1 and "are not valid utf-8" in err[0], err
    _stdin(monkeypatch, "New York Tim\xe9s\n".encode("latin-1"))
    assert phrases_command([data, "--encoding", "latin-1"]) == 0
    assert capsys.readouterr().out == "new_york tim\xe9s\n"
    _stdin(monkeypatch, b"\x89PNG\r\n\x1a\n\x00\x00")
    assert phrases_command([data]) == 2
    assert "input <stdin> is not text: it looks like a PNG image" in capsys.readouterr().err


def test_the_command_reads_a_block_at_a_time_and_writes_only_a_text_it_accepts(
    data, monkeypatch, capsys
):
    rng = random.Random(3)
    lines = [f"{_noise(rng, rng.randint(0, 9))} New York Times, {_noise(rng, 3)}"
             for _ in range(2000)]  # fmt: skip
    # a line of 12,001 tokens (--max-sentence-length 10000): its second sentence starts at
    # "york", so that pair is not joined; and a last line without "\n", a token cut to 100
    lines += ["x" + " new york" * 6000, "", "  ", "New York " + "a" * 150]
    text = "\n".join(lines)
    stream = _stdin(monkeypatch, text.encode())
    assert phrases_command([data, "--block-bytes", "1024"]) == 0
    assert len(text) > 100 * 1024 and 0 < min(stream.sizes) and max(stream.sizes) <= 1024
    phrases = load_phrases(data)

    def phrased(line: str) -> str:  # the line's sentences of at most 10,000 tokens, phrased
        tokens = phrases.tokens(line)
        cuts = range(0, len(tokens), 10_000)
        return " ".join(w for at in cuts for w in phrases.join(tokens[at : at + 10_000]))

    out = capsys.readouterr().out
    assert out == "".join(phrased(line) + "\n" for line in lines)
    assert out.count("new_york_times") == 2000 and out.endswith(
        "\n\n\nnew_york " + "a" * 100 + "\n"
    )
    long = out.splitlines()[2000].split()
    assert long[:2] == ["x", "new_york"] and long[5000:5002] == ["new", "york"]
    # a text refused at its end (too many undecodable bytes, a NUL byte) writes no line
    for tail, said in [(b"\xff" * 200, "are not valid utf-8"), (b"\x00", "NUL")]:
        _stdin(monkeypatch, text.encode() + b"\n" + tail)
        assert phrases_command([data, "--block-bytes", "1024"]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and said in captured.err, captured.err
    for small in ("100", "0"):
        _stdin(monkeypatch, text.encode())
        assert phrases_command([data, "--block-bytes", small]) == 2
        assert f"--block-bytes must be at least 1024, got {small}" in capsys.readouterr().err


def test_own_text_is_tokenised_as_the_dataset_was_before_it_is_phrased(tmp_path, monkeypatch,
                                                                      capsys):  # fmt: skip
    # a Latin-1 corpus, NFC-normalised, lowercased, words split from punctuation
    lines = [f"{_noise(random.Random(i), 3)} Caf\xe9 Noir, {_noise(random.Random(-i), 3)}"
             for i in range(300)]  # fmt: skip
    (tmp_path / "c.txt").write_bytes("\n".join(lines).encode("latin-1"))
    args = ["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / "d"), "--phrases",
            "1", "--phrase-scorer", "word2phrase", "--phrase-threshold", "1", "--encoding",
            "latin-1", "--normalize", "nfc", "--tokenizer", "words", "--lowercase"]  # fmt: skip
    assert build_local(args) == 0
    assert "caf\xe9_noir" in [r[0] for r in _table(tmp_path / "d")]
    nfd = "Le CAFE\u0301 NOIR! cafe\u0301 noir"  # decomposed, uppercase, punctuation attached
    for phrases in (load_phrases(str(tmp_path / "d")),
                    load_phrases(str(tmp_path / "d" / "phrases.tsv"))):  # fmt: skip
        assert phrases.apply(nfd.split()) == ["le", "caf\xe9_noir", "caf\xe9_noir"]
        assert phrases.apply(["caf\xe9", "noir"]) == ["caf\xe9_noir"]  # the dataset's: as they are
        assert phrases.tokens(nfd) == ["le", "caf\xe9", "noir", "caf\xe9", "noir"]
        # a token is cut as the dataset's were: a dataset's token stays as it is
        assert phrases.apply(["A" * 150, "b" * MAX_TOKEN_CHARS]) == ["a" * 100, "b" * 100]
    # a table away from its dataset: tokens as they are given (said in the log)
    shutil.copy(tmp_path / "d" / "phrases.tsv", tmp_path / "table.tsv")
    alone = load_phrases(str(tmp_path / "table.tsv"))
    assert alone.apply(nfd.split()) == nfd.split()
    assert alone.apply(["caf\xe9", "noir"]) == ["caf\xe9_noir"]
    # the command reads bytes in the dataset's codec
    _stdin(monkeypatch, "LE CAF\xc9 NOIR, et\n".encode("latin-1"))
    capsys.readouterr()
    assert phrases_command([str(tmp_path / "d")]) == 0
    assert capsys.readouterr().out == "le caf\xe9_noir et\n"


def test_a_table_loaded_by_its_path_is_checked_against_its_manifest(
    data, tmp_path, caplog, monkeypatch, capsys
):
    shutil.copytree(data, tmp_path / "d")
    table = tmp_path / "d" / "phrases.tsv"
    # a renamed copy beside it, or one with no manifest beside it: taken alone, and said so
    shutil.copy(table, tmp_path / "d" / "mine.tsv")
    shutil.copy(table, tmp_path / "alone.tsv")
    with caplog.at_level(logging.WARNING, logger="sgns.pipeline.phrases.table"):
        for copy in (tmp_path / "d" / "mine.tsv", tmp_path / "alone.tsv"):
            assert load_phrases(str(copy)).apply(["New", "York"]) == ["New", "York"]
    said = [r.getMessage() for r in caplog.records]
    assert "the manifest beside it names phrases.tsv, not this file" in said[0]
    assert "no dataset's manifest beside it names it" in said[1] and len(said) == 2
    # the table its manifest names, by its path: the dataset's tokens, and refused once changed
    assert load_phrases(str(table)).apply(["New", "York"]) == ["new_york"]
    table.write_bytes(table.read_bytes() + b"x_y\tx\ty\t5.0\t5\t2\n")  # (round 2: in order)
    for location in (tmp_path / "d", table):
        with pytest.raises(UsageError, match="phrases.tsv is not the phrase table the dataset"):
            load_phrases(str(location))
    _stdin(monkeypatch, b"x y\n")
    assert phrases_command([str(table)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "(its sha256 differs)" in captured.err


def test_the_command_piped_into_a_reader_that_stops_ends_quietly(data, tmp_path):
    """`... | head -1`: the reader closes the pipe after a line; no BrokenPipeError traceback."""
    (tmp_path / "in.txt").write_text("new york\n" * 200000)
    script = f"{sys.executable} -m sgns.pipeline.phrases {data} < {tmp_path / 'in.txt'} | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.stdout == "new_york\n" and done.stderr == "", done.stderr[-2000:]
    assert done.returncode == 0


def test_a_later_round_extends_phrases_unless_any_pair_may_join(tmp_path):
    # once united_states is joined, "united" is rare and (united, kingdom) scores above the bar
    rng = random.Random(0)
    filler = [f"w{i}" for i in range(300)]
    lines = []
    for i in range(2000):
        words = [rng.choice(filler) for _ in range(8)]
        for every, at, phrase in ((2, 3, "united states"), (40, 5, "united kingdom"),
                                  (10, 1, "new york times"), (25, 6, "kingdom come")):  # fmt: skip
            if i % every == 0:
                words.insert(at, phrase)
        lines.append(" ".join(words) + "\n")
    (tmp_path / "c.txt").write_text("".join(lines))
    found = {}
    for growth in ("extend", "any"):
        out = tmp_path / growth
        argv = ["--input", str(tmp_path / "c.txt"), "--output", str(out), "--phrases", "2",
                "--min-count", "1", "--phrase-growth", growth]  # fmt: skip
        assert build_local(argv) == 0
        rows = (out / "phrases.tsv").read_text().splitlines()
        found[growth] = {tuple(r.split("\t")[i] for i in (0, 1, 2, 5)) for r in rows}
    first = {row for row in found["any"] if row[3] == "1"}
    assert {row for row in found["extend"] if row[3] == "1"} == first  # round 1: the same
    made = {row[0] for row in first}
    grows = {row for row in found["any"] if row[3] == "2" and (row[1] in made or row[2] in made)}
    assert grows == {("new_york_times", "new_york", "times", "2")}
    assert found["extend"] == first | grows
    assert found["any"] == found["extend"] | {("united_kingdom", "united", "kingdom", "2")}


def test_a_dataset_older_than_phrase_growth_grew_any_pair():
    from sgns.pipeline.dataset.increment import check_settings
    from sgns.pipeline.options import build_parser
    from sgns.pipeline.preprocess import config_from_args

    older = {"phrases": 2, "phrase_scorer": "npmi", "phrase_threshold": 0.6}  # no phrase_growth
    argv = ["--input", "more.txt", "--output", "data", "--append"]
    config = config_from_args(build_parser().parse_args(argv), older)
    assert config.phrase_growth == "any"  # what its rounds did: the default
    check_settings(config, older)
    extend = build_parser().parse_args([*argv, "--phrase-growth", "extend"])
    config = config_from_args(extend, older)
    with pytest.raises(UsageError, match="--phrase-growth extend differs from the dataset's"):
        check_settings(config, older)
