"""The built-in corpus: a seeded synthetic language with planted clusters and analogies.

config.py     SynthConfig
lexicon.py    its made-up words
generate.py   the corpus and the files beside it
truth.py      the planted ground truth
cli.py        the sgns-synth command (`python -m sgns.synth`)
"""
