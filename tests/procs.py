"""Running launcher subprocesses (torchrun, CLIs) in tests without leaking their children."""

import os
import signal
import subprocess


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
