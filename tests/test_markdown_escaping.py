"""Label names are data: in the model card and the report they stay inside their line and cell."""

from __future__ import annotations

from toolkit.core.markdown import inline


def test_a_name_cannot_open_a_line_or_a_cell():
    name = "spam | ham\n---\nlicense: mit"
    safe = inline(name)
    assert "\n" not in safe and "spam \\| ham" in safe
    assert inline("a`b") == "a\\`b" and inline("plain") == "plain"


def test_the_card_line_of_labels_keeps_every_name_in_its_line():
    from toolkit.config.schema import RunConfig
    from toolkit.tasks.targets import CLASSES, LABEL_SETS

    names = ["ok", "bad|name", "two\n---\nlines"]
    for target in (CLASSES, LABEL_SETS):
        line = target.card_line(RunConfig(), names)
        assert "\n" not in line and "bad\\|name" in line


def test_the_reports_per_label_table_keeps_its_columns():
    from toolkit.outputs.report import per_label_section

    section = per_label_section(
        {"a|b": {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}}
    )
    row = next(line for line in section.splitlines() if line.startswith("| a"))
    assert row.replace("\\|", "").count("|") == 6  # five cells, whatever the name holds
