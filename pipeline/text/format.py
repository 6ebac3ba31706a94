"""Text before tokens: how bytes become the text that is split into tokens (`TextFormat`), and the
two steps after decoding, applied to each block's text as it is read (sgns.pipeline.text.blocks), so
that counting, pairs and the cutting of long lines into sentences all see the same tokens.

--normalize nfc | nfkc: `unicodedata.normalize` of the block. NFC composes what can be composed
("cafe" + U+0301 becomes "café", as most text already is); NFKC also folds compatibility forms
(the ligature "ﬁ" into "fi", full-width "Ａ" into "A", a no-break space into a space). A block
ends after a whitespace character, where normalising the pieces equals normalising the whole.

--tokenizer words: a token is a run of word characters, Unicode letters (categories L*), marks
(M*: the accents of decomposed text, the vowel signs of Indic scripts) and numbers (N*), in which
a joiner may stand between two word characters: the apostrophes ' and U+2019, the hyphens -, U+2010
and U+2011, the underscore (phrases such as new_york stay whole) and the zero-width non-joiner
and joiner U+200C, U+200D. Everything else separates tokens: spaces, punctuation, symbols, emoji,
a joiner at a token's edge or next to another. So "moscow," is "moscow", "don't" and "new_york"
stay whole, "3.14" is "3" and "14", "--x--" is "x". As gensim's `tokenize`, but digits are kept
and so are marks and joiners inside words; unlike `simple_preprocess`, no length filter, no
lowercasing (that is --lowercase) and no accent stripping. Each character's class comes from
one table over all code points (numpy): every separator becomes a space, and the tokens are
then `str.split()` of that, as with the whitespace tokenizer (pyarrow's fast path included).
Both steps follow the Unicode tables of the Python that runs them (unicodedata.unidata_version).
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from typing import NamedTuple

import numpy as np

_OTHER, _WORD, _JOINER, _NEWLINE = 0, 1, 2, 3
JOINERS = "'\u2019-\u2010\u2011_\u200c\u200d"
# Characters that always separate words (never a word character or a joiner, whatever stands
# next to them): where sgns.pipeline.text.blocks may cut a run of text without whitespace. Not "<",
# "=", ">": NFC composes them with a following U+0338 into one character.
WORD_BREAKS = '!"#$%&()*+,./:;?@[\\]^`{|}~\u3001\u3002\uff01\uff0c\uff0e\uff1a\uff1b\uff1f'


class TextFormat(NamedTuple):
    """How a file's bytes become the text that is split into tokens: PipelineConfig's encoding,
    errors (sgns.pipeline.text.decoding), normalize and tokenizer (this module)."""

    encoding: str = "utf-8"
    errors: str = "limit"
    normalize: str = "none"
    tokenizer: str = "whitespace"

    @classmethod
    def of(cls, config) -> TextFormat:
        """The text format of a PipelineConfig."""
        return cls(config.encoding, config.errors, config.normalize, config.tokenizer)

    @classmethod
    def recorded(cls, config: dict) -> TextFormat:
        """The text format a manifest's config records (a setting it lacks: the default, as
        datasets written before these options were made)."""
        return cls(*(config.get(name, default) for name, default in zip(cls._fields, cls())))

    def prepare(self, text: str) -> str:
        """Decoded text, normalised and with separators as spaces: str.split() gives its tokens."""
        if self.normalize != "none":
            text = unicodedata.normalize(self.normalize.upper(), text)
        if self.tokenizer == "words":
            text = words(text)
        return text


@functools.cache
def _classes() -> np.ndarray:
    """The class of every code point (_OTHER, _WORD, _JOINER or _NEWLINE), uint8."""
    classes = np.zeros(sys.maxunicode + 1, dtype=np.uint8)
    category = unicodedata.category
    word = [c for c in range(sys.maxunicode + 1) if category(chr(c))[0] in "LMN"]
    classes[word] = _WORD
    classes[[ord(c) for c in JOINERS]] = _JOINER
    classes[ord("\n")] = _NEWLINE
    return classes


def words(text: str) -> str:
    """`text` with every character that is not part of a word (see the module docstring) turned
    into a space; newlines stay."""
    ascii_text = text.isascii()
    data = bytearray(text.encode("ascii" if ascii_text else "utf-32-le"))
    codes = np.frombuffer(data, dtype=np.uint8 if ascii_text else np.uint32)
    kind = np.take(_classes(), codes)
    word = kind == _WORD
    inside = np.zeros_like(word)  # a word character on both sides
    inside[1:-1] = word[:-2] & word[2:]
    codes[(kind == _OTHER) | ((kind == _JOINER) & ~inside)] = ord(" ")
    return data.decode("ascii" if ascii_text else "utf-32-le")
