"""One schema per command (sgns.options): for every command, the parser its main() builds, its
--help, the docs' tables and the config's defaults are what the schema says; an option given to
a run it does not apply to is a warning in the log, and an option that switches the engine says
so."""

import argparse
import contextlib
import dataclasses
import inspect
import io
import logging
import re
from pathlib import Path

import pytest
import torch
from test_docs import WRITER
from test_readme import COMMANDS
from train_helpers import write_tiny_dataset

from sgns.eval.options import SCHEMA as EVAL
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.options import SCHEMA as PREPROCESS
from sgns.pipeline.options import unapplied_options as preprocess_unapplied
from sgns.pipeline.preprocess import config_from_args
from sgns.report.collect import ReportConfig
from sgns.report.options import SCHEMA as REPORT
from sgns.synth.config import SynthConfig
from sgns.synth.options import SCHEMA as SYNTH
from sgns.train.cli import main as train_main
from sgns.train.config import TrainConfig
from sgns.train.engines import resolve
from sgns.train.export import SCHEMA as EXPORT
from sgns.train.export import export_run
from sgns.train.native import build
from sgns.train.options import SCHEMA as TRAIN
from sgns.train.options import given_options, unapplied_options

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = {
    "sgns-train": TRAIN,
    "sgns-preprocess": PREPROCESS,
    "sgns-export": EXPORT,
    "sgns-eval": EVAL,
    "sgns-synth": SYNTH,
    "sgns-report": REPORT,
}


def _shown(option) -> str:
    """How --help and the docs name the option: its flag, or a positional's metavar."""
    return (option.metavar or option.flag) if option.positional else option.flag


@pytest.mark.parametrize("prog", sorted(COMMANDS))
def test_every_command_parses_with_the_parser_of_its_schema(prog):
    assert set(SCHEMAS) == set(COMMANDS)
    parser = WRITER.parser_of(COMMANDS[prog])  # the parser the command's main() builds
    assert parser.schema is SCHEMAS[prog]
    assert parser.prog == prog == SCHEMAS[prog].prog


def test_the_docs_refuse_a_parser_that_is_not_made_from_a_schema():
    parser = argparse.ArgumentParser(prog="sgns-x")
    parser.add_argument("--window", type=int, default=5)
    with pytest.raises(SystemExit, match="sgns-x's parser is not made from a schema"):
        WRITER.options_block(parser)


@pytest.mark.parametrize("prog", sorted(SCHEMAS))
def test_the_parser_is_its_schema_option_for_option(prog):
    schema = SCHEMAS[prog]
    parser = schema.parser()
    actions = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert [a.option_strings or [a.dest] for a in actions] == [[o.flag] for o in schema.options]
    for action, option in zip(actions, schema.options, strict=True):
        assert action.dest == option.name
        assert action.default == schema.parser_default(option), option.flag
        assert action.required == option.required, option.flag
        assert action.choices == option.choices, option.flag
        assert action.metavar == option.metavar, option.flag
        if not option.is_flag:
            assert action.type == schema.type_of(option), option.flag
        said = argparse.SUPPRESS if option.hidden else schema.help_of(option).replace("%", "%%")
        assert action.help == said, option.flag
        group = next(g for g in parser._action_groups if action in g._group_actions)
        assert group.title == option.group, option.flag
        if option.applies:  # the help says where it applies
            assert f"[{option.applies.label}" in action.help or option.hidden


def test_every_training_setting_is_an_option_and_the_defaults_are_the_configs():
    names = {o.name for o in TRAIN.options}
    assert names == {f.name for f in dataclasses.fields(TrainConfig)}
    args = TRAIN.parser().parse_args(["--data", "d", "--output", "o"])
    assert TrainConfig(**vars(args)) == TrainConfig(data="d", output="o")
    for option in TRAIN.options:
        assert TRAIN.default(option) == TrainConfig.__dataclass_fields__[option.name].default


def test_every_synthetic_setting_is_an_option_and_the_defaults_are_the_configs():
    names = {o.name for o in SYNTH.options}
    assert {f.name for f in dataclasses.fields(SynthConfig)} == names - {"output", "truth"}
    args = SYNTH.parser().parse_args(["--output", "c.txt"])
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(SynthConfig)}
    assert SynthConfig(**given) == SynthConfig()
    assert all(type(value) is int for value in given.values()), given  # (16.0 == 16)


def test_every_report_setting_is_an_option_and_the_defaults_are_the_configs(tmp_path):
    assert [o.name for o in REPORT.options] == [f.name for f in dataclasses.fields(ReportConfig)]
    args = REPORT.parser().parse_args([str(tmp_path)])
    assert ReportConfig(**vars(args)) == ReportConfig(str(tmp_path))


def test_the_export_options_defaults_are_export_runs():
    taken = inspect.signature(export_run).parameters
    for option, parameter in (("format", "fmt"), ("vectors", "which")):
        assert EXPORT.default(EXPORT.option(option)) == taken[parameter].default


def test_every_dataset_setting_is_an_option_and_the_defaults_are_the_configs():
    fields = {f.name for f in dataclasses.fields(PipelineConfig)}
    assert fields <= {PREPROCESS.fields.get(o.name, o.name) for o in PREPROCESS.options}
    args = PREPROCESS.parser().parse_args(["--input", "c.txt", "--output", "o"])
    made = config_from_args(args, None, [])
    assert made == PipelineConfig(inputs=("c.txt",), output="o")


@pytest.mark.parametrize("prog", sorted(SCHEMAS))
def test_help_is_in_the_schemas_groups_and_never_says_default_none(prog, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")
    schema = SCHEMAS[prog]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        schema.parser().parse_args(["--help"])
    text = out.getvalue()
    assert "default: None" not in text and "(default: )" not in text
    titles = [line[:-1] for line in text.splitlines() if line.endswith(":") and line[0] != " "]
    assert titles == ["options"] + [title for title, _ in schema.groups]
    for option in schema.options:
        line = next((x for x in text.splitlines() if x.lstrip().startswith(_shown(option))), "")
        assert option.hidden or line, option.flag
        if option.required:
            assert "default" not in line, line
        if option.experimental:
            assert "experimental]" in line, line


def _rows(prog: str) -> dict[str, list[str]]:
    page = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    section = page.split(f"\n## {prog}\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        found = re.match(r"^\| `(--[a-z0-9-]+|[A-Za-z_]+)[^`]*` \| (.*) \|$", line)
        if found:
            rows[found.group(1)] = found.group(2).split(" | ")
    return rows


@pytest.mark.parametrize("prog", sorted(SCHEMAS))
def test_the_docs_tables_say_each_options_default_and_where_it_applies(prog):
    schema, rows = SCHEMAS[prog], _rows(prog)
    assert set(rows) == {_shown(o) for o in schema.options if not o.hidden}
    for option in schema.options:
        if option.hidden:
            continue
        default, applies, meaning = rows[_shown(option)]
        assert applies == (option.applies.label if option.applies else ""), option.flag
        if option.required:
            assert default == "required"
        elif option.is_flag:
            assert default == "off", option.flag
        else:
            value = schema.default(option)
            said = option.shown or ("" if value is None or value == [] else str(value))
            assert default.replace("\\", "") == said, option.flag
        assert meaning.startswith("experimental: ") == option.experimental, option.flag


def test_an_option_given_to_a_run_it_does_not_apply_to_is_named_in_a_warning():
    native = dict(data="d", output="o", engine="native", negative_mode="pair")
    assert unapplied_options(TrainConfig(**native), 1) == []
    lines = unapplied_options(TrainConfig(**native, micro_batch=1024, rounds=4, row_cap=8), 1)
    assert [line.split()[0] for line in lines] == ["--micro-batch", "--rounds", "--row-cap"]
    assert "torch engine only" in lines[0] and "ignored" in lines[0]
    assert unapplied_options(TrainConfig(**native, rounds=4), 2) == []  # two ranks: it applies
    torch_pool = TrainConfig(data="d", output="o", engine="torch", negative_mode="pool")
    assert "pool_size" not in given_options(torch_pool)  # 0 settled to 80: not given
    assert given_options(dataclasses.replace(torch_pool, pool_size=7))["pool_size"] == 7
    assert unapplied_options(dataclasses.replace(torch_pool, micro_batch=1024), 1) == []
    follow = unapplied_options(TrainConfig(data="d", output="o", poll_seconds=2.0), 1)
    assert follow and follow[0].startswith("--poll-seconds 2.0 does not apply")


def test_a_dataset_option_that_does_not_apply_is_named_in_a_warning():
    parser = PREPROCESS.parser()
    args = parser.parse_args(["--input", "c", "--output", "o", "--phrase-threshold", "0.7"])
    lines = preprocess_unapplied(args, config_from_args(args, None, []))
    assert len(lines) == 1 and lines[0].startswith("--phrase-threshold 0.7 does not apply")
    args = parser.parse_args(["--input", "c", "--output", "o", "--phrases", "1",
                              "--phrase-threshold", "0.7", "--poll-seconds", "3"])  # fmt: skip
    lines = preprocess_unapplied(args, config_from_args(args, None, []))
    assert [line.split()[0] for line in lines] == ["--poll-seconds"]


def test_the_log_says_which_engine_and_mode_a_run_settled_on_and_why(caplog):
    cpu = torch.device("cpu")
    with caplog.at_level(logging.INFO, logger="sgns.train.engines"):
        resolve(TrainConfig(data="d", output="o", negative_mode="pool"), cpu)
        resolve(TrainConfig(data="d", output="o", dim=build.MAX_DIM + 1), cpu)
        resolve(TrainConfig(data="d", output="o", engine="torch", negative_mode="pair"), cpu)
    said = [r.getMessage() for r in caplog.records]
    assert said[0].endswith("pool (--negative-mode pool uses the torch engine)")
    assert f"--dim {build.MAX_DIM + 1} is more than the native engine takes" in said[1]
    assert said[2] == "engine torch, negative mode pair (--engine torch)"


def test_a_run_logs_the_options_it_ignores(tmp_path, caplog):
    if not build.available():
        pytest.skip("no C compiler: the native engine cannot be built here")
    data = str(tmp_path / "data")
    write_tiny_dataset(data, vocab_size=30, pairs=300, shards=1, passes=1)
    argv = ["--data", data, "--output", str(tmp_path / "run"), "--engine", "native", "--threads",
            "1", "--epochs", "1", "--micro-batch", "512", "--step-mode", "eager"]  # fmt: skip
    with caplog.at_level(logging.INFO):
        train_main(argv)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w.split()[0] for w in warned] == ["--micro-batch", "--step-mode"]
    said = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("engine native, negative mode group") for line in said)


def _unique_prefix(flag: str, flags: list[str]) -> str | None:
    """The shortest prefix of `flag` ("--" and a letter at least) that begins no other flag,
    or None when every prefix of it begins another (--output, of --output-format)."""
    for end in range(3, len(flag)):
        if [f for f in flags if f.startswith(flag[:end])] == [flag]:
            return flag[:end]
    return None


@pytest.mark.parametrize("prog", sorted(SCHEMAS))
def test_a_prefix_of_an_option_is_refused_naming_the_option_meant(prog, capsys):
    schema = SCHEMAS[prog]
    # (--version too: every command answers it, before its parser, sgns.commands)
    flags = [o.flag for o in schema.options if not o.positional] + ["--version"]
    tried = 0
    for option in (o for o in schema.options if not o.positional):
        prefix = _unique_prefix(option.flag, flags)
        if prefix is None:
            continue
        positionals = ["x" for o in schema.options if o.positional]
        required = [f"{o.flag}=x" for o in schema.options
                    if o.required and not o.positional and o is not option]  # fmt: skip
        argv = [*positionals, *required, *([prefix] if option.is_flag else [prefix, "1"])]
        with pytest.raises(SystemExit) as stop:
            schema.parser().parse_args(argv)
        line = capsys.readouterr().err
        fix = schema.hints.get(prefix) or (
            f"did you mean {option.flag}, which is required?"
            if option.required
            else f"did you mean {option.flag}?"
        )
        assert stop.value.code == 2 and line.count("\n") == 1, (argv, line)
        assert line.startswith(f"{prog}: error: unrecognized option {prefix}: {fix}"), line
        tried += 1
    assert tried >= 2, prog
