"""`python -m sgns.pipeline.phrases DATASET < in.txt > out.txt`: your text phrased as the dataset's.

The lines of bytes read are made the dataset's tokens (its --encoding, --errors, --normalize,
--tokenizer and --lowercase, from its manifest) and joined by its phrase table, a line out for a
line in (sgns.pipeline.phrases.table says how).
"""

import os
import shutil
import sys
import tempfile

from sgns.errors import UsageError
from sgns.pipeline.phrases.table import Phrases, read_table

SPOOLED_BYTES = 16 << 20  # of the command's output held in memory (on disk past it)
MIN_BLOCK_BYTES = 1024  # as sgns-preprocess's --block-bytes


def main(argv: list[str] | None = None) -> int:
    """python -m sgns.pipeline.phrases DATASET: stdin's lines phrased as the dataset's text
    (sgns.pipeline.text.own reads them a block at a time; UTF-8 out, a line for a line). What
    is made is held (on disk past SPOOLED_BYTES) and written once all of stdin is read and
    accepted: a text refused (binary, too many undecodable bytes) writes nothing."""
    from sgns.errors import Interruptible, OneLineParser, fail
    from sgns.pipeline.config import ERRORS, PipelineConfig
    from sgns.pipeline.text.own import sentences

    parser = OneLineParser(prog="python -m sgns.pipeline.phrases", description=main.__doc__,
                           allow_abbrev=False)  # fmt: skip
    parser.add_argument("dataset", help="a dataset built with --phrases (a directory or URI)")
    parser.add_argument("--encoding", help="codec of the text read (default: the dataset's)")
    parser.add_argument("--errors", choices=ERRORS, help="undecodable bytes, as sgns-preprocess's "
                        "--errors (default: the dataset's)")  # fmt: skip
    parser.add_argument("--block-bytes", type=int, help="bytes of text read at a time, at least "
                        f"{MIN_BLOCK_BYTES} (default: the dataset's --block-bytes)")  # fmt: skip
    args = parser.parse_args(argv)
    defaults = PipelineConfig.__dataclass_fields__
    stop = Interruptible(parser.prog, "stdout has none or a part of the text: run it again")
    with stop, tempfile.SpooledTemporaryFile(max_size=SPOOLED_BYTES) as held:
        try:
            rows, manifest = read_table(args.dataset)
            config = manifest["config"] if manifest else {}
            phrases = Phrases.of(rows, config)
            text = phrases.text._replace(encoding=args.encoding or phrases.text.encoding,
                                         errors=args.errors or phrases.text.errors)  # fmt: skip
            block = args.block_bytes
            if block is None:
                block = config.get("block_bytes", defaults["block_bytes"].default)
            if block < MIN_BLOCK_BYTES:
                raise UsageError(f"--block-bytes must be at least {MIN_BLOCK_BYTES}, got {block}")
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
    sys.exit(main())
