"""Every command's error path is one line naming the thing (docs/errors.md): each console
command (setup.py's entry points) x bad inputs in each of its file arguments (missing, a
directory where a file goes, empty, binary garbage, unreadable) and bad option values.

A case passes when the command exits nonzero without a traceback, and its stderr, less the
progress output (logging's timestamped lines, tqdm's bars), is exactly one line
`sgns-<command>: error: ...` that names the bad file or option. The commands run in-process
(each imports its libraries once), on a tiny dataset, run and vector file.
"""

import hashlib
import importlib
import logging
import os
import re
import sys

import numpy as np
import pytest
from test_readme import COMMANDS  # prog -> module of its main(), as setup.py names them
from train_helpers import tiny_config, write_tiny_dataset

from sgns.vectors import write_vectors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRESS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} |^\s*\d+%\|")  # logging, tqdm
BAD_FILES = ("missing", "folder", "empty", "garbage", "unreadable")
SAID = {"missing": ("not exist", "matches no file"), "folder": ("a directory", "has no")}
A_FILE = ("a file", "not a directory")  # said of a file where a directory goes
FILES, DIRECTORY = BAD_FILES, ("missing", "folder", "empty", "garbage")  # where each goes


def _file_cases():
    """(prog, argv, the bad thing, said) for each file argument of each command and each bad
    file; "{x}" in argv is a thing of the `things` fixture, "{bad}" the bad file; the line
    says one of `said` (as well as the bad file's path)."""
    slots = {  # prog: [(argv, bad things, whether a directory goes where {bad} is)]
        "sgns-preprocess": [
            (["--input", "{bad}", "--output", "{new}"], ("missing", "folder", "empty"), False),
            (["--input", "{corpus}", "--output", "{bad}"], ("empty", "garbage"), True),
        ],
        "sgns-train": [
            (["--data", "{bad}", "--output", "{new}"], DIRECTORY, True),
            (["--data", "{data}", "--output", "{bad}"], ("empty", "garbage"), True),
        ],
        "sgns-export": [
            (["{bad}", "--output", "{new}"], DIRECTORY, True),
            (["{run}", "--output", "{bad}"], ("folder",), False),
        ],
        "sgns-eval": [
            (["{bad}", "--neighbors", "w001"], FILES, False),
            (["{vectors}", "--similarity", "{bad}"], FILES, False),
            (["{vectors}", "--analogies", "{bad}"], FILES, False),
            (["{vectors}", "--synth-truth", "{bad}"], FILES, False),
        ],
        "sgns-synth": [
            (["--output", "{bad}", "--tokens", "1000"], ("folder",), False),
            (["--output", "{bad}/c.txt", "--tokens", "1000"], ("garbage",), True),
            (["--output", "{new}", "--truth", "{bad}", "--tokens", "1000"], ("folder",), False),
        ],
        "sgns-report": [
            (["{bad}"], ("missing", "empty", "garbage"), True),  # (an empty run: a page)
            (["{run}", "--eval", "{bad}"], FILES, False),
            (["{run}", "--synth-truth", "{bad}"], FILES, False),
            (["{run}", "--output", "{bad}"], ("folder",), False),
        ],
    }
    for prog, uses in slots.items():
        for argv, kinds, directory in uses:
            for kind in kinds:
                said = A_FILE if directory and kind in ("empty", "garbage") else SAID.get(kind)
                name = f"{prog} {' '.join(argv)} {kind}"
                yield pytest.param(prog, argv, kind, said or ("",), id=name)


OPTION_CASES = [
    ("sgns-preprocess", ["--input", "{corpus}", "--output", "{new}", "--min-count", "-1"],
     "--min-count"),
    ("sgns-preprocess", ["--input", "{corpus}", "--output", "{new}", "--sample", "nan"],
     "--sample"),
    ("sgns-preprocess", ["--input", "{corpus}", "--output", "{new}", "--window", "x"], "--window"),
    # what Beam says as a plain ValueError, said before anything is written
    ("sgns-preprocess", ["--input", "xyz://a/b.txt", "--output", "{new}"], "--input 'xyz://a/b"),
    ("sgns-preprocess", ["--input", "{corpus}", "--output", "xyz://bucket/o"], "--output 'xyz:"),
    ("sgns-preprocess", ["--input", "hdfs://a/b.txt", "--output", "{new}"], "--input 'hdfs://a/b"),
    ("sgns-preprocess", ["--input", "{corpus}", "--output", "{new}", "--runner", "NoSuchRunner"],
     "--runner NoSuchRunner"),
    ("sgns-preprocess", ["--input", "{corpus}", "--output", "{new}", "--runner", "no.such.Runner"],
     "--runner no.such.Runner"),
    ("sgns-preprocess", ["--input", "s3://", "--output", "{new}"], "--input 's3://' names no"),
    ("sgns-preprocess", ["--input", "{corpus}", "--output", "{new}", "--direct_num_workers", "x"],
     "--direct_num_workers"),
    ("sgns-train", ["--data", "{data}", "--output", "{new}", "--dim", "0"], "--dim"),
    ("sgns-train", ["--data", "{data}", "--output", "{new}", "--lr", "inf"], "--lr"),
    ("sgns-train", ["--data", "{data}", "--output", "{new}", "--emulate-ranks", "100000"],
     "--emulate-ranks"),  # fmt: skip
    ("sgns-train", ["--data", "{data}", "--output", "{new}", "--batch-size", "-5"],
     "--batch-size"),
    # numbers past int64 or a C long (they overflowed a draw or an allocation), a negative seed
    ("sgns-preprocess", ["--input", "{corpus}", "--output", "{new}", "--window", "1" + "0" * 20],
     "--window"),
    ("sgns-train", ["--data", "{data}", "--output", "{new}", "--batch-size", "1" + "0" * 30],
     "--batch-size"),
    ("sgns-train", ["--data", "{data}", "--output", "{new}", "--pool-size", "1" + "0" * 12],
     "--pool-size"),
    ("sgns-train", ["--data", "{data}", "--output", "{new}", "--seed", "-5"], "--seed"),
    ("sgns-export", ["{run}", "--output", "{new}", "--format", "csv"], "--format"),
    ("sgns-eval", ["{vectors}", "--topn", "0"], "--topn"),
    ("sgns-eval", ["{vectors}", "--restrict-vocab", "nan"], "--restrict-vocab"),
    ("sgns-synth", ["--output", "{new}", "--tokens", "-1"], "--tokens"),
    ("sgns-synth", ["--output", "{new}", "--clusters", "0"], "--clusters"),
    ("sgns-report", ["{run}", "--words", "1"], "--words"),
    ("sgns-report", ["{run}", "--labels", "many"], "--labels"),
]  # fmt: skip


@pytest.fixture(scope="module")
def things(tmp_path_factory):
    """A dataset, a trained run, its vectors, a corpus, and the bad files."""
    from sgns.train.trainer import train

    root = tmp_path_factory.mktemp("things")
    write_tiny_dataset(str(root / "data"))
    train(tiny_config(str(root / "data"), str(root / "run"), epochs=1))
    words = [f"w{i:03d}" for i in range(5)]
    write_vectors(str(root / "vectors.txt"), words, np.eye(5, dtype=np.float32))
    (root / "corpus.txt").write_text("a b c a b a\n" * 50)
    (root / "folder").mkdir()
    (root / "empty").write_bytes(b"")
    (root / "garbage").write_bytes(np.random.default_rng(0).bytes(4096))
    (root / "unreadable").write_text("a b 1.0\n")
    (root / "unreadable").chmod(0)
    return {
        **{name: str(root / name) for name in ("data", "run", "vectors.txt", "corpus.txt")},
        **{kind: str(root / kind) for kind in BAD_FILES},  # ("missing" is never made)
        "vectors": str(root / "vectors.txt"),
        "corpus": str(root / "corpus.txt"),
    }


def run_command(prog: str, argv: list[str]):
    """`prog`'s main(argv) in this process, as its console script runs it: the exit code (an
    exception that escapes main, a traceback, fails the test). Its log goes to this stderr, as
    the command's own logging.basicConfig would send it."""
    main = importlib.import_module(COMMANDS[prog]).main
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    root, level = logging.getLogger(), logging.getLogger().level
    saved, root.handlers = root.handlers, [handler]  # (so basicConfig adds none of its own)
    root.setLevel(logging.INFO)
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code
    finally:
        root.handlers = saved
        root.setLevel(level)


def _said(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.strip() and not PROGRESS.match(line)]


def _check_one_line(prog: str, code, lines: list[str], named: str) -> None:
    assert code not in (0, None), f"{prog} exited 0: {lines}"
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    assert lines[0].isprintable(), repr(lines[0])
    assert named in lines[0], f"{named!r} not named in {lines[0]!r}"


def _argv(argv: list[str], things: dict, tmp_path, bad: str | None = None) -> list[str]:
    values = {**things, "new": str(tmp_path / "new"), "bad": things[bad] if bad else ""}
    return [a.format(**values) for a in argv]


@pytest.mark.parametrize("prog,argv,kind,said", list(_file_cases()))
def test_a_bad_file_is_one_line_naming_it(prog, argv, kind, said, things, tmp_path, capsys):
    if kind == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads every file: no unreadable file")
    args = _argv(argv, things, tmp_path, kind)
    bad = things[kind]
    code = run_command(prog, args)
    lines = _said(capsys)
    _check_one_line(prog, code, lines, bad)
    assert any(words in lines[0] for words in said), f"{lines[0]!r} says none of {said}"


@pytest.mark.parametrize("prog,argv,option", OPTION_CASES)
def test_a_bad_option_value_is_one_line_naming_it(prog, argv, option, things, tmp_path, capsys):
    code = run_command(prog, _argv(argv, things, tmp_path))
    _check_one_line(prog, code, _said(capsys), option)
    assert not os.path.exists(tmp_path / "new")  # refused before anything was written


PREFIX_CASES = [  # an option's prefix: no option (as argparse's allow_abbrev would take it)
    ("sgns-eval", ["{vectors}", "--sim", "x"], "unrecognized option --sim: did you mean "
     "--similarity?"),
    ("sgns-report", ["{run}", "--out", "o.html"], "unrecognized option --out: did you mean "
     "--output?"),
    ("sgns-export", ["{run}", "--output", "{new}", "--form", "npy"], "unrecognized option "
     "--form: did you mean --format?"),
    ("sgns-synth", ["--out", "{new}"], "unrecognized option --out: did you mean --output, "
     "which is required?"),
    ("sgns-train", ["--data", "{data}", "--output", "{new}", "--neg", "3"], "unrecognized "
     "option --neg: did you mean --negatives or --negative-mode?"),
    ("sgns-preprocess", ["--input", "{corpus}", "--output", "{new}", "--min", "3"],
     "--min (did you mean --min-count?)"),
    ("sgns-preprocess", ["--input", "{corpus}", "--out", "{new}"], "unrecognized option --out: "
     "did you mean --output, which is required?"),
]  # fmt: skip


@pytest.mark.parametrize("prog,argv,said", PREFIX_CASES)
def test_a_prefix_of_an_option_is_one_line_naming_the_option(prog, argv, said, things, tmp_path,
                                                             capsys):  # fmt: skip
    code = run_command(prog, _argv(argv, things, tmp_path))
    _check_one_line(prog, code, _said(capsys), said)
    assert not os.path.exists(tmp_path / "new")


def test_every_console_command_is_tried():
    with open(os.path.join(ROOT, "setup.py")) as f:
        listed = re.findall(r'"(sgns-[\w-]+)=sgns\.commands:\w+"', f.read())
    assert sorted(listed) == sorted(COMMANDS)
    assert {case[0] for case in OPTION_CASES} == set(COMMANDS)
    assert {case[0] for case in PREFIX_CASES} == set(COMMANDS)
    assert {case.values[0] for case in _file_cases()} == set(COMMANDS)


# The cases issue 20 found, each with the words its one line must have.


def _one_line(capsys, prog: str) -> str:
    lines = _said(capsys)
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), lines
    assert lines[0].isprintable(), repr(lines[0])
    return lines[0]


def test_a_vocabulary_that_is_not_utf8_is_named_with_its_line(tmp_path, capsys):
    from sgns import dataset
    from sgns.train.trainer import train

    data, run = tmp_path / "data", tmp_path / "run"
    write_tiny_dataset(str(data))
    train(tiny_config(str(data), str(run), epochs=1))
    for vocab in (data / "vocab.tsv", run / "vocab.tsv"):
        vocab.write_bytes(vocab.read_bytes().replace(b"w005", b"w\xff05", 1))
    manifest = dataset.read_manifest(str(data))  # as if written so: the sha256 of these bytes
    manifest["vocab"]["sha256"] = hashlib.sha256((data / "vocab.tsv").read_bytes()).hexdigest()
    dataset.write_manifest_local(str(data), manifest)
    capsys.readouterr()  # (the training's progress)
    for prog, argv, vocab in [
        ("sgns-train", ["--data", str(data), "--output", str(tmp_path / "new")], data),
        ("sgns-export", [str(run), "--output", str(tmp_path / "v.txt")], run),
        ("sgns-report", [str(run), "--output", str(tmp_path / "r.html")], run),
    ]:
        assert run_command(prog, argv) == 2
        line = _one_line(capsys, prog)
        assert f"{vocab / 'vocab.tsv'} is not UTF-8 text (line 6, byte 47: b'\\xff')" in line


def test_a_shard_with_a_string_column_is_named_with_the_column(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sgns import dataset

    data = tmp_path / "data"
    write_tiny_dataset(str(data))
    shard = dataset.pass_shards(str(data), dataset.read_manifest(str(data)), 0)[0].path
    table = pq.read_table(shard)
    words = pa.array([str(i) for i in table["context"].to_pylist()])
    pq.write_table(pa.table({"center": table["center"], "context": words}), shard)
    argv = ["--data", str(data), "--output", str(tmp_path / "run"), "--device", "cpu"]
    assert run_command("sgns-train", argv) == 2
    assert f"shard {shard} column 'context' holds string" in _one_line(capsys, "sgns-train")


def test_a_resume_with_another_batch_size_names_the_batch_size(tmp_path, capsys):
    from sgns.train.trainer import train

    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    assert train(tiny_config(data, run, epochs=2, stop_after_steps=3, pool_size=0)) is None
    capsys.readouterr()  # (its progress)
    same = ["--dim", "8", "--lr", "0.05", "--seed", "3", "--epochs", "2", "--device", "cpu"]
    argv = ["--data", data, "--output", run, "--resume", "--batch-size", "100", *same]
    assert run_command("sgns-train", argv) == 2
    line = _one_line(capsys, "sgns-train")
    assert "written with --batch-size 50 but this run has --batch-size 100" in line
    assert "pass --batch-size 50 as it did, or use a new --output" in line
    assert "--pool-size" not in line  # which the user never set


@pytest.mark.parametrize("binary", [False, True])
def test_a_vector_header_claiming_more_than_the_file_holds_is_refused(tmp_path, capsys, binary):
    path = tmp_path / "huge.bin"
    row = b"a " + (np.ones(4, "<f4").tobytes() if binary else b"1 2 3 4") + b"\n"
    path.write_bytes(b"1000000000000 4\n" + row)
    assert run_command("sgns-eval", [str(path), "--neighbors", "a"]) == 2
    line = _one_line(capsys, "sgns-eval")
    assert f"{str(path)!r} ends after 1 of the 1000000000000 words its header" in line


def test_control_bytes_of_a_file_are_shown_escaped(tmp_path, capsys):
    from sgns.errors import UsageError, fail

    questions = tmp_path / "q.txt"
    questions.write_text(": sec\x1b[2Jtion\x07\nw000 w001 w002 w003\n")
    vectors = tmp_path / "v.txt"
    write_vectors(str(vectors), [f"w00{i}" for i in range(4)], np.eye(4, dtype=np.float32))
    assert run_command("sgns-eval", [str(vectors), "--analogies", str(questions)]) == 0
    out = capsys.readouterr().out
    assert "sec\\x1b[2Jtion\\x07" in out and "\x1b" not in out and "\x07" not in out
    vectors.write_bytes(b"2 4\nw000 1 2 3 4\nw001 1 \x1b[2J\x1b]0;owned\x07 3 4\n")
    assert run_command("sgns-eval", [str(vectors), "--neighbors", "w000"]) == 2
    line = _one_line(capsys, "sgns-eval")
    assert "line 3 holds b'1 \\x1b[2J\\x1b]0;owned\\x07 3 4', not numbers" in line
    assert fail("prog", UsageError("a\x1b[31m b\tc\x07")) == 2  # whatever a message holds
    assert _one_line(capsys, "prog") == "prog: error: a\\x1b[31m b\\tc\\x07"


def test_input_names_with_commas_and_brackets_are_taken_as_they_are(tmp_path, capsys):
    from sgns import dataset
    from sgns.pipeline.local import main as build_locally

    for i, name in enumerate(("fi le,comma.txt", "b [x].txt", "[x]")):
        (tmp_path / name).write_text(f"a b c{i} a b a\n" * 50)
    (tmp_path / "x").write_text("x y z\n" * 50)  # what the glob "[x]" would match instead
    given = ["--input", str(tmp_path / "fi le,comma.txt"), "--input",
             f"{tmp_path / 'b [x].txt'},{tmp_path / '[x]'}"]  # fmt: skip
    fast = ["--min-count", "1", "--direct_num_workers", "1"]
    assert run_command("sgns-preprocess", [*given, "--output", str(tmp_path / "d"), *fast]) == 0
    assert build_locally([*given, "--output", str(tmp_path / "local"), "--min-count", "1"]) == 0
    for out in ("d", "local"):
        manifest = dataset.read_manifest(str(tmp_path / out))
        inputs = [entry["path"] for entry in manifest["increments"][0]["inputs"]]
        assert inputs == [str(tmp_path / n) for n in ("[x]", "b [x].txt", "fi le,comma.txt")]
    capsys.readouterr()


@pytest.mark.parametrize(
    "prog,argv",
    [("sgns-train", ["--data", "{x}", "--output", "{x}-run"]),
     ("sgns-export", ["{x}", "--output", "{x}.txt"]),
     ("sgns-report", ["{x}"])],
)  # fmt: skip
def test_a_name_with_a_newline_is_said_whole_on_the_one_line(prog, argv, tmp_path, capsys):
    bad = str(tmp_path / "no\nsuch")
    code = run_command(prog, [a.replace("{x}", bad) for a in argv])
    lines = _said(capsys)
    _check_one_line(prog, code, lines, "no\\nsuch")
    assert "does not exist" in lines[0]
