"""Beam's options on sgns-preprocess's command line (what follows our own options) and in
sgns.preprocess's beam_args: refused, in one line, where Beam itself would drop them with a
warning (an unknown option, a stray word such as the second file of an unquoted glob)."""

from __future__ import annotations

import argparse

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import create_runner

from sgns.errors import UsageError, near_option

# Beam ships a DaskRunner but its create_runner knows it only by this full name; we also take
# `--runner DaskRunner`.
DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"


def unknown_options(beam_args: list[str]) -> list[str]:
    """What in `beam_args` no Beam options class knows (those of the runner that --runner names
    included), which Beam itself would drop with a warning: options (as named, without a
    `=value`) and stray words (as given)."""
    unknown = _beam_leftovers(beam_args)
    runner = runner_name(PipelineOptions(beam_args).view_as(StandardOptions).runner)
    if unknown and runner:  # a runner may bring options of its own: import it, look again
        try:
            create_runner(runner)
        except Exception:  # noqa: BLE001 - an unknown runner is Beam's to report
            return unknown
        unknown = _beam_leftovers(beam_args)
    return unknown


class _BeamParser(argparse.ArgumentParser):
    """Beam's options as Beam parses them, but a bad value (`--direct_num_workers x`) is one
    line: Beam's own parser would print its usage and exit."""

    def error(self, message: str):
        raise UsageError(f"{message} (an option of Beam's)")


def _beam_leftovers(beam_args: list[str]) -> list[str]:
    parser = _BeamParser(allow_abbrev=False, add_help=False)
    for cls in {str(c): c for c in PipelineOptions.__subclasses__()}.values():
        cls._add_argparse_args(parser)  # noqa: SLF001 - how Beam itself collects them
    _, rest = parser.parse_known_args(beam_args)
    return [arg.split("=", 1)[0] if arg.startswith("-") else arg for arg in rest]


def check_options(
    beam_args: list[str], parser: argparse.ArgumentParser, command: bool = False
) -> None:
    """Refuse options that neither sgns-preprocess nor Beam knows (a typo would otherwise run
    with the default), naming them and the nearest of ours. One of ours among Beam's is said
    as its caller gives it: `command`, the sgns-preprocess command (after `--`, where Beam's
    go), else the Python API (in sgns.preprocess's beam_args)."""
    leftovers = unknown_options(beam_args)
    unknown = [arg for arg in leftovers if arg.startswith("-")]
    words = [arg for arg in leftovers if not arg.startswith("-")]
    if words and not unknown:  # (an unknown option's value is a stray word too: said below)
        names = ", ".join(repr(word) for word in words[:3]) + (", ..." if len(words) > 3 else "")
        advice = (
            "--input and --output take one value each: give several inputs comma-separated or "
            "each with its own --input, or quote a pattern ('corpus/*.txt') so that the shell "
            "does not expand it" if command else
            "beam_args holds Beam's options only: give the inputs to sgns.preprocess's inputs"
        )  # fmt: skip
        raise UsageError(f"unexpected argument(s) {names}: {advice}")
    if not unknown:
        return
    ours = [o for action in parser._actions for o in action.option_strings]  # noqa: SLF001
    own = [option for option in unknown if option in ours]
    if own:
        keywords = [("inputs" if o == "--input" else o[2:].replace("-", "_")) + "=" for o in own]
        advice = (
            f"give {'it' if len(own) == 1 else 'them'} before --, which passes what follows "
            "to Beam" if command else
            f"give {', '.join(keywords)} to sgns.preprocess itself, not in beam_args"
        )  # fmt: skip
        raise UsageError(
            f"{', '.join(own)} {'is an option' if len(own) == 1 else 'are options'} of "
            f"sgns-preprocess, not of Beam: {advice}"
        )
    hints = []
    for option in unknown:
        hint = near_option(option, ours)  # (a prefix of ours, or the nearest)
        hints.append(f"{option} ({hint})" if hint else option)
    raise UsageError(
        f"unknown option(s) {', '.join(hints)}: neither sgns-preprocess nor Beam knows them "
        "(sgns-preprocess --help lists ours)"
    )


def runner_name(runner: str | None) -> str | None:
    """The runner that --runner names, with DaskRunner's full name for `DaskRunner`."""
    if runner is not None and runner.lower() in ("daskrunner", "dask"):
        return DASK_RUNNER
    return runner
