"""Phrases: rounds of bigram detection before the vocabulary, and the dataset's phrase table.

The table and its use are sgns.pipeline.phrases.table (`Phrases`, `load_phrases`), a round's
counts and scores .counts, the per-block work .blocks, the Beam stages .detect, and the command
`python -m sgns.pipeline.phrases` .__main__.
"""

from sgns.pipeline.phrases.table import Phrases, load_phrases

__all__ = ["Phrases", "load_phrases"]
