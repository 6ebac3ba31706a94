"""`python -m sgns.eval`: the sgns-eval command."""

import sys

from sgns.commands import run

sys.exit(run("sgns-eval", "sgns.eval.cli"))
