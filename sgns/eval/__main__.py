"""`python -m sgns.eval`: the sgns-eval command."""

import sys

from sgns.eval.cli import main

sys.exit(main())
