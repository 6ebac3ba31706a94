"""`python -m sgns.report`: the sgns-report command."""

import sys

from sgns.report.cli import main

sys.exit(main())
