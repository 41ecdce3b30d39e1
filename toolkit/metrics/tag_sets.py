"""A token classification run's tags as its scheme reads them: entities (seqeval,
metrics/entities.py) or plain tags scored per word (metrics/word_tags.py). Both answer the
same questions (`scorer`, `counts`, `report`, `predicted`), so the Tags target and the report
ask the one object this returns and never the scheme again."""

from __future__ import annotations

from toolkit.config.taxonomy import TagScheme
from toolkit.metrics.entities import EntityTags
from toolkit.metrics.word_tags import PlainTags

TagSet = EntityTags | PlainTags


def tag_set(scheme: TagScheme, label_names: list[str]) -> TagSet:
    """The tag names `label_names` read as `scheme`."""
    if scheme.entities:
        return EntityTags([scheme.seqeval_name(tag) for tag in label_names])
    return PlainTags(label_names)
