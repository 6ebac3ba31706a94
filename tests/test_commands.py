"""The console scripts (sgns.commands): every one setup.py installs runs its command's main, and a
signal while the command's modules still load (torch, Beam: a second or two) ends in the
command's one "interrupted" line and 130 or 143, not in a traceback."""

import importlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sgns import commands

ROOT = Path(__file__).resolve().parent.parent


def test_every_console_script_runs_its_commands_main():
    setup = (ROOT / "setup.py").read_text()
    scripts = dict(re.findall(r'"(sgns-[a-z]+)=(sgns\.commands:[a-z]+)"', setup))
    assert set(scripts) == set(commands.COMMANDS), scripts
    for prog, target in scripts.items():
        function = getattr(commands, target.split(":")[1])
        assert function.__code__.co_consts.count(prog) == 1, (prog, target)  # its own command
        assert callable(importlib.import_module(commands.COMMANDS[prog]).main), prog


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_command_loads_is_one_line(tmp_path, sig):
    ready = tmp_path / "ready"
    (tmp_path / "slow_to_load.py").write_text(  # a command module whose import takes a while
        f"import pathlib, time\npathlib.Path({str(ready)!r}).touch()\ntime.sleep(60)\n"
        "def main():\n    return 0\n"
    )
    code = "import sys; from sgns.commands import run; sys.exit(run('sgns-x', 'slow_to_load'))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    env.pop("WORLD_SIZE", None)
    with subprocess.Popen(
        [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True
    ) as process:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the module never started loading"
        process.send_signal(sig)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 128 + sig, err
    assert err.splitlines() == [f"sgns-x: interrupted ({sig.name}); {commands.STARTING}"], err


def test_a_command_that_loads_runs_its_main(tmp_path):
    (tmp_path / "quick.py").write_text("def main():\n    print('ran')\n    return 7\n")
    code = "import sys; from sgns.commands import run; sys.exit(run('sgns-x', 'quick'))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (7, "ran\n", "")
