"""How every command turns a mistake a user can make into one line: `user_message`.

A user's mistake is a `UsageError`, raised by our checks naming the bad value and the fix (or a
FileNotFoundError naming a missing file), or an OSError of the machine (a permission, a full
disk, a directory where a file was meant), said as what went wrong and the file. A UsageError
raised inside a Beam pipeline or a DataLoader worker arrives wrapped, its original line at the
end of the wrapper's text under its own name (sgns.errors.UsageError): that line is dug out.
Anything else is a bug and keeps its traceback (`user_message` returns None): a ValueError from
our code or a library included. An OSError that a bug raises would be said in one line too:
SGNS_DEBUG=1 (or true, yes) in the environment makes every command re-raise instead, traceback
and all (`debugging`; 0, false, no: off).
`OneLineParser` gives argparse's own errors the same one-line form (words after `--` too),
and `Interruptible` (sgns.console.signals, imported here with the rest of how a command ends)
ends a command stopped by Ctrl-C or SIGTERM in one line too. The line goes to stderr only, and
a stderr that is closed or cannot be written changes no exit code (sgns.console.streams). The
Python API (sgns.api) raises the same line as a `UsageError` (`usage_error`).

The line is printable whatever a file held: a message quotes file content with `quote`, and
`fail` escapes whatever non-printable character (a control byte, a newline) is left in it.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import json
import logging
import os
import re
import sys

from sgns.console.signals import Interruptible, left_running, note_signal  # noqa: F401
from sgns.console.streams import say

_BEAM_STEP = re.compile(r" \[while running '[^']*'\]")  # Beam appends the step that failed
_WRAPPED = re.compile(
    r"^(?:[\w.]+\.)?(?:UsageError|FileNotFoundError|PermissionError|IsADirectoryError|"
    r"NotADirectoryError|OSError): (.+)$",
    re.MULTILINE,
)
_ERRNO = re.compile(r"^\[Errno (\d+)\] ([^:]+)(?:: '(.*)')?")
_ACTIONS = {
    errno.ENOENT: "no such file or directory:",
    errno.EACCES: "no permission for",
    errno.EPERM: "no permission for",
    errno.ENOSPC: "no space left on the device writing",
    errno.EDQUOT: "disk quota exceeded writing",
    errno.EFBIG: "file too large writing",
    errno.EROFS: "read-only filesystem writing",
    errno.EISDIR: "a directory is in the way:",
    errno.ENOTDIR: "not a directory:",
    errno.EEXIST: "a file is in the way of a directory:",
}
QUOTED_CHARS = 60  # of file content in a message
_NEGATIVE_NUMBER = re.compile(
    r"^-(?:(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|inf|infinity|nan)$", re.IGNORECASE
)
_REQUIRED = "the following arguments are required: "  # argparse's message
_PREFIXES_SAID = 3  # options named of those an unknown option is a prefix of


class UsageError(ValueError):
    """A user's mistake: a value, a file or a setting that cannot be right, named with the fix.
    Its text is the one line a command prints after "error: ", and what the Python API (sgns.fit,
    sgns.preprocess, sgns.train) raises (SGNS_DEBUG=1 raises the error behind it instead, as the
    commands do). A ValueError, so that code catching those catches it; but a plain ValueError
    is no user's mistake: a command shows its traceback."""


class MissingFileError(UsageError, FileNotFoundError):
    """The UsageError of a file that is not there: code that catches FileNotFoundError (as the
    API raised before it said its errors in one line) catches it too."""


def loads_json(text: str | bytes):
    """json.loads for every JSON file sgns reads, whose every failure is a json.JSONDecodeError
    (which its reader says in one line): JSON nested deeper than Python's recursion limit
    raised RecursionError, a traceback."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply to read", "", 0) from None


def configure_logging(level: int, fmt: str) -> None:
    """logging.basicConfig for a command's main, after dropping the root handlers whose stream
    is closed: a main run before in the same process (a test, a notebook) may have left one on
    a stderr that is gone, and basicConfig would keep it, so that every log line became a
    "Logging error" traceback on stderr."""
    for handler in list(logging.root.handlers):
        if getattr(getattr(handler, "stream", None), "closed", False):
            logging.root.removeHandler(handler)
    logging.basicConfig(level=level, format=fmt)


def usage_error(error: BaseException) -> UsageError | None:
    """`error` as the Python API raises it: a UsageError holding the command's one line (a
    MissingFileError for a FileNotFoundError), or None when it is no user's mistake (or
    SGNS_DEBUG is set): the caller re-raises it then."""
    message = user_message(error)
    if message is None:
        return None
    if isinstance(error, UsageError) and str(error) == message:  # (not wrapped by Beam)
        return error
    kind = MissingFileError if isinstance(error, FileNotFoundError) else UsageError
    return kind(printable(message))


def debugging() -> bool:
    """SGNS_DEBUG set to 1, true or yes (any case) in the environment: every error's traceback.
    0, false, no, an empty value (as a user writes to be sure it is off) are off."""
    return os.environ.get("SGNS_DEBUG", "").strip().lower() in ("1", "true", "yes")


def user_message(error: BaseException) -> str | None:
    """The one line to print for `error`, or None when it is not a user's mistake (or when
    SGNS_DEBUG is set: then the caller re-raises it)."""
    if debugging():
        return None
    text = str(error)
    if isinstance(error, OSError) and error.errno is not None:
        return os_message(error.errno, error.strerror, error.filename)
    direct = isinstance(error, (UsageError, FileNotFoundError)) and not text.startswith("Caught ")
    if direct:  # (a DataLoader worker's error starts "Caught UsageError in ...")
        return _clean(text.splitlines()[0] if text.strip() else type(error).__name__)
    wrapped = _WRAPPED.findall(text)
    return _clean(wrapped[-1]) if wrapped else None


def os_message(code: int, strerror: str | None, filename) -> str:
    """An OSError as one line naming the file: "no permission for X"."""
    action = _ACTIONS.get(code)
    if action is None:
        return f"{strerror}: {filename}" if filename else str(strerror)
    if filename is None:
        return f"{action.rstrip(':')} ({strerror})"
    return f"{action} {filename}"


def _clean(line: str) -> str:
    line = _BEAM_STEP.sub("", line)
    found = _ERRNO.match(line)  # an OSError that reached us as text
    if found:
        return os_message(int(found.group(1)), found.group(2), found.group(3))
    return line


def quote(content, limit: int = QUOTED_CHARS) -> str:
    """File content (str or bytes) as a message quotes it: repr-escaped, so a control byte
    prints as \\x1b, and cut after `limit` characters."""
    cut = content[:limit]
    return f"{cut!r}..." if len(content) > limit else repr(cut)


def printable(line: str) -> str:
    """`line` with each non-printable character (a control byte, a newline) escaped as repr
    escapes it: what is printed stays one line, and a terminal shows what the file held."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


def fail(prog: str, error: BaseException, show: bool = True) -> int:
    """A command's end on `error`: its one line on stderr (unless `show` is False: another
    process says it) and exit code 2; an error that is no user's mistake is raised again."""
    message = user_message(error)
    if message is None:
        raise error
    if show:
        say(f"{prog}: error: {printable(message)}")
    return 2


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors (a missing or mistyped option) are one line and exit 2,
    as every other mistake is; --help still prints the usage. An unknown option is said with
    its fix (`near_option`): `hints` (an option of another command, or of gensim, to what to
    use here), else the option of ours it begins (a prefix is no option: with allow_abbrev
    False, as every command's parser is made, options are spelled out in full), else the
    nearest; a required option missing because a prefix of it was given is said the same way."""

    hints: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a value that starts with "-" and reads as a number ("-inf", "-nan", "-1e-3") is a
        # value, not an option: the option's own check then names it (argparse's matcher takes
        # only "-5" and "-.5", and would say "--lr: expected one argument" for "--lr -inf")
        self._negative_number_matcher = _NEGATIVE_NUMBER
        self._given: list[str] = []

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)  # (for `error`)
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:  # (argparse's own message joins them with spaces: said here one by one)
            self.error(self._unrecognized(extras))
        return parsed

    def error(self, message: str):
        if message.startswith(_REQUIRED):
            message = self._misspelled(message[len(_REQUIRED) :].split(", "))
        say(f"{self.prog}: error: {printable(message)} (see {self.prog} --help)")
        sys.exit(2)

    def _ours(self) -> list[str]:
        ours = [o for action in self._actions for o in action.option_strings]
        # (every command answers --version, before its parser: sgns.commands.version_asked)
        return ours + ([] if "--version" in ours else ["--version"])

    def _said(self, given: list[str]) -> list[str]:
        """ "unrecognized option(s) OPTION[, OPTION]: what to do" for the unknown options
        `given` (as given: `--x=1`), those with one fix together (`--version=x`: no value)."""
        said: dict[str | None, list[str]] = {}
        ours = self._ours()
        for word in given:
            option = word.split("=", 1)[0]
            valued = option in ours and "=" in word
            hint = "it takes no value" if valued else near_option(option, ours, self.hints)
            if word == "--version":  # (a main called in-process: only the command answers it)
                hint = "the command answers it (sgns-... --version), not its main() in a program"
            said.setdefault(hint, []).append(option)
        return [
            f"unrecognized option{'s' if len(named) > 1 else ''} {', '.join(named)}"
            + (f": {hint}" if hint else "")
            for hint, named in said.items()
        ]

    def _unrecognized(self, extras: list[str]) -> str:
        """ "unrecognized option(s) OPTION[, OPTION]: what to do" for the unknown options of
        `extras` (those with one fix together; the argument after one is taken as its value),
        then "unrecognized arguments: ..." for any other argument."""
        options, stray, value_next, after = [], [], False, self._after_marker()
        tail = len(extras) - _common_tail(extras, after)  # extras[tail:]: given after "--"
        for index, arg in enumerate(extras):
            if arg == "--" and index < tail:  # (argparse's marker, as it passes it on)
                continue
            if index >= tail:  # (after --, no word is an option: not "did you mean" it)
                stray.append(arg)
            elif arg.startswith("-") and arg != "-" and not _NEGATIVE_NUMBER.match(arg):
                options.append(arg)
                value_next = "=" not in arg
            elif value_next:
                value_next = False
            else:
                stray.append(arg)
        parts = self._said(options)
        if stray:
            parts.append(f"unrecognized arguments: {' '.join(stray)}")
        if tail < len(extras) and any(a.startswith("-") for a in extras[tail:]):
            parts[-1] += " (after --, every word is an argument: give options before --)"
        return "; ".join(parts)

    def _after_marker(self) -> list[str]:
        """The words given after "--", where each is an argument, even one such as "--output"."""
        return self._given[self._given.index("--") + 1 :] if "--" in self._given else []

    def _misspelled(self, missing: list[str]) -> str:
        """argparse's "the following arguments are required: ...", less each required option
        of which a prefix was given (`--out` for `--output`): that is said as the prefix's fix."""
        ours, after = self._ours(), self._after_marker()
        before = self._given[: len(self._given) - len(after) - 1] if after else self._given
        given = [a.split("=", 1)[0] for a in self._given if a.startswith("--")]
        parts, rest, prefixes = [], [], []
        for name in missing:
            prefix = next((g for g in given if g not in ours and name.startswith(g)), None)
            prefixes.append(prefix)
            if name in after:
                parts.append(f"{name} is given after --, where every word is an argument: give "
                             "options before --")  # fmt: skip
            elif prefix and len(prefix) > 2:
                parts.append(
                    f"unrecognized option {prefix}: did you mean {name}, which is required?"
                )
            else:
                rest.append(name)
        # an unknown option given beside (`--vers`: no abbreviation is an option) said first
        unknown = [
            a
            for a in before
            if a.startswith("-")
            and a != "-"
            and a.split("=", 1)[0] not in prefixes
            and not _NEGATIVE_NUMBER.match(a)
            and (a.split("=", 1)[0] not in ours or "=" in a and a.startswith("--version"))
        ]
        parts = self._said(unknown) + parts
        return "; ".join(parts + ([_REQUIRED + ", ".join(rest)] if rest else []))


def _common_tail(a: list[str], b: list[str]) -> int:
    """How many words the two lists end in alike."""
    count = 0
    while count < min(len(a), len(b)) and a[-1 - count] == b[-1 - count]:
        count += 1
    return count


def near_option(option: str, ours: list[str], hints: dict[str, str] | None = None) -> str | None:
    """What to say of `option`, which no parser of ours knows: its hint (`hints`), else the
    options of `ours` it is a prefix of (a prefix is no option: options are spelled out in
    full), else the nearest of `ours`; None when there is nothing to say."""
    if hints and option in hints:
        return hints[option]
    prefix = option.startswith("--") and len(option) > 2
    longer = [o for o in ours if o.startswith(option)] if prefix else []
    if len(longer) == 1:
        return f"did you mean {longer[0]}?"
    if 1 < len(longer) <= _PREFIXES_SAID:
        return f"did you mean {', '.join(longer[:-1])} or {longer[-1]}?"
    if longer:
        return (f"it begins {len(longer)} options ({', '.join(longer[:_PREFIXES_SAID])}, ...): "
                "spell the one you mean out in full")  # fmt: skip
    close = difflib.get_close_matches(option, ours, n=1)
    return f"did you mean {close[0]}?" if close else None
