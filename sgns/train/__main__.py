"""`python -m sgns.train` (and `torchrun -m sgns.train`): the sgns-train command."""

import sys

from sgns.commands import run

sys.exit(run("sgns-train", "sgns.train.cli"))
