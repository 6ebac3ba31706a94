"""Phrases: rounds of bigram detection before the vocabulary, and the dataset's phrase table.

The table and its use are sgns.pipeline.phrases.table (`Phrases`, `load_phrases`), a round's
counts and scores .counts, the per-block work .blocks, the Beam stages .detect, and the command
`python -m sgns.pipeline.phrases` .__main__.
"""

__all__ = ["Phrases", "load_phrases"]


def __getattr__(name: str):
    """`Phrases` and `load_phrases`, imported at first use: the phrase command's start (its
    package is imported before its `__main__`) loads nothing before its signal handling."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sgns.pipeline.phrases import table

    return getattr(table, name)
