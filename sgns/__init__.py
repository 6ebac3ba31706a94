"""sgns: word2vec skip-gram with negative sampling — the PyTorch trainer and its tools.

Importing this package does not import torch; the trainer modules do. From Python:

    import sgns
    wv = sgns.load("run")  # a run directory, or any vector file sgns writes
    wv.most_similar(positive=["king", "woman"], negative=["man"], topn=5)

`load` and `Vectors` (sgns/vectors/keyed.py) are imported at first use, so `import sgns` stays
cheap.
"""

__version__ = "0.1.0"
__all__ = ["Vectors", "load", "__version__"]

_LAZY = {"Vectors", "load"}  # in sgns.vectors.keyed, imported when first asked for


def __getattr__(name: str):
    if name in _LAZY:
        from sgns.vectors import keyed

        return getattr(keyed, name)
    raise AttributeError(f"module 'sgns' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
