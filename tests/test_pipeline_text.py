"""From bytes to tokens: --encoding, --errors, binary files, --normalize and --tokenizer, through
the Beam pipeline, pipeline/local.py and the block reader itself."""

import gzip
import io
import json
import os
import zipfile
from collections import Counter

import pytest
from tree import file_bytes, same_dataset

from sgns import dataset
from sgns.pipeline.local import main as build_local
from sgns.pipeline.preprocess import main as preprocess
from sgns.pipeline.text.blocks import Source, read_blocks
from sgns.pipeline.text.decoding import MAX_UNDECODABLE_SHARE, stream_kind
from sgns.pipeline.text.format import TextFormat, words
from sgns.pipeline.text.read import plan_sources
from sgns.pipeline.text.tokens import counts_dict
from sgns.pipeline.vocab.counting import CorpusStats, check_vocabulary, count_block, summarize

FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1", "--min-count", "1"]
FRENCH = "le café est bon et le thé aussi\n" * 40  # 80 accented letters in 1,280 bytes
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def _error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _vocab(directory) -> dict[str, int]:
    words_, counts = dataset.parse_vocab(open(os.path.join(directory, "vocab.tsv"), "rb").read())
    return dict(zip(words_, counts))


def _build(tmp_path, name: str, inputs, *options) -> int:
    paths = ",".join(str(tmp_path / i) for i in inputs)
    return preprocess(["--input", paths, "--output", str(tmp_path / name), *options, *FAST])


def test_a_latin1_file_is_refused_naming_it_and_its_share(tmp_path, capsys):
    (tmp_path / "fr.txt").write_bytes(FRENCH.encode("latin-1"))
    assert _build(tmp_path, "out", ["fr.txt"]) == 2
    line = _error(capsys)
    assert str(tmp_path / "fr.txt") in line and "80 of its 1,280 bytes (6.25%)" in line
    assert "--encoding latin-1" in line and "--errors replace" in line
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_encoding_latin1_reads_cafe_as_one_word(tmp_path):
    (tmp_path / "fr.txt").write_bytes(FRENCH.encode("latin-1"))
    assert _build(tmp_path, "out", ["fr.txt"], "--encoding", "latin-1") == 0
    vocab = _vocab(tmp_path / "out")
    assert vocab["café"] == 40 and vocab["thé"] == 40
    manifest = dataset.read_manifest(str(tmp_path / "out"))
    assert manifest["stats"]["replaced_bytes"] == 0
    assert manifest["config"]["encoding"] == "latin-1"
    assert manifest["increments"][0]["encoding"] == "latin-1"


@pytest.mark.parametrize("errors, cafe", [("replace", "caf\ufffd"), ("ignore", "caf")])
def test_errors_replace_and_ignore_keep_the_file_and_count_the_bytes(tmp_path, errors, cafe):
    (tmp_path / "fr.txt").write_bytes(FRENCH.encode("latin-1"))
    assert _build(tmp_path, "out", ["fr.txt"], "--errors", errors) == 0
    vocab = _vocab(tmp_path / "out")
    assert vocab[cafe] == 40 and "café" not in vocab
    assert dataset.read_manifest(str(tmp_path / "out"))["stats"]["replaced_bytes"] == 80


def test_errors_strict_names_the_first_undecodable_byte(tmp_path, capsys):
    (tmp_path / "fr.txt").write_bytes(FRENCH.encode("latin-1"))
    assert _build(tmp_path, "out", ["fr.txt"], "--errors", "strict") == 2
    assert "byte 6 is not valid utf-8 (--errors strict)" in _error(capsys)


def _tallies(data: bytes, encoding="utf-8", errors="limit", block_bytes=1024, range_bytes=None):
    """Blocks and the vocabulary summary of `data` as one file, read in byte ranges."""
    sources = plan_sources([("f.txt", len(data))], range_bytes or len(data) + 1, encoding)
    text_format = TextFormat(encoding, errors)
    blocks = [
        b
        for source in sources
        for b in read_blocks(io.BytesIO(data), source, block_bytes, 10000, text_format)
    ]
    counts, stats = Counter(), CorpusStats()
    for block in blocks:
        table, block_stats = count_block(block, False)
        counts, stats = counts + counts_dict(table), stats.add(block_stats)
    return blocks, summarize(counts, stats, 1, None)[3]


def test_the_limit_is_a_share_of_the_whole_file_over_its_byte_ranges():
    line = ("word " * 199 + "wxyz\n").encode()  # 1,000 bytes
    bad = int(len(line) * 100 * MAX_UNDECODABLE_SHARE)  # the limit: 10 bytes in 100,000
    data = line * 50 + b"\xff" * bad + b"\n" + line * 50
    blocks, summary = _tallies(data, range_bytes=17000)  # 6 ranges, one holds the bad bytes
    assert len({b.key.split(":")[1] for b in blocks}) == 6
    assert summary["undecodable"] == [["f.txt", "utf-8", bad, len(data)]]
    check_vocabulary(summary, 1)  # 10 in 100,011: not over the limit
    _, summary = _tallies(data + b"\xfe\n", range_bytes=17000)
    with pytest.raises(ValueError, match=r"f.txt: 11 of its 100,013 bytes \(0.01%\)"):
        check_vocabulary(summary, 1)
    _, summary = _tallies("caf\xe9 x\n".encode("latin-1") * 3)  # 3 in 21: one cut character
    check_vocabulary(summary, 1)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "shift_jis", "gb18030", "cp1252"])
def test_multibyte_encodings_decode_across_block_boundaries(encoding):
    text = "".join(f"東京 {i} café ünïcödé it\u2019s “quoted” 北京 ｶﾀｶﾅ\n" for i in range(300))
    text += "long " * 1000 + "\n"  # a line longer than a block, cut at its spaces
    text = text.encode(encoding, "ignore").decode(encoding)  # what the codec can say
    data = text.encode(encoding)
    blocks, summary = _tallies(data, encoding, range_bytes=3000)
    assert "".join(b.text for b in blocks) == text
    assert len(blocks) > 10 and summary["replaced_bytes"] == 0
    assert stream_kind(encoding) == ("bytes" if encoding == "cp1252" else "transcoded")


def test_undecodable_bytes_of_a_transcoded_file_are_counted_one_each():
    data = "ab\n".encode("utf-16-le") + b"\x00\xd8" + "cd\n".encode("utf-16-le") + b"x"
    blocks, summary = _tallies(data, "utf-16-le", "replace")
    assert "".join(b.text for b in blocks) == "ab\n\ufffd\ufffdcd\n\ufffd"
    assert summary["replaced_bytes"] == 3  # a lone surrogate (2 bytes), a last odd byte


def _checkpoint(path) -> None:
    with zipfile.ZipFile(path, "w") as z:  # what torch.save writes
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        z.writestr("archive/data/0", bytes(400))


@pytest.mark.parametrize(
    "name, content, said",
    [
        ("img.png", PNG, "it looks like a PNG image"),
        ("nul.txt", b"some text\n" * 50 + b"\x00 more\n", "a NUL byte at byte 500"),
        ("model.pt", None, "it looks like a PyTorch checkpoint"),
        (
            "double.txt.gz",
            gzip.compress(gzip.compress(b"a b\n", mtime=0), mtime=0),  # (mtime 0: one test id)
            "it looks like gzip data",
        ),
    ],
)
def test_a_binary_file_is_refused_by_name(tmp_path, capsys, name, content, said):
    (tmp_path / "fr.txt").write_text(FRENCH)
    if content is None:
        _checkpoint(tmp_path / name)
    else:
        (tmp_path / name).write_bytes(content)
    assert _build(tmp_path, "out", ["fr.txt", name], "--errors", "replace") == 2
    line = _error(capsys)
    assert f"input {tmp_path / name} is not text" in line and said in line
    assert not (tmp_path / "out" / "manifest.json").exists()
    local = ["--input", f"{tmp_path / 'fr.txt'},{tmp_path / name}"]
    assert build_local(local + ["--output", str(tmp_path / "local"), "--errors", "replace"]) == 2
    assert said in _error(capsys)


def test_append_refuses_a_binary_file_and_leaves_the_dataset_as_it_was(tmp_path, capsys):
    (tmp_path / "fr.txt").write_text(FRENCH)
    (tmp_path / "img.png").write_bytes(PNG)
    assert _build(tmp_path, "out", ["fr.txt"]) == 0
    before = file_bytes(tmp_path / "out")
    assert _build(tmp_path, "out", ["img.png"], "--append") == 2
    assert f"input {tmp_path / 'img.png'} is not text: it looks like a PNG" in _error(capsys)
    assert file_bytes(tmp_path / "out") == before


def test_words_tokenizer_splits_punctuation_off_and_keeps_joined_words():
    text = "moscow, word. москва, «слово» don't new_york state-of-the-art 3.14 --x-- cafe\u0301\n"
    assert words(text).split() == [
        "moscow", "word", "москва", "слово", "don't", "new_york", "state-of-the-art", "3",
        "14", "x", "cafe\u0301",
    ]  # fmt: skip


def test_words_tokenizer_cuts_a_line_without_whitespace_where_words_break():
    line = ",".join(f"w{i % 50}" for i in range(3000)) + "\n"  # 14 KB, no whitespace
    blocks, _ = _tallies(line.encode(), errors="limit", block_bytes=1024)
    blocks_words = [b for b in _read(line.encode(), TextFormat(tokenizer="words"))]
    assert len(blocks) == 1  # whitespace tokens: one huge token
    assert len(blocks_words) > 10
    assert " ".join(b.text for b in blocks_words).split() == line[:-1].split(",")
    carries = [b.carry for b in blocks_words]  # tokens of the line before each piece
    assert carries == [
        sum(len(b.text.split()) for b in blocks_words[:i]) for i in range(len(carries))
    ]


def _read(data: bytes, text_format: TextFormat):
    return list(read_blocks(io.BytesIO(data), Source(0, "f.txt"), 1024, 10000, text_format))


def test_normalize_nfc_merges_composed_and_decomposed_forms(tmp_path):
    (tmp_path / "a.txt").write_text("café cafe\u0301 ﬁne\n" * 10)
    assert _build(tmp_path, "none", ["a.txt"]) == 0
    assert _build(tmp_path, "nfc", ["a.txt"], "--normalize", "nfc") == 0
    assert _build(tmp_path, "nfkc", ["a.txt"], "--normalize", "nfkc") == 0
    assert _vocab(tmp_path / "none") == {"café": 10, "cafe\u0301": 10, "ﬁne": 10}
    assert _vocab(tmp_path / "nfc") == {"café": 20, "ﬁne": 10}
    assert _vocab(tmp_path / "nfkc") == {"café": 20, "fine": 10}


def test_local_path_equals_the_beam_path_with_the_text_options(tmp_path):
    text = "".join(f"Le Café{i % 7}, l'été; «Thé» x² ½ Acme™… n°{i % 5}!\n" for i in range(2000))
    (tmp_path / "a.txt").write_bytes(text.encode("cp1252"))
    with gzip.open(tmp_path / "b.txt.gz", "wb") as f:
        f.write(text[:20000].encode("cp1252") + b"\x81 stray\n")  # undefined in cp1252
    options = ["--encoding", "cp1252", "--normalize", "nfkc", "--tokenizer", "words",
               "--lowercase", "--num-shards", "2", "--block-bytes", "4096"]  # fmt: skip
    assert _build(tmp_path, "beam", ["a.txt", "b.txt.gz"], *options) == 0
    inputs = f"{tmp_path / 'a.txt'},{tmp_path / 'b.txt.gz'}"
    local = ["--input", inputs, "--output", str(tmp_path / "local"), "--min-count", "1"]
    assert build_local(local + options) == 0
    a = json.loads(same_dataset(tmp_path / "beam", tmp_path / "local")["manifest.json"])
    assert a["stats"]["replaced_bytes"] == 1
    assert {"café0", "l'été", "thé", "x2", "acmetm", "n", "1"} <= set(_vocab(tmp_path / "beam"))


def test_append_refuses_another_tokenizer_and_reads_old_datasets_as_defaults(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("moscow, word.\n" * 10)
    (tmp_path / "b.txt").write_text("moscow word\n" * 10)
    assert _build(tmp_path, "out", ["a.txt"], "--tokenizer", "words") == 0
    assert _build(tmp_path, "out", ["b.txt"], "--append", "--tokenizer", "whitespace") == 2
    line = _error(capsys)
    assert "--tokenizer whitespace differs from the dataset's tokenizer words" in line
    assert _build(tmp_path, "out", ["b.txt"], "--append") == 0  # the dataset's: words
    assert _vocab(tmp_path / "out") == {"moscow": 20, "word": 20}
    # a dataset written before these settings: it reads as utf-8, no normalisation, whitespace
    assert _build(tmp_path, "old", ["b.txt"]) == 0
    manifest_path = tmp_path / "old" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for name in ("encoding", "errors", "normalize", "tokenizer"):
        del manifest["config"][name]
    manifest_path.write_text(dataset.dump_manifest(manifest))
    assert _build(tmp_path, "old", ["a.txt"], "--append", "--normalize", "nfc") == 2
    assert "--normalize nfc differs from the dataset's normalize none" in _error(capsys)
    assert _build(tmp_path, "old", ["a.txt"], "--append") == 0
    assert _vocab(tmp_path / "old") == {"moscow": 10, "word": 10, "moscow,": 10, "word.": 10}


def test_an_unknown_encoding_is_one_line(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("a b\n")
    assert _build(tmp_path, "out", ["a.txt"], "--encoding", "klingon") == 2
    assert "--encoding 'klingon' is not a text encoding Python knows" in _error(capsys)
