"""`python -m sgns.synth`: the sgns-synth command."""

import sys

from sgns.synth.cli import main

sys.exit(main())
