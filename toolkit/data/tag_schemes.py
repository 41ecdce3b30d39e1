"""Which scheme a tag set follows (`data.tag_scheme: auto`), or whether the one a config names
fits it. The schemes themselves are declared in config/taxonomy.py (`TagScheme`).

A tag set is an entity scheme only if every tag other than O is a known prefix, '-' and a type
(B-PER, I-geo-loc, S-ORG, U-LOC), and the prefixes it uses form one scheme: only B- and I-
(IOB2, or IOB1 when entities open with I-), E- or S- beside them (IOBES), L- or U- beside them
(BILOU). Anything else is plain tags, one label per word: Penn POS tags (NN, UH, PRP$, '.',
-LRB-) read as entities would lose letters to prefixes (UH as U- and type H) and count spans
that do not exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from toolkit.config.taxonomy import IOB1, IOB2, PLAIN, TAG_SCHEMES, TagScheme
from toolkit.core.errors import UserError

OUTSIDE = "O"
# a prefix letter, '-' and a non-empty type
ENTITY_TAG = re.compile(r"^([A-Z])-(.+)$")
# tried in this order when detecting: a scheme fits when it allows every prefix used and, if
# it has marks (E-/S-, L-/U-), the tags use one of them; IOB2 last, as it has none
DETECTED = tuple(TAG_SCHEMES[name] for name in ("iobes", "bilou", "iob2"))


def prefix_of(tag: str) -> str | None:
    """The entity prefix of `tag` ('B' of B-PER), or None when it has none."""
    found = ENTITY_TAG.match(tag)
    return found.group(1) if found else None


def prefixes_used(names: Sequence[str]) -> set[str | None]:
    """The prefixes of every tag but O (None among them: a tag without one)."""
    return {prefix_of(tag) for tag in names if tag != OUTSIDE}


def detect_scheme(names: Sequence[str], rows: Sequence[Sequence[str]] = ()) -> TagScheme:
    """The scheme of the tag set `names` (its sentences `rows`, when known, tell IOB1 from
    IOB2; without them B-/I- tags read as IOB2)."""
    used = prefixes_used(names)
    for scheme in DETECTED:
        if used <= scheme.prefixes and (not scheme.marks or used & scheme.marks):
            return IOB1 if scheme is IOB2 and opens_with_inside(rows) else scheme
    return PLAIN


def opens_with_inside(rows: Sequence[Sequence[str]]) -> bool:
    """IOB1: entities open with I- (B- only parts two entities of one type that touch), so
    no B- tag follows anything but its own type, and some I- tag does."""
    opened_by: set[str] = set()
    for tags in rows:
        previous = OUTSIDE
        for tag in tags:
            if tag != OUTSIDE and entity_type(tag) != entity_type(previous):
                opened_by.add(tag[0])
            previous = tag
    return opened_by == {"I"}


def entity_type(tag: str) -> str | None:
    found = ENTITY_TAG.match(tag)
    return found.group(2) if found else None


def misfits(scheme: TagScheme, names: Sequence[str]) -> list[str]:
    """The tags of `names` that an entity scheme cannot read (plain tags read every tag)."""
    if not scheme.entities:
        return []
    return [tag for tag in names if tag != OUTSIDE and prefix_of(tag) not in scheme.prefixes]


def resolve_scheme(
    asked: str, names: Sequence[str], rows: Sequence[Sequence[str]], where: str
) -> TagScheme:
    """The scheme of the training tags: detected (`asked` is auto), or the one named, which
    must fit every tag (`where`: the training split, for the message)."""
    detected = detect_scheme(names, rows)
    if asked == "auto":
        return detected
    scheme = TAG_SCHEMES[asked]
    wrong = misfits(scheme, names)
    if wrong:
        shown = ", ".join(wrong[:8]) + (f" and {len(wrong) - 8} more" if len(wrong) > 8 else "")
        allowed = "/".join(f"{p}-" for p in sorted(scheme.prefixes))
        raise UserError(
            f"data.tag_scheme is {asked}, but {len(wrong)} tag(s) of the {where} do not fit "
            f"it: {shown}. {scheme.title} tags are O or {allowed} followed by an entity type "
            f"(e.g. B-PER). These tags read as {detected.title}; set data.tag_scheme: auto "
            f"to use that, or plain to score every tag as a word label."
        )
    return scheme


def describe_scheme(scheme: TagScheme) -> str:
    """What the start of a run says about its tags."""
    if scheme.entities:
        reading = f"{scheme.title} entity tags, scored per entity (seqeval)"
    else:
        reading = "plain tags, one label per word (no entity prefixes), scored per word"
    return f"{reading}; data.tag_scheme names another"
