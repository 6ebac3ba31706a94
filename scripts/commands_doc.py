"""Write docs/commands.md, the command reference, from the commands' parsers and option schemas.

    python scripts/commands_doc.py            # (re)write docs/commands.md (`make docs` runs it)
    python scripts/commands_doc.py --check    # exit 1, naming the difference, if it is stale

The page is docs/commands.md.in (what is said of each command by hand) with every line
`<!-- options: sgns-x -->` replaced by that command's options: one table per group of its schema
(sgns.options), each option with its flags and metavar as --help shows them, its default, where
it applies and its help. The parser is the one the command's `main(argv)` builds (setup.py's
console scripts name the commands and modules), and its schema the one it was made from
(`parser.schema`; a command whose parser has none is refused), so no list of options is kept
here: a new option, or a changed help or default, changes the page. tests/test_docs.py fails when
the page on disk is not what this writes, tests/test_options.py when a table and its schema
disagree.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "docs" / "commands.md.in"
PAGE = ROOT / "docs" / "commands.md"
MARKER = re.compile(r"^<!-- options: (sgns-[a-z]+) -->$", re.M)
HEADER = (
    "<!-- Written by scripts/commands_doc.py from docs/commands.md.in and the commands' parsers:"
    " edit those, then run `python scripts/commands_doc.py` (tests/test_docs.py checks it). -->"
)


def commands() -> dict[str, str]:
    """Console command -> module of its main(), as setup.py declares them (each runs
    sgns.commands' function of that name, which runs the module's main)."""
    from sgns.commands import COMMANDS

    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    declared = re.findall(r'"(sgns-[a-z]+)=sgns\.commands:[a-z]+"', setup)
    return {prog: COMMANDS[prog] for prog in declared}


class _Built(BaseException):  # BaseException: a main's `except Exception` must not catch it
    def __init__(self, parser: argparse.ArgumentParser):
        super().__init__(parser.prog)
        self.parser = parser


def parser_of(module_name: str) -> argparse.ArgumentParser:
    """The parser the module's main(argv) builds: caught as main starts parsing, before it acts."""
    main = importlib.import_module(module_name).main
    parse_known_args = argparse.ArgumentParser.parse_known_args

    def built(self, args=None, namespace=None):
        raise _Built(self)

    argparse.ArgumentParser.parse_known_args = built  # parse_args calls it too
    try:
        main([])
    except _Built as caught:
        return caught.parser
    finally:
        argparse.ArgumentParser.parse_known_args = parse_known_args
    raise RuntimeError(f"{module_name}.main parsed no command line")


def visible_options(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string --help shows (what the page must hold), --help itself left out."""
    return [
        flag
        for action in parser._actions  # noqa: SLF001 - argparse keeps its actions here
        if action.help != argparse.SUPPRESS and not isinstance(action, argparse._HelpAction)  # noqa: SLF001
        for flag in action.option_strings
    ]


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, no column breaks or emphasis by accident."""
    text = " ".join(text.split())
    return re.sub(r"([\\|*<_`])", r"\\\1", text)


def options_block(parser: argparse.ArgumentParser) -> str:
    """The options of one parser as Markdown: its description, one table per group of its
    schema (with where each option applies), its epilog."""
    schema = getattr(parser, "schema", None)
    if schema is None:
        raise SystemExit(f"{parser.prog}'s parser is not made from a schema (sgns.options)")
    formatter = argparse.HelpFormatter(parser.prog, width=1000)
    lines = [f"`{parser.prog} --help`: {_cell(parser.description or '')}", ""]
    for title, description, rows in _schema_groups(parser, schema):
        if not rows:
            continue
        lines += [f"**{_cell(title[:1].upper() + title[1:])}**", ""]
        if description:
            lines += [_cell(description), ""]
        lines += ["| option | default | applies to | meaning |", "|---|---|---|---|"]
        for action, *cells in rows:
            flags = formatter._format_action_invocation(action)  # noqa: SLF001 - as --help
            lines.append(f"| `{flags}` | " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    if parser.epilog:
        lines += [_cell(parser.epilog), ""]
    return "\n".join(lines).rstrip("\n")


def _schema_groups(parser: argparse.ArgumentParser, schema):
    """(title, description, [(action, default, applies to, meaning)]) of each schema group."""
    actions = {a.dest: a for a in parser._actions}  # noqa: SLF001
    for title, description in schema.groups:
        rows = [
            (actions[o.name], *schema_row(schema, o))
            for o in schema.options
            if o.group == title and not o.hidden
        ]
        yield title, description, rows


def schema_row(schema, option) -> tuple[str, str, str]:
    """An option's cells in the page: its default, where it applies, what it means."""
    if option.required:
        default = "required"
    elif option.is_flag:
        default = "off"
    else:
        default = schema.default_text(option).removesuffix(f"; {option.unset}")
    meaning = ("experimental: " if option.experimental else "") + option.help
    if option.unset:
        meaning += f" ({option.unset})"
    return default, option.applies.label if option.applies else "", meaning


def render() -> str:
    """The page: the template with each command's options in place of its marker."""
    template = TEMPLATE.read_text(encoding="utf-8")
    modules = commands()
    marked = MARKER.findall(template)
    if sorted(marked) != sorted(modules):
        raise SystemExit(
            f"{TEMPLATE.relative_to(ROOT)} marks {sorted(marked)}; setup.py declares "
            f"{sorted(modules)}: give each command one '<!-- options: sgns-x -->' line"
        )
    page = MARKER.sub(lambda m: options_block(parser_of(modules[m.group(1)])), template)
    return f"{HEADER}\n\n{page.rstrip()}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args(argv)
    page = render()
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    if args.check:
        if page == current:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), page.splitlines(), "docs/commands.md", "from the parsers", n=0
        )
        print("\n".join(list(diff)[:40]), file=sys.stderr)
        return 1
    if page != current:
        PAGE.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
