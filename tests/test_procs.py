"""The test launcher helper kills a timed-out command's whole process group."""

import time

import pytest
from procs import run_group


def test_a_timed_out_command_and_its_children_are_killed():
    started = time.monotonic()
    # the grandchild keeps the output pipe open: plain subprocess.run would wait 60 s for it
    with pytest.raises(AssertionError, match="timed out"):
        run_group(["bash", "-c", "sleep 60 & sleep 60"], timeout=1)
    assert time.monotonic() - started < 20


def test_a_finished_command_returns_its_output_and_code():
    done = run_group(["bash", "-c", "echo out; echo err >&2; exit 3"], timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
