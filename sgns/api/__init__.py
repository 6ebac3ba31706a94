"""The Python API, reached from `import sgns` (docs/python.md is its page):

    import sgns
    wv = sgns.fit("corpus.txt")  # or sentences: an iterable of token lists
    wv.most_similar("king", topn=5)
    wv.evaluate_word_analogies("questions-words.txt")
    wv.save("vectors.bin", format="binary")

fitting.py    sgns.fit: corpus on one machine -> vectors, without Beam (gensim's names too)
commands.py   sgns.preprocess and sgns.train: the two commands as calls; Run
settings.py   keywords as the commands' options, parsed by the commands' own parsers

sgns.load and sgns.Vectors are sgns.vectors.keyed's. Nothing here imports Beam or torch until
a call needs it; a user's mistake is raised as sgns.UsageError (sgns.errors) with the line the
command would print. Its imports of torch and Beam, as every lazy import into it, are made with
Ctrl-C held (sgns.console.imports: never left half-imported).
"""

from sgns.api.commands import Run, preprocess, train
from sgns.api.fitting import fit

__all__ = ["Run", "fit", "preprocess", "train"]
