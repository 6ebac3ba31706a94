"""`python -m sgns.train` (and `torchrun -m sgns.train`): the sgns-train command."""

from sgns.train.cli import main

main()
