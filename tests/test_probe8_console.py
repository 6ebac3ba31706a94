"""Issue 20, an eighth probe's console findings: a signal while a command still loads sgns itself
ends in its one line (F1); sgns-synth's integers are bounded as every command's (F5), and so are
sgns-eval's and sgns-report's (N9), never capped; SGNS_DEBUG=0 is off (N3); `--vers` is said as
the option it is not (N1: no command takes a prefix of an option).
"""

import os
import signal
import subprocess
import sys

import pytest
from procs import ROOT, one_line, signal_when_said

from sgns.console import early
from sgns.errors import Interruptible, UsageError, user_message

# A sitecustomize whose finder, ahead of Python's, holds the first import of $HELD_IMPORT: it
# says so on stderr and waits, so that a signal sent then lands inside that import, whatever
# the machine's speed (the test waits for the line, never for a time).
HOLD_IMPORT = """
import os, sys, time

class HoldImport:
    held = False

    def find_spec(self, name, path=None, target=None):
        if name == os.environ.get("HELD_IMPORT") and not HoldImport.held:
            HoldImport.held = True
            sys.stderr.write("import held\\n")
            sys.stderr.flush()
            time.sleep(120)
        return None

sys.meta_path.insert(0, HoldImport())
"""


def _signalled_at_import(tmp_path, run: list[str], held: str, sig: int, stdin: str = ""):
    """`run` (a child's arguments after the interpreter) sent `sig` while it imports `held`;
    its exit code and stderr."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(HOLD_IMPORT)
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{ROOT}", HELD_IMPORT=held)
    env.pop("SGNS_DEBUG", None)
    child = subprocess.Popen([sys.executable, *run], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)  # fmt: skip
    try:
        err = signal_when_said(child, "import held\n", sig)  # (held, then the signal)
        out, rest = child.communicate(stdin, timeout=300)
    finally:
        child.kill()
    return child.returncode, err + rest


def _console_script(tmp_path, name: str, function: str) -> str:
    """A script as pip writes the console script `name` (a file of that name, no .py)."""
    script = tmp_path / name
    script.write_text(f"import sys\nfrom sgns.commands import {function}\nsys.exit({function}())\n")
    return str(script)


def _interrupted(err: str, prog: str, sig: int) -> None:
    said = [line for line in err.splitlines() if line.startswith(prog)]
    assert said == [f"{prog}: interrupted ({signal.Signals(sig).name}); nothing was written"], err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("held", ["sgns.console.environment", "sgns.errors"])
def test_a_signal_while_a_command_loads_sgns_ends_in_its_line(tmp_path, sig, held):
    script = _console_script(tmp_path, "sgns-eval", "evaluate")
    rc, err = _signalled_at_import(tmp_path, [script, "v.txt", "--neighbors", "w0"], held, sig)
    assert rc == 128 + sig, err[-3000:]
    _interrupted(err, "sgns-eval", sig)


@pytest.mark.parametrize("module, prog", [("sgns.report", "sgns-report"),
                                          ("sgns.synth", "sgns-synth")])  # fmt: skip
def test_a_module_form_stopped_while_it_loads_sgns_ends_in_its_line(tmp_path, module, prog):
    run = ["-m", module, "--output", "x"]
    rc, err = _signalled_at_import(tmp_path, run, "sgns.console.environment", signal.SIGINT)
    assert rc == 130, err[-3000:]
    _interrupted(err, prog, signal.SIGINT)
    assert sorted(os.listdir(tmp_path)) == ["site"]  # (nothing written)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_phrase_command_stopped_while_it_loads_ends_in_its_line(tmp_path, sig):
    run = ["-m", "sgns.pipeline.phrases", "no-dataset"]
    rc, err = _signalled_at_import(tmp_path, run, "sgns.pipeline.phrases.table", sig, "a b\n")
    assert rc == 128 + sig, err[-3000:]
    _interrupted(err, "python -m sgns.pipeline.phrases", sig)


def test_a_program_importing_the_commands_keeps_its_signal_handlers():
    """A program that is no command's (a notebook, pytest) keeps its handlers on importing
    sgns.commands or the phrase command's module."""
    code = ("import signal; import sgns.commands, sgns.pipeline.phrases.__main__; "
            "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
            "signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))  # fmt: skip
    assert done.stdout == "True True\n", done.stderr[-3000:]


def test_the_first_interruptible_block_takes_over_and_puts_pythons_handlers_back(monkeypatch):
    """Once a command's handling is set, the start's handlers are gone for good: its first
    Interruptible block takes the signals, and Python's own are back after it (never the
    start's, whose line says nothing was written)."""
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    monkeypatch.setattr(early, "owns_process", lambda: True)  # (as a command's process)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # (as in a terminal)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        early.install("sgns-x")
        assert all(early.is_early(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM))
        with Interruptible("sgns-x") as stop:
            os.kill(os.getpid(), signal.SIGINT)
        assert stop.exit_code == 130
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        for sig, handler in zip((signal.SIGINT, signal.SIGTERM), before):
            signal.signal(sig, handler)


@pytest.mark.parametrize("option", ["--tokens", "--clusters", "--cluster-size", "--relations",
                                    "--function-words", "--filler-words",
                                    "--analogies-per-relation", "--similarity-pairs"])  # fmt: skip
def test_every_synth_integer_above_2_31_is_refused_naming_it(tmp_path, option):
    done = subprocess.run(
        [sys.executable, "-m", "sgns.synth", "--output", "s.txt", option, str(2**31)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"{option} must be at most 2147483647" in one_line(done.stderr, "sgns-synth")
    assert os.listdir(tmp_path) == []  # nothing written


@pytest.mark.parametrize("module, args, option", [
    ("sgns.eval", ["v.txt", "--neighbors", "w0", "--topn"], "--topn"),
    ("sgns.eval", ["v.txt", "--analogies", "a.txt", "--restrict-vocab"], "--restrict-vocab"),
    ("sgns.eval", ["v.txt", "--synth-k"], "--synth-k"),
    ("sgns.report", ["run", "--output", "r.html", "--words"], "--words"),
    ("sgns.report", ["run", "--output", "r.html", "--labels"], "--labels"),
])  # fmt: skip
def test_eval_and_report_integers_above_2_31_are_refused_not_capped(tmp_path, module, args,
                                                                    option):  # fmt: skip
    (tmp_path / "v.txt").write_text("3 2\nw0 1 0\nw1 0 1\nw2 1 1\n")
    (tmp_path / "a.txt").write_text(": s\nw0 w1 w2 w0\n")
    done = subprocess.run([sys.executable, "-m", module, *args, "99999999999"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=ROOT))  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"{option} must be at most 2147483647" in one_line(done.stderr, module.replace(".", "-"))


@pytest.mark.parametrize("value, on", [("1", True), ("true", True), ("YES", True), ("0", False),
                                       ("false", False), ("no", False), ("", False)])  # fmt: skip
def test_sgns_debug_is_on_for_1_true_yes_only(monkeypatch, value, on):
    monkeypatch.setenv("SGNS_DEBUG", value)
    said = user_message(UsageError("--dim must be at least 1"))
    assert (said is None) is on, said


@pytest.mark.parametrize("given, said", [
    ("--vers", "unrecognized option --vers: did you mean --version?"),
    ("--versio", "unrecognized option --versio: did you mean --version?"),
    ("--version=x", "unrecognized option --version: it takes no value"),
])  # fmt: skip
@pytest.mark.parametrize("module", ["sgns.train", "sgns.eval"])
def test_a_prefix_of_version_is_said_as_such_not_as_missing_arguments(module, given, said):
    done = subprocess.run([sys.executable, "-m", module, given], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    prog = module.replace(".", "-")
    assert one_line(done.stderr, prog).startswith(f"{prog}: error: {said}"), done.stderr


HANGS_AS_IT_ENDS = """
import sys, time
import sgns
from sgns.commands import ended

class Slow:
    def __del__(self):  # a library's destructor that hangs as Python finalizes
        sys.stderr.write("finalizing\\n")
        sys.stderr.flush()
        time.sleep(300)

slow = Slow()
sys.exit(ended(lambda: 0))
"""


def test_a_done_command_ends_before_pythons_finalization_where_a_hang_could_not_be_stopped(
    tmp_path,
):
    """(review) the last exit hook ignored the signals, so a destructor hanging as Python
    finalized could be ended by SIGKILL only: the process now ends there, with its code."""
    script = tmp_path / "sgns-hangs.py"  # (named as the console scripts are: a command's process)
    script.write_text(HANGS_AS_IT_ENDS)
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 0 and "finalizing" not in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize("name", ["WORLD_SIZE", "RANK"])
def test_a_torchrun_variable_of_a_superscript_digit_is_one_line(tmp_path, name):
    """(review) '²'.isdigit() is True but int('²') fails: a traceback before any line."""
    (tmp_path / "v.txt").write_text("2 2\nw0 1 0\nw1 0 1\n")
    env = dict(os.environ, PYTHONPATH=ROOT, **{name: "²"})
    command = [sys.executable, "-m", "sgns.eval", "v.txt", "--neighbors", "w0"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    one_line(done.stderr, "sgns-eval")
    assert name in done.stderr


def test_version_given_to_a_mains_parser_in_a_program_says_the_command_answers_it(capsys):
    from sgns.eval.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["v.txt", "--version"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "the command answers it" in err and "did you mean --version" not in err, err
