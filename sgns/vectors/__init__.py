"""Word vectors: their files (formats.py: word2vec text and binary, .npy with a vocabulary,
which npy.py reads back; which of them a file is: sniff.py) and the object a user queries
(keyed.py: `Vectors`, `load`; reached as `sgns.load` and `sgns.Vectors`, since keyed.py scores
through sgns.eval, which reads files through this package).
"""

from sgns.vectors.formats import FORMATS, npy_vocab_path, read_vectors, write_vectors
from sgns.vectors.sniff import sniff_format

__all__ = ["FORMATS", "npy_vocab_path", "read_vectors", "sniff_format", "write_vectors"]
