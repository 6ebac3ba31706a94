"""sgns: word2vec skip-gram with negative sampling — the pipeline (sgns.pipeline), trainer, tools.

Importing this package does not import torch; the trainer modules do. From Python:

    import sgns
    wv = sgns.load("run")  # a run directory, or any vector file sgns writes
    wv.most_similar(positive=["king", "woman"], negative=["man"], topn=5)

`load` and `Vectors` (sgns/vectors/keyed.py) are imported at first use, so `import sgns` stays
cheap.
"""

import os as _os

__version__ = "0.1.0"

# The Beam pipeline's folder, pipeline/, sits beside sgns/ in a source checkout and is installed
# as sgns/pipeline (setup.py's package_dir). In a checkout that is not installed (the GPU
# machine's copy of the tree, a run from the repository), let `import sgns.pipeline` find it.
_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "pipeline")) and _os.path.isfile(
    _os.path.join(_checkout, "pipeline", "__init__.py")
):
    __path__.append(_checkout)
__all__ = ["Vectors", "load", "__version__"]

_LAZY = {"Vectors", "load"}  # in sgns.vectors.keyed, imported when first asked for


def __getattr__(name: str):
    if name in _LAZY:
        from sgns.vectors import keyed

        return getattr(keyed, name)
    raise AttributeError(f"module 'sgns' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
