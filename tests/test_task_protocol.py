"""Every registered task module has every member the `Task` Protocol declares (a module is not
type-checked against a Protocol at import, so a member added to the Protocol and forgotten in
one task would only fail when that task runs)."""

from __future__ import annotations

import pytest

from toolkit.config.taxonomy import TASKS
from toolkit.tasks import Task, get_task

MEMBERS = sorted(
    {name for name in Task.__dict__ if not name.startswith("_")} | set(Task.__annotations__)
)


def test_the_protocol_members_are_read():
    assert {"prepare", "collator", "train_collator", "target", "pipeline_tag"} <= set(MEMBERS)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_module_has_every_protocol_member(name):
    module = get_task(name)
    missing = [member for member in MEMBERS if not hasattr(module, member)]
    assert not missing, f"tasks module for '{name}' lacks {missing}"
