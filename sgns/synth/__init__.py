"""The built-in corpus: a seeded synthetic language with planted clusters and analogies.

config.py     SynthConfig
lexicon.py    its made-up words
generate.py   the corpus and the files beside it; `sentences(config)` streams it as token lists
              and `planted_truth(config)` gives its truth, without files (the Python API's
              examples use them)
truth.py      the planted ground truth
cli.py        the sgns-synth command (`python -m sgns.synth`)
"""

from sgns.synth.config import SynthConfig
from sgns.synth.generate import planted_truth, sentences

__all__ = ["SynthConfig", "planted_truth", "sentences"]
