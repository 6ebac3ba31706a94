"""Running launcher subprocesses (torchrun, CLIs) in tests without leaking their children."""

import os
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_group(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run in a new process group, killing the whole group on timeout.

    subprocess.run(timeout=...) kills only the launcher: torchrun's rank processes would live on,
    holding the output pipes open, and the test would hang until they gave up on their peers.
    """
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    with subprocess.Popen(command, start_new_session=True, **_popen_args(kwargs)) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            raise AssertionError(f"{command[:6]} ... timed out after {timeout} s:\n{err}") from None
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _popen_args(kwargs: dict) -> dict:
    if kwargs.pop("capture_output"):
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return kwargs


def cli(module: str, args: list[str], limit_bytes: int | None = None, cwd=None, timeout=300,
        memory_bytes: int | None = None, env: dict | None = None) -> tuple[int, str]:  # fmt: skip
    """A command (`module`'s main) in a child process; returns (exit code, stderr). Optionally
    with its files capped at `limit_bytes` (as a full disk would stop them) and its address
    space at `memory_bytes` (so that a command that would take the machine's memory fails)."""
    prelude = "import resource, signal; "
    if limit_bytes is not None:
        prelude += (
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, {limit_bytes})); "
        )
    if memory_bytes is not None:
        prelude += f"resource.setrlimit(resource.RLIMIT_AS, ({memory_bytes}, {memory_bytes})); "
    code = f"{prelude}import sys; from {module} import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
        env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})), timeout=timeout,
    )  # fmt: skip
    return done.returncode, done.stderr


def one_line(stderr: str, prog: str) -> str:
    """The one error line `prog` printed; fails unless there is exactly one and no traceback."""
    lines = [ln for ln in stderr.splitlines() if ln.startswith(prog)]
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


def run_interrupted_import(script: str, module: str, call: str, folder) -> str:
    """Run an `interrupted_import` script; check that it ended well and that its first call's
    KeyboardInterrupt came once `module` was imported whole. Its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", script, module, call, str(folder)],
        capture_output=True, text=True, timeout=300, cwd=folder,
        env=dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1"),
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr[-3000:]}"
    assert "first call interrupted True True" in out, out
    assert "second call" in out, out
    return out


def interrupted_import(calls: str) -> str:
    """A child script (argv: module, call, folder) whose first import of `module` sends the
    process SIGINT (a finder ahead of Python's), that calls `calls`'s call_once(1), interrupted
    or not, then call_once(2): the API's lazy imports interrupted, then used again."""
    return _INTERRUPT_AT_IMPORT + calls + _CALL_TWICE


_INTERRUPT_AT_IMPORT = """
import os, signal, sys
module, call, folder = sys.argv[1:4]

class InterruptAtImport:
    fired = False

    def find_spec(self, name, path=None, target=None):
        if name == module and not InterruptAtImport.fired:
            InterruptAtImport.fired = True
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, InterruptAtImport())
import sgns
"""

_CALL_TWICE = """
try:
    call_once(1)
    print("first call finished")
except KeyboardInterrupt:
    print("first call interrupted", InterruptAtImport.fired, module in sys.modules)
print("second call", call_once(2))
"""


def signal_when_said(child: subprocess.Popen, said: str, sig: int) -> str:
    """Read `child`'s stderr (text) until the line `said`, then send it `sig`; what it had
    said (checked to end with that line)."""
    err = ""
    for line in child.stderr:
        err += line
        if line == said:
            child.send_signal(sig)
            break
    assert err.endswith(said), err[-3000:]
    return err
