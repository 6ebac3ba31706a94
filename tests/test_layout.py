"""The tree shows the architecture: no import loops, small modules, each concern in its folder.

Imports are read from the source (every import statement, those inside functions included),
so a loop hidden in a function body fails here as one at module level would.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"sgns": "sgns", "pipeline": "sgns.pipeline"}  # folder: import name
MAX_LINES = 350
MAX_LOOSE_MODULES = 6  # modules directly in sgns/ (the shared contract), __init__ included


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = package.split(".") + list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules that `name` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    tree = ast.parse(path.read_text(), str(path))
    # (but a module's `if __name__ == "__main__":` block: it runs only as the program, when the
    # module is __main__, never while the module is imported under its name)
    tree.body = [node for node in tree.body if not _runs_as_program(node)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from pkg import module` imports the module
                full = f"{base}.{alias.name}"
                targets.add(full if full in MODULES else base)
    return {t for t in targets if t in MODULES and t != name}


def _runs_as_program(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in (
        "__name__ == '__main__'",
        "'__main__' == __name__",
    )


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(GRAPH):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_itself_through_others():
    cycle = _cycle()
    assert cycle is None, "import loop: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines (at most {MAX_LINES})"


def test_the_top_of_sgns_holds_only_the_shared_contract():
    loose = sorted(p.name for p in (ROOT / "sgns").glob("*.py"))
    assert len(loose) <= MAX_LOOSE_MODULES, loose


def _third_party(name: str) -> set[str]:
    tree = ast.parse(MODULES[name].read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


API = "sgns.api"  # the Python API: the one place above both stages, calling each as its command


def test_the_trainer_never_imports_the_pipeline_or_beam():
    for name in MODULES:
        if not name.startswith("sgns.pipeline"):
            assert "apache_beam" not in _third_party(name), name
            if name != API and not name.startswith(API + "."):
                assert not [m for m in GRAPH[name] if m.startswith("sgns.pipeline")], name


@pytest.mark.parametrize(
    "prefix",
    [
        "sgns.dataset",
        "sgns.files",
        "sgns.store",
        "sgns.rundir",
        "sgns.vectors",
        "sgns.eval",
        "sgns.synth",
        "sgns.report",
    ],
)
def test_the_contract_and_the_tools_need_no_torch(prefix):
    for name in MODULES:
        if name == prefix or name.startswith(prefix + "."):
            assert "torch" not in _third_party(name), f"{name} imports torch"


def test_the_gpu_check_needs_neither_beam_nor_gensim():
    # the GPU machine has CUDA torch, pyarrow, numpy and pytest, but no Beam and no gensim
    import subprocess
    import sys

    modules = [
        "sgns.pipeline.local", "sgns.train.trainer", "sgns.train.engines", "sgns.train.loader",
        "sgns.train.torch_engine", "sgns.eval.scoring", "train_helpers",
    ]  # fmt: skip
    code = (
        "import sys; sys.modules['apache_beam'] = None; sys.modules['gensim'] = None\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests')!r}]\n"
        + "".join(f"import {m}\n" for m in modules)
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
