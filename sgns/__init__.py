"""sgns: word2vec skip-gram with negative sampling — the pipeline (sgns.pipeline), trainer, tools.

Importing this package imports neither torch nor Beam; the trainer and pipeline modules do.
From Python (sgns/api, docs/python.md):

    import sgns
    wv = sgns.fit(sentences)  # token lists, or corpus files; or sgns.preprocess + sgns.train
    wv = sgns.load("run")  # a run directory, or any vector file sgns writes
    wv.most_similar(positive=["king", "woman"], negative=["man"], topn=5)

`fit`, `preprocess`, `train`, `Run` (sgns/api), `load`, `Vectors` (sgns/vectors/keyed.py) and
`UsageError` (sgns/errors.py) are imported at first use, so `import sgns` stays cheap (with
Ctrl-C held, sgns.console.imports: an interrupt never leaves numpy or torch half-imported).
`sgns.train` is also the trainer's package (sgns/train), made callable: called, it is the API's.
"""

import os as _os

from sgns.console import exits as _exits  # noqa: F401 (its exit hook first: sgns.console.exits)

__version__ = "0.1.0"

# The Beam pipeline's folder, pipeline/, sits beside sgns/ in a source checkout and is installed
# as sgns/pipeline (setup.py's package_dir). In a checkout that is not installed (the GPU
# machine's copy of the tree, a run from the repository), let `import sgns.pipeline` find it.
_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "pipeline")) and _os.path.isfile(
    _os.path.join(_checkout, "pipeline", "__init__.py")
):
    __path__.append(_checkout)
__all__ = ["Run", "UsageError", "Vectors", "fit", "load", "preprocess", "train", "__version__"]

_LAZY = {"Run", "UsageError", "Vectors", "fit", "load", "preprocess", "train"}  # when asked for


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'sgns' has no attribute {name!r}")
    # (numpy's import among them: Ctrl-C waits for it, never leaving it half-imported)
    from sgns.console.imports import imported_whole

    with imported_whole():
        if name == "train":  # the trainer's package, which is callable as the API's train
            import sgns.train as package

            return package
        if name in ("Vectors", "load"):
            from sgns.vectors import keyed

            return getattr(keyed, name)
        if name == "UsageError":
            from sgns.errors import UsageError

            return UsageError
        from sgns import api

        return getattr(api, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
