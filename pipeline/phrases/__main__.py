"""`python -m sgns.pipeline.phrases DATASET < in.txt > out.txt`: your text phrased as the dataset's.

The lines of bytes read are made the dataset's tokens (its --encoding, --errors, --normalize,
--tokenizer and --lowercase, from its manifest) and joined by its phrase table, a line out for a
line in (sgns.pipeline.phrases.table says how).
"""

# First: Ctrl-C or SIGTERM while the command still loads ends it in its one line (its package
# imports nothing: sgns.pipeline.phrases); main's Interruptible takes over from there.
from sgns.console import early

early.install("python -m sgns.pipeline.phrases")

import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

from sgns import __version__  # noqa: E402
from sgns.dataset.settings import MAX_INT, MIN_BLOCK_BYTES  # noqa: E402 (sgns-preprocess's bounds)
from sgns.errors import UsageError  # noqa: E402

SPOOLED_BYTES = 16 << 20  # of the command's output held in memory (on disk past it)


def _advice(name: str) -> str:
    """What to do about the dataset's setting `name` outside today's limits."""
    if name == "block_bytes":
        return "give --block-bytes"
    return "rebuild the dataset (sgns-preprocess --overwrite) to phrase text as it does"


def main(argv: list[str] | None = None) -> int:
    """python -m sgns.pipeline.phrases DATASET: stdin's lines phrased as the dataset's text
    (sgns.pipeline.text.own reads them a block at a time; UTF-8 out, a line for a line). What
    is made is held (on disk past SPOOLED_BYTES) and written once all of stdin is read and
    accepted: a text refused (binary, too many undecodable bytes) writes nothing."""
    from sgns.dataset.shape import check_limits
    from sgns.errors import Interruptible, OneLineParser, fail
    from sgns.pipeline.config import ERRORS, PipelineConfig
    from sgns.pipeline.phrases.table import Phrases, read_table
    from sgns.pipeline.text.own import sentences

    parser = OneLineParser(prog="python -m sgns.pipeline.phrases", description=main.__doc__,
                           allow_abbrev=False)  # fmt: skip
    parser.add_argument("dataset", help="a dataset built with --phrases (a directory or URI)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--encoding", help="codec of the text read (default: the dataset's)")
    parser.add_argument("--errors", choices=ERRORS, help="undecodable bytes, as sgns-preprocess's "
                        "--errors (default: the dataset's)")  # fmt: skip
    parser.add_argument("--block-bytes", type=int, help="bytes of text read at a time, from "
                        f"{MIN_BLOCK_BYTES} to {MAX_INT} (default: the dataset's)")  # fmt: skip
    args = parser.parse_args(argv)
    for name, stream, redirect in (("stdin", sys.stdin, "< in.txt"),
                                   ("stdout", sys.stdout, "> out.txt")):  # fmt: skip
        if stream is None:  # (started with it closed: `<&-`, `>&-`)
            return fail(parser.prog, UsageError(
                f"{name} is closed: give the command its text on stdin and a place for the "
                f"phrased text on stdout ({parser.prog} DATASET {redirect})"))  # fmt: skip
    defaults = PipelineConfig.__dataclass_fields__
    stop = Interruptible(parser.prog, "stdout has none or a part of the text: run it again")
    with stop, tempfile.SpooledTemporaryFile(max_size=SPOOLED_BYTES) as held:
        try:
            rows, manifest = read_table(args.dataset)
            config = manifest["config"] if manifest else {}
            phrases = Phrases.of(rows, config)
            # not given (None): the dataset's; an empty --encoding= is given, and then refused
            given = {"encoding": args.encoding, "errors": args.errors}
            text = phrases.text._replace(**{k: v for k, v in given.items() if v is not None})
            block = args.block_bytes
            taken = ["max_sentence_length"] + (["block_bytes"] if block is None else [])
            check_limits(config, args.dataset, taken, _advice)  # (today's, sgns.dataset.shape)
            if block is None:
                block = config.get("block_bytes", defaults["block_bytes"].default)
            if not MIN_BLOCK_BYTES <= block <= MAX_INT:
                low = block < MIN_BLOCK_BYTES
                bound = f"at least {MIN_BLOCK_BYTES}" if low else f"at most {MAX_INT}"
                raise UsageError(f"--block-bytes must be {bound}, got {block}")
            length = config.get("max_sentence_length", defaults["max_sentence_length"].default)
            words = 0  # of the line being written
            for tokens, ends in sentences(sys.stdin.buffer, text, phrases.lowercase, length,
                                          block):  # fmt: skip
                joined = " ".join(phrases.join(tokens))
                held.write(((" " if words and joined else "") + joined).encode("utf-8"))
                words = 0 if ends else words + len(tokens)
                if ends:
                    held.write(b"\n")
        except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
            return fail(parser.prog, e)
        held.seek(0)
        try:
            sys.stdout.flush()
            shutil.copyfileobj(held, sys.stdout.buffer)
            sys.stdout.flush()
        except BrokenPipeError:  # (`| head`: the reader wants no more, which is no error)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return stop.exit_code or 0


if __name__ == "__main__":
    from sgns.commands import ended  # (the process's end kept as the console commands keep it)

    sys.exit(ended(main))
