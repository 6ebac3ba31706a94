"""`python -m sgns.report`: the sgns-report command."""

import sys

from sgns.commands import run

sys.exit(run("sgns-report", "sgns.report.cli"))
