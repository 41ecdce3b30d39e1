"""User text (label and tag names, column names) written into Markdown: the model card and the
run report. A name is data, so it must stay inside its line and its table cell: a newline could
start a line of its own (a `---` that ends the card's metadata), a `|` a new cell."""

from __future__ import annotations


def inline(text: object) -> str:
    """`text` safe inside one Markdown line or table cell: line breaks as spaces, pipes and
    backticks escaped."""
    flat = " ".join(str(text).splitlines())
    return flat.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
