"""The README documents every option of every command, so it cannot drift from the CLIs."""

import contextlib
import importlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "sgns-preprocess": "sgns.pipeline.preprocess",
    "sgns-train": "sgns.train.cli",
    "sgns-export": "sgns.train.export",
    "sgns-eval": "sgns.eval.cli",
    "sgns-synth": "sgns.synth.cli",
    "sgns-report": "sgns.report.cli",
}


def help_text(module_name: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        importlib.import_module(module_name).main(["--help"])
    assert stop.value.code == 0
    return out.getvalue()


def test_setup_declares_exactly_these_commands():
    setup = (ROOT / "setup.py").read_text()
    declared = dict(re.findall(r'"(sgns-[a-z]+)=([a-z.]+):main"', setup))
    assert declared == COMMANDS


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_is_in_the_readme(command):
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"### {command}\n", 1)
    assert len(section) == 2, f"README has no section '### {command}'"
    section = section[1].split("\n### ", 1)[0]
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", help_text(COMMANDS[command])))
    options.discard("--help")
    assert options, f"{command} --help lists no options"
    documented = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", section))
    missing = sorted(options - documented)
    assert not missing, f"README section of {command} does not document {missing}"
