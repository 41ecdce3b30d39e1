"""CoNLL-style tagged text: one token per line with its tag in the last column, a blank line
between sentences (`-DOCSTART-` lines skipped), as CoNLL-2003, WNUT and most NER corpora ship.

Read into the same shape as a table with a column of token lists and a column of tag lists
(`data.tokens_column`, `data.tags_column`), so both reach the token-classification task alike.
"""

from __future__ import annotations

import re
from pathlib import Path

import datasets

from toolkit.core.errors import UserError

# .txt too: a table of token lists cannot be plain text, so for token classification a .txt
# file can only be CoNLL-style (WNUT's own files and the packaged wnut16-ner are .txt).
CONLL_SUFFIXES = (".conll", ".conllu", ".iob", ".iob2", ".bio", ".txt")

# Columns are separated by ASCII spaces and tabs only: a token may itself be a Unicode space
# (the ideographic space U+3000 is a morpheme in Japanese corpora), which str.split would
# take for a separator.
COLUMN_SPACE = " \t"
COLUMN_GAP = re.compile(f"[{COLUMN_SPACE}]+")


def read_conll(
    path: Path, key: str, encoding: str, tokens_column: str, tags_column: str
) -> datasets.Dataset:
    """The sentences of a CoNLL-style file as {tokens_column: [...], tags_column: [...]}."""
    try:
        # only line feeds end a line: str.splitlines would also break at U+2028, U+0085, ...
        lines = path.read_text(encoding=encoding).split("\n")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{key} '{path}' is not {encoding} text (byte {exc.start}); set data.encoding "
            f"to the file's encoding, e.g. latin-1."
        ) from None
    sentences = split_sentences(lines, path, key)
    if not sentences:
        raise UserError(f"{key} '{path}' holds no tagged tokens (token and tag per line).")
    return datasets.Dataset.from_dict(
        {
            tokens_column: [[token for token, _ in s] for s in sentences],
            tags_column: [[tag for _, tag in s] for s in sentences],
        }
    )


def split_sentences(lines: list[str], path: Path, key: str) -> list[list[tuple[str, str]]]:
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        fields = COLUMN_GAP.split(line.strip(COLUMN_SPACE + "\r"))
        fields = [field for field in fields if field]
        if not fields or fields[0] == "-DOCSTART-":
            if current:
                sentences.append(current)
            current = []
            continue
        if len(fields) < 2:
            raise UserError(
                f"{key} '{path}' line {number} has one field ({line.strip()!r}); each token "
                f"line needs the token first and its tag last, separated by a space or tab, "
                f"and sentences are separated by blank lines."
            )
        current.append((fields[0], fields[-1]))
    if current:
        sentences.append(current)
    return sentences
