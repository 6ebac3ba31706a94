"""Your own text read as sgns-preprocess reads a file: a binary stream in, the sentences of the
dataset's tokens of each of its lines out (the phrase command, `python -m sgns.pipeline.phrases`,
phrases them).

The bytes go through the reader of the pipeline's files (sgns.pipeline.text.blocks), a block of
about `block_bytes` at a time (a line longer than a block in pieces, its tokens carried from one to
the next), so that what is held stays within a few blocks and a sentence whatever the input (a codec
read through the transcoder reads its own chunks,
sgns.pipeline.text.decoding.Transcoder.READ_BYTES): the codec and the policy for undecodable bytes
of a `TextFormat`, a NUL byte or a binary header refused, then its normalisation and tokenizer; then
--lowercase, each token cut to MAX_TOKEN_CHARS, and lines longer than the dataset's
--max-sentence-length tokens cut into sentences of that many, as the dataset's were. A text with too
many undecodable bytes is refused as a file of a corpus is (--errors limit), once it has been read
to its end: a caller that must write nothing for a refused text holds what it made of the sentences
until the last one.
"""

from __future__ import annotations

from collections.abc import Iterator

from sgns.pipeline.config import check_encoding
from sgns.pipeline.text.blocks import Source, read_blocks
from sgns.pipeline.text.decoding import merge_tallies, refuse_undecodable
from sgns.pipeline.text.format import TextFormat
from sgns.pipeline.text.tokens import MAX_TOKEN_CHARS

NAME = "<stdin>"  # what errors call the text


def sentences(
    stream, text: TextFormat, lowercase: bool, sentence_length: int, block_bytes: int
) -> Iterator[tuple[list[str], bool]]:
    """(a sentence's tokens, whether its line ends with it) for each sentence of the binary
    `stream`, in order; a line without tokens is ([], True), and so is the end of a line whose
    tokens were a multiple of `sentence_length` (its last sentence came before). A last line
    without "\\n" ends too. UsageError (after the last sentence) for too many undecodable bytes."""
    check_encoding(text.encoding)
    held: list[str] = []  # tokens of the open line not yet in a sentence (< sentence_length)
    open_line = False  # text since the last "\n"
    tallies = []
    for block in read_blocks(stream, Source(0, NAME), block_bytes, sentence_length, text):
        if block.undecodable:
            tallies.append(block.undecodable)
        lines = (block.text.lower() if lowercase else block.text).split("\n")
        for at, line in enumerate(lines):
            tokens = held + [token[:MAX_TOKEN_CHARS] for token in line.split()]
            whole = len(tokens) - len(tokens) % sentence_length
            for start in range(0, whole, sentence_length):
                yield tokens[start : start + sentence_length], False
            held = tokens[whole:]
            if at < len(lines) - 1:  # a "\n" ends the line
                yield held, True
                held, open_line = [], False
            else:
                open_line = open_line or bool(line)
    if open_line:
        yield held, True
    refuse_undecodable(merge_tallies(tallies))
