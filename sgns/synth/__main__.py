"""`python -m sgns.synth`: the sgns-synth command."""

import sys

from sgns.commands import run

sys.exit(run("sgns-synth", "sgns.synth.cli"))
