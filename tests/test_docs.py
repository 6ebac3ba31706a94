"""The docs cannot drift: docs/commands.md is what the commands' parsers make and holds every
option `--help` shows; the site builds with MkDocs in strict mode (a broken link, an anchor that
is not there or a page left out of the navigation fails it); the README's and BENCHMARKS.md's
links lead somewhere; and the benchmark scripts write their logs to benchmarks/log/, not into
BENCHMARKS.md, the results page.
"""

import contextlib
import difflib
import importlib
import importlib.util
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_readme import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "commands.md"
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]+)")


def _writer():
    spec = importlib.util.spec_from_file_location(
        "commands_doc", ROOT / "scripts" / "commands_doc.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WRITER = _writer()


def help_text(module_name: str, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option: no flag broken at a hyphen
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        importlib.import_module(module_name).main(["--help"])
    assert stop.value.code == 0
    return out.getvalue()


def test_the_command_reference_is_what_the_parsers_make():
    written = REFERENCE.read_text(encoding="utf-8")
    made = WRITER.render()
    diff = list(difflib.unified_diff(written.splitlines(), made.splitlines(), lineterm="", n=0))
    assert not diff, (
        "docs/commands.md differs from what the parsers make; run `python "
        "scripts/commands_doc.py` (or `make docs`):\n" + "\n".join(diff[:30])
    )


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_is_in_the_command_reference(command, monkeypatch):
    page = REFERENCE.read_text(encoding="utf-8")
    section = page.split(f"\n## {command}\n", 1)
    assert len(section) == 2, f"docs/commands.md has no section '## {command}'"
    section = section[1].split("\n## ", 1)[0]
    shown = set(OPTION.findall(help_text(COMMANDS[command], monkeypatch))) - {"--help"}
    options = set(WRITER.visible_options(WRITER.parser_of(COMMANDS[command])))
    assert options, f"{command} has no options"
    assert options <= shown, f"the parser caught is not the one --help prints: {options - shown}"
    tabled = set(re.findall(r"^\| `(--[a-z][a-z0-9-]+)", section, re.M))  # a table row each
    missing = sorted(options - tabled)
    assert not missing, f"docs/commands.md's {command} tables lack {missing}"
    unsaid = sorted(shown - set(OPTION.findall(section)))  # and whatever --help mentions
    assert not unsaid, f"docs/commands.md's {command} section does not mention {unsaid}"


def test_the_site_builds_without_a_warning(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for page in ("index.html", "commands/index.html", "gensim/index.html"):
        assert (site / page).is_file(), page
    assert "--negatives" in (site / "commands" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", ["README.md", "BENCHMARKS.md", "benchmarks/log/summaries.md"])
def test_relative_links_lead_to_files(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    base = (ROOT / page).parent
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+:", target):  # http:, mailto: ...
            continue
        assert (base / target).exists(), f"{page} links to {target}, which is not there"


def test_benchmark_scripts_append_to_the_run_log_not_the_results_page():
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        code = script.read_text(encoding="utf-8")
        assert '"BENCHMARKS.md"' not in code, f"{script.name} writes into BENCHMARKS.md"
        for default in re.findall(r'"--out", default=(os\.path\.join\([^)]*\))', code):
            assert '"log"' in default, f"{script.name}: --out defaults to {default}"


def test_benchmarks_md_is_a_results_page():
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    first = text.split("\n## ", 2)[1]
    assert first.startswith("Headline"), "BENCHMARKS.md opens with the headline table"
    assert "| system |" in first and "command" in first and "machine" in first
    dated = re.findall(r"^### .*\d{4}-\d\d-\d\d \d\d:\d\d UTC", text, re.M)
    assert not dated, f"run-log sections belong in benchmarks/log/: {dated[:3]}"
