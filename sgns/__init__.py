"""sgns: word2vec skip-gram with negative sampling — the PyTorch trainer and its tools.

Importing this package does not import torch; the trainer modules do.
"""

__version__ = "0.1.0"
