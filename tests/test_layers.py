"""The house rules of toolkit/ that a linter can check: imports only go down the stages of a
run (import-linter's layer contract in pyproject.toml), and no toolkit import hides inside a
function to dodge a cycle."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.e2e
def test_the_tree_keeps_the_layer_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def lint_a_copy_with(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the package in which `module` (a path under toolkit/) has
    `line` appended."""
    shutil.copytree(
        ROOT / "toolkit", tmp_path / "toolkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    changed = tmp_path / "toolkit" / module
    changed.write_text(changed.read_text() + f"\n{line}\n")
    return lint_imports(tmp_path)


@pytest.mark.e2e
def test_an_upward_import_breaks_the_contract(tmp_path):
    """core/ importing commands/ (the top stage) must fail `make lint`."""
    result = lint_a_copy_with(tmp_path, "core/log.py", "import toolkit.commands.train")
    assert result.returncode != 0 and "BROKEN" in result.stdout
    assert "toolkit.core.log -> toolkit.commands.train" in result.stdout, result.stdout


@pytest.mark.e2e
def test_sibling_stages_do_not_import_each_other(tmp_path):
    """data, model, metrics and augment are independent: data/ importing model/ fails."""
    result = lint_a_copy_with(tmp_path, "data/splits.py", "import toolkit.model.packaged")
    assert result.returncode != 0
    assert "toolkit.data.splits -> toolkit.model.packaged" in result.stdout, result.stdout


def test_commands_do_not_import_each_other(tmp_path):
    """What two commands share is a stage in run/: commands/search.py importing
    commands/train.py fails."""
    result = lint_a_copy_with(tmp_path, "commands/search.py", "import toolkit.commands.train")
    assert result.returncode != 0
    assert "toolkit.commands.search -> toolkit.commands.train" in result.stdout, result.stdout


def function_level_toolkit_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            names = (
                [node.module]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(name and name.split(".")[0] == "toolkit" for name in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} in {func.name}")
    return found


# Lazy imports are for heavy or optional third-party packages only, never to dodge a cycle. These
# files import a toolkit module lazily because of what it imports, and say so where they do it.
LAZY_FOR_A_HEAVY_PACKAGE = {
    # its handlers import their command, and with it torch and transformers (seconds), when
    # they run, so `ftk --help` and argument errors answer at once
    "toolkit/cli.py",
    # synonyms.py subclasses nlpaug's SynonymAug; nlpaug.augmenter.word takes seconds to import
    # and only the `synonym` operation needs it
    "toolkit/augment/text.py",
    # the package's API names (toolkit.train, ...) load toolkit/api.py on first use, so that
    # `import toolkit`, which every `ftk` command runs first, imports neither torch nor
    # transformers (importlib, not an import statement, but the same rule)
    "toolkit/__init__.py",
    # get_task imports a task's module when a run asks for it (importlib): the image tasks
    # import torchvision, the optional `image` extra, which a text run must not need
    "toolkit/tasks/__init__.py",
    # run/search/ imports optuna, the optional `search` extra: `ftk search` imports it once it
    # has found optuna, so that toolkit.api (and every other command) needs no optuna
    "toolkit/commands/search.py",
}


def test_no_toolkit_import_inside_a_function():
    found = [
        hit
        for path in sorted((ROOT / "toolkit").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in LAZY_FOR_A_HEAVY_PACKAGE
        for hit in function_level_toolkit_imports(path)
    ]
    assert found == []


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """The toolkit modules `path` imports at module level (`from pkg import sub` counts sub)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in modules}


def test_no_import_cycle():
    paths = [p for p in (ROOT / "toolkit").rglob("*.py") if "modules" not in p.parts]
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): top_level_imports(p, modules) for p in paths}
    done: set[str] = set()

    def visit(module: str, stack: list[str]) -> None:
        if module in stack:
            raise AssertionError(
                "import cycle: " + " -> ".join([*stack[stack.index(module) :], module])
            )
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*stack, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert len(done) == len(graph) > 60
