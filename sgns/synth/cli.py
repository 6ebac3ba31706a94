"""The sgns-synth command line (what it does and its options: its schema, sgns.synth.options).

    sgns-synth --output data/synth.txt.gz                # 1M tokens, seed 0
    sgns-synth --output data/synth.txt --tokens 5000000 --seed 7

(also `python -m sgns.synth`). What the language is: sgns.synth.generate.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import asdict

from sgns.errors import Interruptible, UsageError, configure_logging, fail
from sgns.files import check_directory, check_output_file, check_side_file, resolved_path
from sgns.rundir import check_not_own_file
from sgns.synth.config import SynthConfig
from sgns.synth.generate import output_paths, side_file_ours, write_synth
from sgns.synth.options import SCHEMA

log = logging.getLogger(__name__)
INTERRUPTED = "no file is left half written: run it again to write them all"  # (atomic_open)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """sgns-synth's command line, parsed by the parser of its schema (sgns.synth.options)."""
    return SCHEMA.parser().parse_args(argv)


def _same(a: str, b: str) -> bool:
    return resolved_path(a) == resolved_path(b) or (
        os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    )


def _check_place(path: str, what: str, made: bool) -> None:
    """Refuse `path` before any file is written (write_synth renames its four files together,
    and a rename that cannot be made would leave the others replaced): a folder not there
    (unless write_synth makes it: `made`) or no directory, a name the filesystem cannot hold."""
    folder = os.path.dirname(path) or os.curdir
    while made and not os.path.lexists(folder):  # (made: its nearest folder there says)
        folder = os.path.dirname(folder) or os.curdir
    check_directory(folder, f"the folder of {what}")
    limit = os.pathconf(folder, "PC_NAME_MAX")
    name = os.path.basename(path)
    size = len(os.fsencode(name))
    if size > limit:
        shown = name if len(name) <= 80 else f"{name[:30]}...{name[-30:]}"
        raise UsageError(f"{what}: its name {shown!r} is {size} bytes, more than the {limit} its "
                         f"filesystem holds; give {what.split()[-1]} a shorter name")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    configure_logging(logging.INFO, "%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    with Interruptible("sgns-synth", INTERRUPTED) as stop:
        code = _synth(args)
    return stop.exit_code or code


def _synth(args: argparse.Namespace) -> int:
    try:
        cfg = SynthConfig(**{k: getattr(args, k) for k in asdict(SynthConfig())})
        check_output_file(args.output, "--output")  # (before any file is written)
        if args.truth is not None:
            check_output_file(args.truth, "--truth")
        paths = output_paths(args.output, args.truth)
        shared = [n for n in paths if n != "truth" and _same(paths[n], paths["truth"])]
        if shared:  # one file would be written over the other
            raise UsageError(f"--truth {args.truth!r} is where the {shared[0]} file goes: "
                             "give the truth file another name")  # fmt: skip
        for name, path in paths.items():  # never over a run's or a dataset's own files
            flag = "--truth" if name == "truth" and args.truth else "--output"
            check_not_own_file(path, flag)
            beside = flag == "--output" and name != "corpus"
            what = f"the {name} file written beside --output" if beside else flag
            _check_place(path, what, made=flag == "--output")
            if name != "corpus" and not (name == "truth" and args.truth):  # (not named: ours)
                check_side_file(path, side_file_ours(name), f"{name} file", args.output)
        start = time.perf_counter()
        planted = write_synth(cfg, paths)
    except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
        return fail("sgns-synth", e)
    seconds = time.perf_counter() - start
    log.info(
        "wrote %d tokens to %s in %.1f s (%.2fM tokens/s); %d clusters, %d analogy questions; "
        "truth in %s, questions in %s",
        cfg.tokens,
        paths["corpus"],
        seconds,
        cfg.tokens / seconds / 1e6,
        len(planted["clusters"]),
        sum(len(q) for q in planted["analogies"].values()),
        paths["truth"],
        paths["questions"],
    )
    return 0
