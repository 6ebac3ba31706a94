"""`preprocess` and `train`: the two commands as Python calls, and `Run`, what `train` returns.

Each call is what its command runs, given the same settings: the keywords are the command's
options with underscores (`sgns-preprocess --min-count 3` is `min_count=3`), parsed by the
command's own parser into the same config (PipelineConfig, TrainConfig), validated by it and
run by the same code into the same files. A user's mistake is raised as `sgns.UsageError`
holding the line the command would print; Beam and torch are imported only when called.

A corpus file and its dataset, then a run on it, one thread so that it is the same every time
(the corpus: sgns-synth's made-up language, 100,000 tokens):

>>> import sgns
>>> from sgns.synth import SynthConfig, sentences
>>> with open("corpus.txt", "w") as f:
...     f.writelines(" ".join(s) + "\\n" for s in sentences(SynthConfig(tokens=100_000)))
>>> sgns.preprocess("corpus.txt", "data", min_count=5)
'data'
>>> run = sgns.train("data", "run", dim=32, threads=1)
>>> run
Run('run')
>>> run.vectors
Vectors(1089 words, 32 dimensions)
>>> run.config["dim"], run.config["epochs"]
(32, 5)
>>> sgns.train("data", "run2", dim=0)
Traceback (most recent call last):
sgns.errors.UsageError: --dim must be >= 1, got 0
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
from pathlib import Path

from sgns import rundir
from sgns.api.settings import check_names, parse, settable, usage_errors
from sgns.console.imports import imported_whole
from sgns.errors import UsageError, loads_json
from sgns.files import check_file, path_argument
from sgns.vectors.keyed import Vectors, load


def preprocess(inputs, output, *, runner: str | None = None, beam_args=(), **settings) -> str:
    """Build the dataset of the corpus files `inputs` in `output`, as `sgns-preprocess` does;
    returns `output`.

    `inputs`: a file, directory or pattern, or a list of them (as --input takes them; gs:// and
    s3:// too). `settings`: sgns-preprocess's options (`sgns-preprocess --help`) with
    underscores: min_count, max_vocab, sample, window, passes, num_shards, seed, lowercase,
    overwrite, append, ... (defaults: PipelineConfig's, as the command's). Without `runner`
    it runs where the command runs locally (Beam's local engine, 2 threads); `runner` (e.g.
    "DataflowRunner", "DaskRunner") and `beam_args` (Beam's options as a command line:
    ["--project", "P", "--temp_location", "gs://b/tmp"], or one string a shell would split)
    are the command's Beam options.
    Beam's own log lines below WARNING are left out, as the command leaves them out.
    """
    with imported_whole():  # (Beam's import: Ctrl-C waits for it, see sgns.console.imports)
        from sgns.pipeline.dataset.objectstore import store_error
        from sgns.pipeline.options import build_parser
        from sgns.pipeline.preprocess import execute

    parser = build_parser()
    own = ("inputs", "output")
    check_names("sgns.preprocess", settings, settable(parser, ("input", "output")), own=own)
    output = path_argument("output", output)
    args = parse(parser, settings, {"input": _as_list(inputs), "output": output})
    if isinstance(beam_args, str):  # a command line's tail, as a shell would split it
        try:
            beam_args = shlex.split(beam_args)
        except ValueError as e:  # ("No closing quotation")
            raise UsageError(f"beam_args {beam_args!r:.60}: {e}; close the quote") from None
    if runner is not None and not isinstance(runner, str):
        raise UsageError(f"runner: give a runner's name (str), not {runner!r:.60}")
    beam_args = _listed("beam_args", beam_args)
    if not all(isinstance(a, str) for a in beam_args):
        raise UsageError(f"beam_args: give str options (or one str), not {beam_args!r:.60}")
    beam = (["--runner", runner] if runner else []) + beam_args
    beam_logger = logging.getLogger("apache_beam")
    if beam_logger.level == logging.NOTSET:  # a level the user set is theirs
        beam_logger.setLevel(logging.WARNING)
    with usage_errors(store_error):
        execute(args, beam, parser)
    return args.output


def train(data, output, **settings) -> Run:
    """Train on the dataset `data` into the run directory `output`, as `sgns-train` does;
    returns the `Run`.

    `settings`: sgns-train's options (`sgns-train --help`) with underscores: dim, negatives,
    epochs, lr, seed, threads, engine, device, resume, ... (defaults: TrainConfig's). The run
    directory holds what the command writes: config.json, vocab.tsv, checkpoint.pt,
    metrics.jsonl, vectors.txt. Several processes are torchrun's, as for the command: a script
    that calls sgns.train, started by `torchrun --nproc-per-node N script.py`, trains as one
    rank of N (the environment torchrun sets decides), and only rank 0 writes; called from a
    notebook it is one process. A loss that diverges raises
    sgns.train.trainer.TrainingDiverged (the command's exit code 3); Ctrl-C, KeyboardInterrupt
    (resume=True continues from the last checkpoint).
    """
    with imported_whole():  # (torch's import: Ctrl-C waits for it)
        from sgns.train.cli import train_parser
        from sgns.train.config import TrainConfig
        from sgns.train.trainer import train as run_training

    parser = train_parser()
    own = ("data", "output")
    check_names("sgns.train", settings, settable(parser, ("data", "output")), own=own)
    given = {"data": path_argument("data", data), "output": path_argument("output", output)}
    rundir.check_local(given["output"], "output")
    args = parse(parser, settings, given)
    with usage_errors():
        run_training(TrainConfig(**vars(args)))
    return Run(args.output)


class Run:
    """A run directory `sgns-train` wrote: `path`; `vectors`, its vectors.txt as `Vectors`
    (read at first use); `config`, its config.json. `os.fspath(run)` is the path, so a Run
    goes wherever a path does (sgns.load, sgns.train(..., resume=True))."""

    def __init__(self, path):
        self.path = Path(path_argument("Run", path))

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    @functools.cached_property
    def vectors(self) -> Vectors:
        return load(str(self.path / rundir.VECTORS_FILE))

    @property
    def config(self) -> dict:
        path = str(self.path / rundir.CONFIG_FILE)
        with usage_errors(), open(check_file(path, "the run's"), "rb") as f:  # (as `vectors`:
            data = f.read()  # a MissingFileError, a UsageError naming the file)
        try:
            return loads_json(data.decode("utf-8"))
        except ValueError as e:  # (a file edited or cut since: not sgns-train's)
            raise UsageError(f"{path} is not the JSON sgns-train writes ({e})") from None


def _as_list(inputs) -> list[str]:
    if isinstance(inputs, (str, os.PathLike)):
        return [path_argument("inputs", inputs)]
    items = _listed("inputs", inputs)
    if not items or not all(isinstance(i, (str, os.PathLike)) for i in items):  # (bytes: ints)
        raise UsageError(
            f"inputs: give a file, directory or pattern, or a list of them: {inputs!r:.80}"
        )
    return [path_argument("inputs", i) for i in items]


def _listed(name: str, value) -> list:
    """`value` as a list, when it is one, a tuple or another iterable; else a UsageError."""
    try:
        return list(value)
    except TypeError:
        raise UsageError(f"{name}: give a list, not {type(value).__name__} {value!r:.60}") from None
