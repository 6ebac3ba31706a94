"""The built-in corpus: a seeded synthetic language with planted clusters and analogies.

config.py     SynthConfig
lexicon.py    its made-up words
generate.py   the corpus and the files beside it; `sentences(config)` streams it as token lists
              and `planted_truth(config)` gives its truth, without files (the Python API's
              examples use them)
truth.py      the planted ground truth
cli.py        the sgns-synth command (`python -m sgns.synth`)
"""

__all__ = ["SynthConfig", "planted_truth", "sentences"]


def __getattr__(name: str):
    """Imported at first use: `python -m sgns.synth` imports this package before its signal
    handling is set (sgns.console.early), so it loads nothing (numpy) itself."""
    if name == "SynthConfig":
        from sgns.synth.config import SynthConfig

        return SynthConfig
    if name in __all__:
        from sgns.synth import generate

        return getattr(generate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
