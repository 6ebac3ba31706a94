"""The HTML report of a training run: what it shows (collect.py), its figures (plots.py), the
page (html.py) and the sgns-report command (cli.py; `python -m sgns.report`). No torch here."""
