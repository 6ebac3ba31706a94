"""The console scripts (setup.py's entry points): each imports its command's module inside
`Interruptible`, so that Ctrl-C or SIGTERM while torch or Beam is still loading (the first second
or two) ends as it does later on, in the command's one "interrupted" line and exit code 130 or
143, never in Python's traceback of an import. Nothing is written before the command's main runs.
Before that, the process is made ready as every command needs it (sgns.console): a stderr that
cannot fail a command, torchrun's environment checked; and `--version` answered (one line).

    sgns-train = sgns.commands:train     (runs sgns.train.cli's main)
"""

from __future__ import annotations

import importlib
import sys

from sgns import __version__
from sgns.console import environment
from sgns.console.streams import guard_stderr
from sgns.errors import Interruptible, UsageError, fail

STARTING = "nothing was written"

# command: the module whose main() it runs
COMMANDS = {
    "sgns-preprocess": "sgns.pipeline.preprocess",
    "sgns-train": "sgns.train.cli",
    "sgns-export": "sgns.train.export",
    "sgns-eval": "sgns.eval.cli",
    "sgns-synth": "sgns.synth.cli",
    "sgns-report": "sgns.report.cli",
}


def run(prog: str, module: str):
    """Import `module` (a signal stops it in one line) and return what its main() returns."""
    guard_stderr()
    given = sys.argv[1:]
    if "--version" in given[: given.index("--") if "--" in given else None]:
        print(f"{prog} {__version__}")
        return 0
    try:
        ranks = environment.ranks()
    except UsageError as e:
        return fail(prog, e)
    # a rank under torchrun keeps SIGTERM's default and only rank 0 speaks, as sgns.train.cli
    with Interruptible(prog, STARTING, sigterm=ranks.alone, show=ranks.is_main) as stop:
        main = importlib.import_module(module).main
    if stop.exit_code is not None:
        return stop.exit_code
    return main()


def preprocess():
    return run("sgns-preprocess", COMMANDS["sgns-preprocess"])


def train():
    return run("sgns-train", COMMANDS["sgns-train"])


def export():
    return run("sgns-export", COMMANDS["sgns-export"])


def evaluate():
    return run("sgns-eval", COMMANDS["sgns-eval"])


def synth():
    return run("sgns-synth", COMMANDS["sgns-synth"])


def report():
    return run("sgns-report", COMMANDS["sgns-report"])
