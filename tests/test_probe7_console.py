"""Issue 20, a seventh probe's console findings: Ctrl-C while the first use of the Python API
imports numpy leaves it whole; a signal once a command's work is done keeps the command's exit
code and prints nothing; a rank other than 0 says what is wrong with torchrun's environment; every
documented `python -m` form answers --version; a run stopped before its first checkpoint says so.
"""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from procs import ROOT, interrupted_import, one_line, run_interrupted_import, signal_when_said
from train_helpers import write_tiny_dataset

import sgns

# A child process whose first use of the API is interrupted while `module` is imported (a finder
# ahead of Python's sends SIGINT when the import of `module` starts: numpy.dtypes, which numpy's
# C core imports while it loads, and which cannot be loaded twice), then used again.
INTERRUPTED_IMPORT = interrupted_import("""
def call_once(n):
    if call == "load":
        return sgns.load(os.path.join(folder, "v.txt"))
    if call == "Vectors":
        return sgns.Vectors(["w0", "w1"], [[1.0, 0.0], [0.0, 1.0]])
    if call == "train":
        out = os.path.join(folder, f"out{n}")
        return sgns.train(os.path.join(folder, "data"), out, dim=4, epochs=1, threads=1).vectors
    return sgns.fit([["w0", "w1", "w2", "w3"] * 3] * 30, dim=4, epochs=1, workers=1, min_count=1)

""")


@pytest.mark.parametrize("call", ["load", "Vectors", "train", "fit"])
def test_ctrl_c_while_the_first_api_use_imports_numpy_leaves_later_calls_working(tmp_path, call):
    (tmp_path / "v.txt").write_text("2 2\nw0 1 0\nw1 0 1\n")
    if call == "train":
        write_tiny_dataset(str(tmp_path / "data"))
    out = run_interrupted_import(INTERRUPTED_IMPORT, "numpy.dtypes", call, tmp_path)
    assert re.search(r"second call Vectors\(\d+ words, \d dimensions\)", out), out


# Python's exit held (an atexit hook of a sitecustomize, registered once sgns is imported, as
# torch's and pyarrow's are): it says so on stderr and waits, as torch's hooks and Beam's threads
# make it wait a moment, or hang.
HELD_EXIT = """
import atexit, sys, time
import sgns

def _held():
    sys.stderr.write("exit held\\n")
    sys.stderr.flush()
    time.sleep(120)

atexit.register(_held)
"""


def _signal_once_ended(tmp_path, code: str, args: list[str], sig: int, module: str = ""):
    """`code` run as a child with `args` (as a script named as the console scripts are, or
    `python -m module`), sent `sig` once its main has returned (while its exit is held); its
    exit code, stdout and stderr."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(HELD_EXIT)
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{ROOT}", OMP_NUM_THREADS="1")
    script = tmp_path / "sgns-child.py"
    script.write_text(code)
    run = ["-m", module] if module else [str(script)]
    child = subprocess.Popen([sys.executable, *run, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)  # fmt: skip
    try:
        err = signal_when_said(child, "exit held\n", sig)  # (its main returned, then the signal)
        out, rest = child.communicate(timeout=300)
    finally:
        child.kill()
    return child.returncode, out, err + rest


def _command(name: str) -> str:
    return f"import sys; from sgns.commands import {name}; sys.exit({name}())"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("given, code", [("v.txt", 0), ("missing.txt", 2)])
def test_a_signal_once_a_command_is_done_keeps_its_exit_code_and_says_nothing(
    tmp_path, sig, given, code
):
    (tmp_path / "v.txt").write_text("3 2\nw0 1 0\nw1 0 1\nw2 1 1\n")
    args = [given, "--neighbors", "w0"]
    rc, out, err = _signal_once_ended(tmp_path, _command("evaluate"), args, sig)
    assert rc == code, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert "interrupted" not in err, err[-3000:]
    if code == 0:
        assert "w2" in out, out  # (what it printed is out whole)
    else:
        one_line(err, "sgns-eval")


def test_a_signal_once_training_is_done_keeps_exit_0_without_torchs_traceback(tmp_path):
    write_tiny_dataset(str(tmp_path / "data"))
    args = ["--data", "data", "--output", "run", "--dim", "4", "--epochs", "1", "--threads", "1"]
    rc, out, err = _signal_once_ended(tmp_path, _command("train"), args, signal.SIGINT)
    assert rc == 0, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert "interrupted" not in err and (tmp_path / "run" / "vectors.txt").is_file()


def test_a_module_form_stopped_once_done_keeps_its_exit_code(tmp_path):
    args = [str(tmp_path / "no-run"), "--output", str(tmp_path / "v.txt")]
    rc, out, err = _signal_once_ended(tmp_path, "", args, signal.SIGTERM, "sgns.train.export")
    assert rc == 2, err[-3000:]
    one_line(err, "sgns-export")


GROUP = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.mark.parametrize(
    "variables, said",
    [
        ({}, "WORLD_SIZE=2 in the environment but MASTER_ADDR is not set (torchrun sets both"),
        ({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "abc"},
         "MASTER_PORT='abc' in the environment is no port (a whole number 1-65535"),
    ],
)  # fmt: skip
def test_a_rank_other_than_0_says_what_is_wrong_with_where_ranks_meet(tmp_path, variables, said):
    write_tiny_dataset(str(tmp_path / "data"))
    env = {k: v for k, v in os.environ.items() if k not in GROUP}
    env.update(WORLD_SIZE="2", RANK="1", LOCAL_RANK="1", PYTHONPATH=ROOT, **variables)
    args = ["--data", str(tmp_path / "data"), "--output", str(tmp_path / "run"), "--dim", "4"]
    done = subprocess.run(
        [sys.executable, "-c", _command("train"), *args], capture_output=True, text=True,
        timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert one_line(done.stderr, "sgns-train").startswith(f"sgns-train: error: {said}")
    assert not (tmp_path / "run").exists()


def test_a_local_rank_past_the_devices_is_said_by_that_rank():
    from sgns.console.environment import GroupStartError
    from sgns.train.distributed import pick_device

    assert pick_device("auto", 0, True, 1) == "cuda:0"
    with pytest.raises(GroupStartError, match="LOCAL_RANK 1 picks cuda:1, but this machine"):
        pick_device("auto", 1, True, 1)  # (rank 0 of the node has its device, and waits)


def _module_forms() -> list[str]:
    """Every `python -m` form the documentation names."""
    forms = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "docs")):
        for name in files:
            if name.endswith(".md"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    forms.update(re.findall(r"python -m (sgns(?:\.\w+)+)", f.read()))
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        forms.update(re.findall(r"python -m (sgns(?:\.\w+)+)", f.read()))
    return sorted(forms)


def test_the_documented_module_forms_are_the_ones_checked():
    assert {"sgns.pipeline.preprocess", "sgns.train.export", "sgns.pipeline.local", "sgns.train",
            "sgns.eval", "sgns.synth", "sgns.report", "sgns.pipeline.phrases"} <= set(
        _module_forms())  # fmt: skip


@pytest.mark.parametrize("module", _module_forms())
def test_every_documented_module_form_answers_its_version(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--version"], capture_output=True, text=True,
        timeout=300, env=dict(os.environ, PYTHONPATH=ROOT),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.fullmatch(rf"\S[^\n]* {re.escape(sgns.__version__)}\n", done.stdout), done.stdout
    assert done.stderr == ""


def test_a_run_stopped_after_its_first_checkpoint_says_resume_continues(tmp_path):
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    args = ["--data", data, "--output", run, "--device", "cpu", "--epochs", "100000",
            "--checkpoint-interval", "1", "--dim", "4"]  # fmt: skip
    child = subprocess.Popen([sys.executable, "-c", _command("train"), *args],
                             stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=ROOT))  # fmt: skip
    try:
        for _ in range(6000):  # (generous: until its first checkpoint is there)
            if os.path.exists(os.path.join(run, "checkpoint.pt")) or child.poll() is not None:
                break
            time.sleep(0.05)
        assert child.poll() is None
        child.send_signal(signal.SIGINT)
        err = child.communicate(timeout=120)[1]
    finally:
        child.kill()
    assert child.returncode == 128 + signal.SIGINT, err[-3000:]
    said = [line for line in err.splitlines() if line.startswith("sgns-train")]
    assert said == ["sgns-train: interrupted (SIGINT); --resume continues from the last checkpoint"]


# sgns-train stopped after its run folder is made, before its first checkpoint: SIGINT sent as
# its run log starts (where --tensorboard's writer is imported, installed or not).
STOPPED_AT_START = """
import os, signal, sys

class InterruptAtImport:
    def find_spec(self, name, path=None, target=None):
        if name == "torch.utils.tensorboard":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, InterruptAtImport())
from sgns.commands import train
sys.exit(train())
"""


def test_a_run_stopped_before_its_first_checkpoint_says_there_is_none_and_what_to_run(tmp_path):
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    args = ["--data", data, "--output", run, "--device", "cpu", "--epochs", "1", "--dim", "4"]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", STOPPED_AT_START, *args, "--tensorboard"],
                          capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert done.returncode == 128 + signal.SIGINT, done.stderr[-3000:]
    assert os.path.isdir(run) and not os.path.exists(os.path.join(run, "checkpoint.pt"))
    said = [line for line in done.stderr.splitlines() if line.startswith("sgns-train")]
    assert said == ["sgns-train: interrupted (SIGINT); no checkpoint was written yet: run the "
                    "command again to start the run"]  # fmt: skip
    again = subprocess.run([sys.executable, "-c", _command("train"), *args], capture_output=True,
                           text=True, timeout=300, env=env)  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]  # (what the line says to do works)
    assert os.path.isfile(os.path.join(run, "vectors.txt"))


def test_a_command_called_in_process_leaves_the_callers_signal_handlers_alone():
    """(review of the seventh probe's F2 fix) a program that calls a command's function (a
    notebook, a wrapper, pytest) keeps its Ctrl-C: only a process a command owns keeps the
    command's exit code once its main has returned."""
    from sgns.commands import ended
    from sgns.console.exits import owns_process

    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    assert not owns_process()  # (pytest's process)
    assert ended(lambda: 0) == 0
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before
