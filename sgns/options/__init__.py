"""One schema per command: each option's flag, type, default, help, group and where it applies.

The schemas: sgns-train's is sgns.train.options, sgns-preprocess's sgns.pipeline.options,
sgns-eval's sgns.eval.options, sgns-report's sgns.report.options, sgns-synth's
sgns.synth.options, sgns-export's sgns.train.export.SCHEMA. Everything else is made from them:
each command's argparse parser and its --help in groups (`Schema.parser`), the option tables of
docs/commands.md (scripts/commands_doc.py), the Python API's keywords (sgns.api.settings parses
them with sgns-train's and sgns-preprocess's parsers), the log's warning for an option given
that does not apply to the run (`unapplied`) and the report's list of the options that did
(sgns.report.html). A default is the config dataclass's own (TrainConfig, PipelineConfig,
SynthConfig, ReportConfig: the only defaults), read from its field, never written twice; a
command without a config (sgns-eval, sgns-export) has its defaults in its schema.
tests/test_options.py fails when a parser, the docs' tables, a config and a schema disagree.

An option that applies only to some runs names it (`Applies`: "torch engine", "pool negative
mode", "several ranks", "--neighbors", ...): --help and the docs say it; a training or
preprocessing run it does not apply to ignores it and says so in its log. A choice measured to
be worse than the default is `experimental`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sgns.errors import OneLineParser


class _FromConfig:
    def __repr__(self) -> str:
        return "CONFIG"


CONFIG = _FromConfig()  # an Option's default: the config dataclass field's
FLAGS = ("store_true", "store_false", "store_const")  # actions that take no value


@dataclass(frozen=True)
class Applies:
    """The runs an option applies to: `label` for --help and the docs; `test`, of a run's
    settled settings (config.json's dict, world_size among them); `otherwise`, what a run it
    does not apply to does, for the log's warning."""

    label: str
    test: Callable[[dict], bool]
    otherwise: str


@dataclass(frozen=True)
class Option:
    """One option of a command. `default` CONFIG: the config field's (the field named `name`,
    or Schema.fields[name]). `unset`: the parser leaves the option None when not given, and
    this says what is taken then (e.g. the dataset's own value on --append); `shown`: the
    default as help says it when it is not one value. A `flag` without a leading "-" is a
    positional argument's name (sgns-eval's "vectors"): required, its name its dest."""

    flag: str
    help: str
    group: str
    default: Any = CONFIG
    type: Callable | None = None  # int, float, str; None: the config field's (`type_of`)
    choices: tuple | None = None
    action: str | None = None  # store_true, store_false, store_const (True), append
    dest: str | None = None
    metavar: str | None = None
    required: bool = False
    applies: Applies | None = None
    experimental: bool = False
    unset: str = ""
    shown: str | None = None
    hidden: bool = False  # left out of --help and the docs (a testing aid)

    @property
    def positional(self) -> bool:
        return not self.flag.startswith("-")

    @property
    def name(self) -> str:
        """argparse's dest: the flag's words joined by underscores, unless `dest` says."""
        if self.positional:
            return self.flag
        return self.dest or self.flag[2:].replace("-", "_")

    @property
    def is_flag(self) -> bool:
        return self.action in FLAGS


@dataclass(frozen=True)
class Schema:
    """The options of one command, in groups (title, description), in --help's order.
    `config`: the dataclass whose field defaults are the options' defaults; `fields`: option
    name -> field name where they differ; `hints`: options of other tools -> what to use."""

    prog: str
    description: str
    groups: tuple[tuple[str, str], ...]
    options: tuple[Option, ...]
    config: type | None = None
    fields: dict = field(default_factory=dict)
    epilog: str = ""
    hints: dict = field(default_factory=dict)

    def __post_init__(self):
        titles = [title for title, _ in self.groups]
        for option in self.options:
            assert option.group in titles, f"{option.flag}: no group {option.group!r}"
            assert option.default is not CONFIG or option.required or self.field_of(option), (
                f"{option.flag}: no default"
            )
            assert option.required or not option.positional, f"{option.flag}: required"

    def field_of(self, option: Option) -> str | None:
        """The config field `option` sets, or None when it sets none."""
        name = self.fields.get(option.name, option.name)
        fields = {f.name for f in dataclasses.fields(self.config)} if self.config else set()
        return name if name in fields else None

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    def default(self, option: Option) -> Any:
        """The option's default value (the config field's, for CONFIG)."""
        if option.default is not CONFIG:
            return option.default
        return self.config.__dataclass_fields__[self.field_of(option)].default

    def type_of(self, option: Option) -> Callable | None:
        """The option's value type: its own, else its config field's (the annotation: a float
        field may hold an int default), else its default's; None for str (and for a required
        option of no field and no type)."""
        kind = option.type
        if kind is None and option.default is CONFIG and self.field_of(option):
            annotation = self.config.__dataclass_fields__[self.field_of(option)].type
            said = getattr(annotation, "__name__", str(annotation))  # (a string, or the type)
            kind = {"int": int, "float": float}.get(said.split(" |")[0])
        elif kind is None and option.default not in (None, CONFIG) and option.action != "append":
            kind = type(option.default)
        return None if kind is str else kind

    def parser_default(self, option: Option) -> Any:
        """What the parser gives when the option is not given."""
        if option.unset or option.required:
            return None
        if option.action == "append":
            return None if option.default is CONFIG else option.default
        return self.default(option)

    def default_text(self, option: Option) -> str:
        """The default as --help says it ("" when it says none: required, a flag)."""
        if option.required:
            return ""
        if option.shown is not None:
            said = option.shown
        elif option.is_flag:
            said = "off" if option.unset else ""
        else:
            value = self.default(option)
            said = "" if value is None or value == [] else str(value)
        return f"{said}; {option.unset}" if said and option.unset else said

    def tags(self, option: Option) -> list[str]:
        return ([option.applies.label] if option.applies else []) + (
            ["experimental"] if option.experimental else []
        )

    def help_of(self, option: Option) -> str:
        """The option's line in --help: [where it applies; experimental] help (default: X)."""
        tags = self.tags(option)
        text = f"[{'; '.join(tags)}] {option.help}" if tags else option.help
        said = self.default_text(option)
        return f"{text} (default: {said})" if said else text

    def parser(self) -> argparse.ArgumentParser:
        """The command's parser: one argparse group per schema group, each option as the
        schema says; `parser.schema` is this schema (scripts/commands_doc.py reads it)."""
        parser = OneLineParser(
            prog=self.prog,
            description=self.description,
            epilog=self.epilog or None,
            allow_abbrev=False,  # a prefix is no option: the error names the one it begins
        )
        parser.hints = self.hints
        parser.schema = self
        groups = {t: parser.add_argument_group(t, d or None) for t, d in self.groups}
        for option in self.options:
            help_text = argparse.SUPPRESS if option.hidden else self.help_of(option)
            settings = {"help": help_text.replace("%", "%%")}
            if not option.positional:  # (argparse takes a positional's name as its dest)
                settings["dest"] = option.name
            if option.is_flag:
                settings["action"] = option.action
                if option.action == "store_const":
                    settings["const"] = True
                if option.unset:
                    settings["default"] = None
            else:
                default = self.parser_default(option)
                if isinstance(default, list):  # each parser its own list (append's)
                    default = list(default)
                if not option.positional:  # (always required; argparse takes no `required`)
                    settings.update(default=default, required=option.required)
                if option.action:
                    settings["action"] = option.action
                if self.type_of(option):
                    settings["type"] = self.type_of(option)
                if option.choices:
                    settings["choices"] = option.choices
                if option.metavar:
                    settings["metavar"] = option.metavar
            groups[option.group].add_argument(option.flag, **settings)
        return parser


def unapplied(schema: Schema, given: dict, settled: dict) -> list[str]:
    """The log's warning for each option of `given` ({name: value}, those the user set) that
    does not apply to the run whose settings are `settled`: it is ignored, and said."""
    lines = []
    for name, value in given.items():
        option = schema.option(name)
        if option.applies is None or option.applies.test(settled):
            continue
        said = option.flag if option.is_flag else f"{option.flag} {value}"
        lines.append(
            f"{said} does not apply to this run ({option.applies.label} only; "
            f"{option.applies.otherwise}): it is ignored"
        )
    return lines
