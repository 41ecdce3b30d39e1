"""The one exception type for problems the user can fix.

Anything raised as `UserError` reaches the terminal as a single paragraph and exit status 2,
never as a traceback: it names the file, key or column at fault and says what to do instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Bad input: a config, a data file, a model path. The message is shown as-is."""


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to `word`, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean X?' suffix for error messages (empty when nothing is close)."""
    match = closest(word, candidates)
    return f" Did you mean '{match}'?" if match else ""
