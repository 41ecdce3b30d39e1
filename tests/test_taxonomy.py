"""One owner for each task: config/taxonomy.py declares each task's modality and target and the
metric catalogue, toolkit/tasks implements them, and no other module compares a task, target or
modality name (it asks the kind's attributes instead), so a new task or target is added in
those places only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from toolkit.config.taxonomy import TASK_KINDS
from toolkit.tasks.targets import TARGETS

TOOLKIT = Path(__file__).resolve().parents[1] / "toolkit"
OWNERS = ("config/taxonomy.py", "tasks/")  # where the kinds are declared and implemented
SHIPPED_EVALUATE_SCRIPTS = "metrics/modules/"
# Modality names ("text", "image") are column names too: a modality is caught by the attribute
# it is read from instead (`run.modality == ...`).
NAMES = {*TASK_KINDS, *(kind.target.name for kind in TASK_KINDS.values())}
# Attributes that hold a task's identity: comparing them is branching on the task.
IDENTITY_ATTRIBUTES = {"task", "kind", "modality", "target"}


def is_name_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(is_name_literal(element) for element in node.elts)
    return False


def is_identity(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):  # a local copy: `modality = run.modality`
        return node.id in ("task", "modality")
    return isinstance(node, ast.Attribute) and node.attr in IDENTITY_ATTRIBUTES


def dispatches(source: str) -> list[str]:
    """Each comparison of a task/target/modality name or identity, and each table keyed by a
    name, as 'line: code'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            against_none = any(isinstance(o, ast.Constant) and o.value is None for o in operands)
            if any(is_name_literal(o) for o in operands) or (
                any(is_identity(o) for o in operands) and not against_none
            ):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Dict) and any(
            k is not None and is_name_literal(k) for k in node.keys
        ):
            found.append(f"{node.lineno}: a table keyed by task/target names")
        elif (
            isinstance(node, ast.Call)
            and any(is_name_literal(a) for a in node.args)
            and "task" in ast.unparse(node.func)
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize(
    "code",
    [
        'if config.task == "text-regression": pass',
        'if config.task in ("masked-lm", "masked-image-modeling"): pass',
        'if data.target != "classes": pass',
        'if run.target.kind == "tags": pass',
        'if run.modality == "image": pass',
        'if modality == "image": pass',
        "if kind.target is NUMBERS: pass",
        'x = {"numbers": 1, "tags": 2}',
        'task = get_task("image-classification")',
    ],
)
def test_the_detector_finds_each_form_of_dispatch(code):
    assert dispatches(code), code


def test_the_detector_lets_attributes_and_none_checks_through():
    code = "if data.target.numeric and task.target is not None and text == 'hello': pass"
    assert dispatches(code) == []


def test_no_module_outside_the_task_definitions_compares_a_task_name():
    offenders = {}
    for path in sorted(TOOLKIT.rglob("*.py")):
        relative = path.relative_to(TOOLKIT).as_posix()
        if relative.startswith((*OWNERS, SHIPPED_EVALUATE_SCRIPTS)):
            continue
        if found := dispatches(path.read_text()):
            offenders[relative] = found
    assert not offenders, offenders


def test_the_metric_catalogue_is_declared_once():
    """Each target's shipped metric names appear together in config/taxonomy.py only."""
    taxonomy = (TOOLKIT / "config" / "taxonomy.py").read_text()
    for target in {kind.target for kind in TASK_KINDS.values() if kind.target.labelled}:
        listed = ", ".join(f'"{name}"' for name in target.metrics[:2])
        holders = [
            path.relative_to(TOOLKIT).as_posix()
            for path in TOOLKIT.rglob("*.py")
            if listed in path.read_text()
            and not path.relative_to(TOOLKIT).as_posix().startswith(SHIPPED_EVALUATE_SCRIPTS)
        ]
        assert listed in taxonomy and holders == ["config/taxonomy.py"], (target.name, holders)


def test_every_labelled_task_has_its_target_implemented():
    for kind in TASK_KINDS.values():
        assert kind.pretraining or kind.target in TARGETS, kind.name
