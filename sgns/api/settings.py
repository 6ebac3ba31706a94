"""Keyword settings of the Python API as the commands take them: a keyword is an option's name
with underscores (`min_count` is `--min-count`), turned into that command line and parsed by the
command's own parser, so the same types, choices and messages apply; a keyword no option has is
refused in one line naming the nearest one.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os

from sgns.errors import UsageError, printable, usage_error


def check_names(caller: str, settings: dict, valid, aliases=(), own=()) -> None:
    """Refuse the first of `settings` that is neither in `valid` nor in `aliases`, naming the
    nearest name that is, or the call's own argument (`own`: `input=` means `inputs`)."""
    known = set(valid) | set(aliases)
    for name in settings:
        if name not in known:
            hint = _nearest(name, known | set(own))
            if any(f" {o}?" in hint for o in own):
                hint = hint.replace("?)", f", an argument of {caller}?)")
            raise UsageError(f"{caller} has no setting {name!r}{hint}")


def _nearest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.5)
    if not close:  # a prefix or a part of a name (e.g. "vocab" -> "max_vocab")
        close = sorted(k for k in known if name in k or k in name)[:1]
    return f" (did you mean {close[0]}?)" if close else f"; it takes {', '.join(sorted(known))}"


def settable(parser: argparse.ArgumentParser, fixed: tuple[str, ...] = ()) -> dict:
    """The options of `parser` a keyword may set: {dest: action}, less help and `fixed` ones
    (those the call's own arguments give, e.g. --data and --output)."""
    return {
        action.dest: action
        for action in parser._actions  # noqa: SLF001 - the parser is the options' schema
        if action.option_strings and action.dest not in ("help", *fixed)
    }


def parse(parser: argparse.ArgumentParser, settings: dict, given: dict) -> argparse.Namespace:
    """`settings` ({dest: value}, names already checked) and `given` ({dest: value} of the
    call's own arguments, a list for a repeated option) as the command line they stand for,
    parsed by `parser`; its error is raised as a UsageError. None leaves an option unset."""
    actions = settable(parser)
    argv = []
    for dest, value in given.items():
        option = actions[dest].option_strings[0]
        for item in value if isinstance(value, list) else [value]:
            argv.append(f"{option}={os.fspath(item)}")
    for dest, value in settings.items():
        argv += _as_arguments(actions[dest], dest, value)
    for argument in argv:  # (no command line holds one; a path with one is none)
        if "\0" in argument:
            raise UsageError(f"{printable(argument)}: a setting holds a NUL character")

    def refuse(message: str):
        raise UsageError(printable(message))

    parser.error = refuse  # argparse's own mistakes (a bad int, a choice): raised, not exit 2
    args = parser.parse_args(argv)
    for dest, value in settings.items():  # a flag set to what no command line can say:
        if actions[dest].nargs == 0 and value is not None and getattr(args, dest) is None:
            setattr(args, dest, value)  # lowercase=False with append=True: False, not the dataset's
    return args


def _as_arguments(action: argparse.Action, dest: str, value) -> list[str]:
    option = action.option_strings[0]
    if value is None:
        return []
    if action.nargs == 0:  # a flag: --overwrite, --lowercase, --no-pool-scale
        if not isinstance(value, bool):
            raise UsageError(f"{dest} is True or False ({option}), got {value!r}")
        return [option] if value == action.const else []
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()  # a numpy scalar: its Python number, parsed as the command's
    return [f"{option}={value}"]  # (a float's str is its shortest exact form)


@contextlib.contextmanager
def usage_errors(convert=None):
    """Inside: a user's mistake (what the commands say in one line) is raised as UsageError
    with that line, alone (the commands print no traceback either); anything else as it is.
    `convert`: the command's own translation of an error first (e.g. an object store's)."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - a user's mistake as UsageError, else re-raised
        raised = usage_error((convert and convert(error)) or error)
        if raised is None or raised is error:
            raise
        raise raised from None
