"""Evaluating word vectors: standard sets (sets.py), gensim-compatible scoring (scoring.py), the
synthetic language's planted truth (planted.py) and the sgns-eval command (cli.py;
`python -m sgns.eval`). No torch here."""
