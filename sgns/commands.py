"""The console scripts (setup.py's entry points): each imports its command's module inside
`Interruptible`, so that Ctrl-C or SIGTERM while torch or Beam is still loading (the first second
or two) ends as it does later on, in the command's one "interrupted" line and exit code 130 or
143, never in Python's traceback of an import. Nothing is written before the command's main runs.
Before any of that, at this module's top, `early.install` makes a signal end the process in the
same line while sgns itself still loads (sgns.console.early). Then the process is made ready as
every command needs it (sgns.console): a stderr that cannot fail a command, torchrun's
environment checked; and `--version` answered (one line).
Once the command's main has returned, its work is done: a stop signal while the process still
ends (torch's exit hooks, Beam's threads: a moment, or a hang) ends it at once with the command's
own exit code, printing nothing more (`ended`): it was a silent 130 or 143, or torch's traceback.

    sgns-train = sgns.commands:train     (runs sgns.train.cli's main)
"""

from __future__ import annotations

# First, before sgns's own imports (~20 ms; more on a busy machine): Ctrl-C or SIGTERM from here
# until `run`'s Interruptible ends the process in the command's one line (sgns.console.early).
from sgns.console import early

early.install()

import importlib  # noqa: E402
import sys  # noqa: E402

from sgns import __version__  # noqa: E402
from sgns.console import environment  # noqa: E402
from sgns.console.exits import keep_exit  # noqa: E402
from sgns.console.streams import guard_stderr  # noqa: E402
from sgns.errors import Interruptible, UsageError, fail  # noqa: E402

STARTING = early.STARTING

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
    if version_asked():
        print(f"{prog} {__version__}")
        return _done(0)
    try:
        ranks = environment.ranks()
    except UsageError as e:
        return _done(fail(prog, e))
    # a rank under torchrun keeps SIGTERM's default and only rank 0 speaks, as sgns.train.cli
    with Interruptible(prog, STARTING, sigterm=ranks.alone, show=ranks.is_main) as stop:
        main = importlib.import_module(module).main
    if stop.exit_code is not None:
        keep_exit(stop.exit_code)
        return stop.exit_code
    return ended(main)


def run_main(prog: str, main):
    """`python -m` of a command whose module is run itself (sgns.pipeline.preprocess,
    sgns.pipeline.local, sgns.train.export): `--version` answered as the console scripts answer
    it, then what `main()` returns, its process's end kept as `run` keeps it."""
    early.release()  # (its module is loaded: from here its main handles the signals)
    if version_asked():
        print(f"{prog} {__version__}")
        return _done(0)
    return ended(main)


def _done(code: int) -> int:
    """A command that ends before its main runs (--version, a bad environment): the start's
    handlers off, its exit code kept as a main's is."""
    early.release()
    keep_exit(code)
    return code


def version_asked() -> bool:
    """`--version` among the command's options (not an argument after `--`)."""
    given = sys.argv[1:]
    return "--version" in given[: given.index("--") if "--" in given else None]


def ended(main):
    """What `main()` returns (its SystemExit as it is), the process's exit code kept from then
    on (`keep_exit`)."""
    try:
        code = main()
    except SystemExit as done:
        keep_exit(done.code)
        raise
    keep_exit(code)
    return code


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
