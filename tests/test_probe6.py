"""Issue 20, a sixth probe's findings: Ctrl-C during the first sgns.train / sgns.fit /
sgns.preprocess of a process (while torch or Beam is imported) leaves the library whole, and
torchrun's environment half there (WORLD_SIZE without MASTER_ADDR / MASTER_PORT) is one line."""

import os
import shutil
import subprocess
import sys

import pytest
from procs import ROOT, cli, interrupted_import, one_line, run_interrupted_import
from train_helpers import write_tiny_dataset

# A child process whose first call is interrupted while `module` is imported (a finder ahead of
# Python's sends SIGINT to the process when the import of `module` starts), then called again.
INTERRUPTED_IMPORT = interrupted_import("""
def call_once(n):
    out = os.path.join(folder, f"out{n}")
    if call == "preprocess":
        return sgns.preprocess(os.path.join(folder, "corpus.txt"), out, min_count=1)
    if call == "train":
        return sgns.train(os.path.join(folder, "data"), out, dim=8, epochs=1, threads=1).vectors
    return sgns.fit([["w0", "w1", "w2", "w3"] * 3] * 30, dim=8, epochs=1, workers=1, min_count=1)

""")


@pytest.mark.parametrize(
    "call, module",
    [("train", "torch.fx"), ("fit", "torch.fx"), ("preprocess", "apache_beam.io")],
)
def test_ctrl_c_while_the_first_call_imports_torch_or_beam_leaves_later_calls_working(
    tmp_path, call, module
):
    (tmp_path / "corpus.txt").write_text("w0 w1 w2 w3 w1 w2\n" * 50)
    if call == "train":
        write_tiny_dataset(str(tmp_path / "data"))
    run_interrupted_import(INTERRUPTED_IMPORT, module, call, tmp_path)
    if call == "preprocess":
        assert (tmp_path / "out2" / "manifest.json").is_file()
        assert not (tmp_path / "out1").exists() or not os.listdir(tmp_path / "out1")


GROUP = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.mark.parametrize(
    "variables, said",
    [
        ({}, "WORLD_SIZE=2 in the environment but MASTER_ADDR is not set (torchrun sets both: "
             "unset WORLD_SIZE and RANK"),
        ({"MASTER_ADDR": " "}, "WORLD_SIZE=2 in the environment but MASTER_ADDR is ' '"),
        ({"MASTER_ADDR": "127.0.0.1"}, "WORLD_SIZE=2 in the environment but MASTER_PORT is not"),
        ({"MASTER_ADDR": "h", "MASTER_PORT": "abc"}, "MASTER_PORT='abc' in the environment is no "
                                                     "port (a whole number 1-65535"),
        ({"MASTER_ADDR": "h", "MASTER_PORT": "99999"}, "MASTER_PORT='99999' in the environment"),
        ({"MASTER_ADDR": "h", "MASTER_PORT": "0"}, "MASTER_PORT='0' in the environment is no"),
        ({"MASTER_ADDR": "h", "MASTER_PORT": "-5"}, "MASTER_PORT='-5' in the environment is no"),
    ],
)  # fmt: skip
def test_several_ranks_without_where_they_meet_are_one_line_naming_the_variable(
    monkeypatch, variables, said
):
    from sgns.console import environment
    from sgns.errors import UsageError

    for name in GROUP:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert environment.ranks() == environment.Ranks(0, 0, 2)  # (a command of one process: fine)
    with pytest.raises(UsageError) as raised:
        environment.check_meeting_point(2)  # where a process group starts
    assert str(raised.value).startswith(said), raised.value
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")  # as torchrun sets them: fine
    monkeypatch.setenv("MASTER_PORT", "29500")
    environment.check_meeting_point(2)


def test_sgns_train_with_a_leftover_world_size_ends_in_one_line_and_writes_nothing(tmp_path):
    write_tiny_dataset(str(tmp_path / "data"))
    env = {k: v for k, v in os.environ.items() if k not in GROUP}
    env.update(WORLD_SIZE="2", RANK="0", LOCAL_RANK="0", PYTHONPATH=ROOT)
    code = "import sys; from sgns.commands import train; sys.exit(train())"
    args = ["--data", str(tmp_path / "data"), "--output", str(tmp_path / "run"), "--dim", "4"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
        env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.startswith("sgns-train: error: WORLD_SIZE=2 in the environment but "
                                  "MASTER_ADDR is not set"), done.stderr  # fmt: skip
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_a_port_in_use_on_rank_0_is_one_line_naming_master_addr_and_port(tmp_path):
    import socket

    write_tiny_dataset(str(tmp_path / "data"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dict(WORLD_SIZE="2", RANK="0", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port))  # fmt: skip
        args = ["--data", str(tmp_path / "data"), "--output", str(tmp_path / "run"),
                "--dim", "4", "--device", "cpu"]  # fmt: skip
        code, err = cli("sgns.train.cli", args, env=env, timeout=300)
    line = one_line(err, "sgns-train")
    assert code == 2, err[-3000:]
    assert f"MASTER_ADDR:MASTER_PORT 127.0.0.1:{port}" in line and "in use" in line, line
    assert not (tmp_path / "run" / "vectors.txt").exists()


LOAD_KERNEL = (
    "import logging; logging.basicConfig(level=logging.INFO)\n"
    "from sgns.train.native import build\n"
    "lib = build.load(); lib.sgns_batch; print(lib._name)\n"
)


@pytest.mark.skipif(not shutil.which(os.environ.get("CC") or "cc"), reason="no C compiler")
def test_a_home_that_is_not_absolute_or_a_cache_that_cannot_be_made_uses_the_temp_folder(tmp_path):
    """HOME='' put the kernel at /.cache/sgns (the file system's root), a relative HOME under
    the current folder; an SGNS_CACHE that cannot be made fell back without a word."""
    work, temp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir(), temp.mkdir()
    fallback = temp / f"sgns-{os.getuid()}"
    env = {k: v for k, v in os.environ.items() if k != "SGNS_CACHE"}
    env.update(TMPDIR=str(temp), PYTHONPATH=ROOT)
    root_cache_before = os.path.exists("/.cache/sgns")
    for variables in ({"HOME": ""}, {"HOME": "home"}, {"SGNS_CACHE": str(tmp_path / ("x" * 300))}):
        done = subprocess.run([sys.executable, "-c", LOAD_KERNEL], env={**env, **variables},
                              cwd=work, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert os.path.dirname(done.stdout.strip()) == str(fallback), (variables, done.stdout)
        assert os.listdir(work) == [], variables  # (nothing under the current folder)
        said = "(SGNS_CACHE) cannot be used" in done.stderr
        assert said == ("SGNS_CACHE" in variables), done.stderr[-3000:]
    assert os.path.exists("/.cache/sgns") == root_cache_before


def test_the_phrase_command_answers_version_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "sgns.pipeline.phrases", "--version"], capture_output=True,
        text=True, timeout=300, env=dict(os.environ, PYTHONPATH=ROOT),
    )  # fmt: skip
    import sgns

    assert (done.returncode, done.stderr) == (0, ""), done.stderr[-3000:]
    assert done.stdout == f"python -m sgns.pipeline.phrases {sgns.__version__}\n"


def test_similarity_says_words_are_str_not_bytes_as_most_similar_does():
    from sgns import Vectors
    from sgns.errors import UsageError

    wv = Vectors(["w0", "w1"], [[1.0, 0.0], [0.6, 0.8]])
    assert wv.similarity("w0", "w1") == pytest.approx(0.6)
    for a, b in ((b"w0", "w1"), ("w0", bytearray(b"w1"))):
        with pytest.raises(UsageError, match="similarity: words are str, not bytes"):
            wv.similarity(a, b)
    with pytest.raises(UsageError, match="most_similar: words are str, not bytes"):
        wv.most_similar(b"w0")


STUCK = """
import os, signal, sys, threading, time
from sgns.console.signals import Interruptible
Interruptible.GRACE_SECONDS = 1
with Interruptible("sgns-x", "what is left") as stop:
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    except KeyboardInterrupt:
        threading.Event().wait()  # a cleanup on the way out that never ends
sys.exit(stop.exit_code or 0)
"""


def test_a_command_stuck_after_its_stop_signal_still_ends_in_its_line():
    # (a Beam pipeline stopped mid-run once never reached the line: its cleanup waited on itself)
    done = subprocess.run([sys.executable, "-c", STUCK], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))  # fmt: skip
    assert done.returncode == 143, done.stderr[-2000:]
    assert done.stderr == ("sgns-x: interrupted (SIGTERM); what is left; it did not stop within "
                           "1 s, so it ended at once\n")  # fmt: skip


WORKING = """
import os, signal, sys, time
from sgns.console import signals
signals.Interruptible.GRACE_SECONDS = 1
with signals.Interruptible("sgns-x") as stop:
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    except KeyboardInterrupt:
        for _ in range(12):  # 3 s of work on the way out that says it is still working
            signals.still_working()
            time.sleep(0.25)
        raise
sys.exit(stop.exit_code or 0)
"""

OWN_HANDLER = """
import os, signal, sys, threading
from sgns.console import signals
signals.Interruptible.GRACE_SECONDS = 1

def second(signum, frame):  # as --watch's second signal: a handler of its own stops the block
    signals.arm()
    raise KeyboardInterrupt

with signals.Interruptible("sgns-x") as stop:
    signal.signal(signal.SIGUSR1, second)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        threading.Event().wait(30)
    except KeyboardInterrupt:
        threading.Event().wait()  # a cleanup that never ends
sys.exit(stop.exit_code or 0)
"""


@pytest.mark.parametrize("script, said", [
    (WORKING, "sgns-x: interrupted (SIGTERM)\n"),  # past its grace, but still working: its end
    (OWN_HANDLER, "sgns-x: interrupted (SIGINT); it did not stop within 1 s, so it ended at "
                  "once\n"),
])  # fmt: skip
def test_the_grace_grows_while_work_goes_on_and_starts_from_a_handler_of_its_own(script, said):
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))  # fmt: skip
    assert done.stderr == said and done.returncode == 128 + (15 if "SIGTERM" in said else 2)
