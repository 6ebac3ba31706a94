"""The README: short, its commands are setup.py's, and its quick starts run as written.

(Every option of every command is documented in docs/commands.md, written from the parsers:
tests/test_docs.py.)
"""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sgns.commands import COMMANDS  # prog -> module of its main(), as setup.py runs them

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAX_LINES = 250  # the details live in docs/
QUICK_START_LINES = 5


def test_setup_declares_exactly_these_commands():
    setup = (ROOT / "setup.py").read_text()
    declared = dict(re.findall(r'"(sgns-[a-z]+)=sgns\.commands:([a-z]+)"', setup))
    assert set(declared) == set(COMMANDS)
    assert set(COMMANDS.values()) == {
        "sgns.pipeline.preprocess", "sgns.train.cli", "sgns.train.export", "sgns.eval.cli",
        "sgns.synth.cli", "sgns.report.cli",
    }  # fmt: skip


def test_the_readme_stays_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"README.md has {lines} lines; move the detail to docs/"


def quick_start(title: str, language: str) -> str:
    """The code block of README section `## {title}` in `language`."""
    readme = README.read_text(encoding="utf-8")
    parts = readme.split(f"\n## {title}\n", 1)
    assert len(parts) == 2, f"README.md has no section '## {title}'"
    found = re.search(rf"^```{language}\n(.*?)^```", parts[1].split("\n## ", 1)[0], re.M | re.S)
    assert found, f"README section '{title}' has no ```{language} block"
    return found.group(1)


@pytest.mark.parametrize(
    "title, language", [("Quick start: the command line", "sh"), ("Quick start: Python", "python")]
)
def test_each_quick_start_is_five_lines(title, language):
    lines = [line for line in quick_start(title, language).splitlines() if line.strip()]
    assert len(lines) == QUICK_START_LINES, lines


def test_the_command_line_quick_start_uses_the_commands():
    used = {
        line.split()[0] for line in quick_start("Quick start: the command line", "sh").splitlines()
    }
    assert used <= set(COMMANDS), sorted(used - set(COMMANDS))


@pytest.mark.slow
def test_the_quick_starts_run_as_written(tmp_path):
    """The command-line block in an empty folder, then the Python block on what it wrote."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    commands = quick_start("Quick start: the command line", "sh")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "run" / "vectors.txt").is_file()
    assert (tmp_path / "run" / "report.html").is_file()
    precision = re.search(r"cluster precision@\d+ ([0-9.]+)", done.stdout)
    assert precision, done.stdout[-2000:]
    assert float(precision.group(1)) >= 0.9, done.stdout[-2000:]  # it learned the planted clusters

    done = subprocess.run(
        [sys.executable, "-c", quick_start("Quick start: Python", "python")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    printed = done.stdout.splitlines()
    assert len(printed) == 2, done.stdout
    neighbours = ast.literal_eval(printed[0])  # the (word, cosine) pairs the block printed
    assert len(neighbours) == 5 and all(-1 <= cosine <= 1 for _, cosine in neighbours)
    lines = (tmp_path / "run" / "vectors.txt").read_text(encoding="utf-8").splitlines()[1:]
    words = {line.split(" ", 1)[0] for line in lines}
    assert {word for word, _ in neighbours} <= words
