"""What `augment.text` may say: the operations, `trivial`, and lists of steps.

A *policy* is a list of operations, each with a strength and a probability, applied in
sequence or as one-of; `trivial` is the text analogue of TrivialAugment: per example, one
operation picked uniformly and its strength drawn uniformly from that operation's range. This
module only parses and checks the setting (so a bad one fails when the config loads);
toolkit/augment/text.py runs it with nlpaug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.core.errors import UserError, did_you_mean


@dataclass(frozen=True)
class Operation:
    level: str  # char | word | sentence
    low: float  # strength range `trivial` draws from (fraction of words or sentences touched)
    high: float
    what: str  # one line for --help, errors and docs


OPERATIONS: dict[str, Operation] = {
    "keyboard": Operation("char", 0.05, 0.3, "typos from neighbouring keys (QWERTY)"),
    "ocr": Operation("char", 0.05, 0.3, "OCR confusions (0 for o, 1 for l, ...)"),
    "char_insert": Operation("char", 0.05, 0.3, "insert random characters into words"),
    "char_substitute": Operation("char", 0.05, 0.3, "replace characters with random ones"),
    "char_swap": Operation("char", 0.05, 0.3, "swap neighbouring characters"),
    "char_delete": Operation("char", 0.05, 0.3, "delete characters"),
    "word_swap": Operation("word", 0.05, 0.3, "swap neighbouring words"),
    "word_delete": Operation("word", 0.05, 0.2, "delete words"),
    "word_crop": Operation("word", 0.05, 0.2, "delete one contiguous span of words"),
    "spelling": Operation("word", 0.05, 0.3, "common human misspellings (nlpaug's list)"),
    "synonym": Operation("word", 0.05, 0.3, "WordNet synonyms (no part-of-speech filter)"),
    "word_split": Operation("word", 0.05, 0.2, "split words in two at a random place"),
    "sentence_shuffle": Operation("sentence", 0.1, 0.5, "move sentences to a neighbour's place"),
}


@dataclass(frozen=True)
class Step:
    name: str
    strength: float | None  # fraction of words (sentences) touched; None: drawn per example
    p: float  # probability the step runs on a given example


@dataclass(frozen=True)
class TextPolicy:
    steps: tuple[Step, ...]
    mode: str  # sequence: every step in order (each with its p); one_of: one step per example
    protected_words: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.steps]


def trivial_steps() -> tuple[Step, ...]:
    return tuple(Step(name, None, 1.0) for name in OPERATIONS)


def text_policy(augment: Any) -> TextPolicy | None:
    """The policy the config's `augment` section describes, or None when text augmentation is off.

    `augment.text` accepts: null/false/[] (off), `trivial` or true (TrivialAugment-style), or a
    list whose items are operation names or mappings {name, strength, p}.
    """
    spec = augment.text
    protected = tuple(augment.protected_words or ())
    if spec is None or spec is False or spec == [] or spec == "":
        return None
    mode = augment.text_mode  # one of its Literal's choices (config/declare.py checked it)
    if spec is True or spec == "trivial" or spec == ["trivial"]:
        return TextPolicy(trivial_steps(), "one_of", protected)
    items = [spec] if isinstance(spec, (str, dict)) else spec
    if not isinstance(items, list):
        raise UserError(
            f"Config key 'augment.text' must be `trivial`, an operation name or a "
            f"list of operations, got {spec!r}. {valid_names_sentence()}"
        )
    steps = tuple(parse_step(item, i) for i, item in enumerate(items))
    return TextPolicy(steps, mode, protected)


def parse_step(item: Any, position: int) -> Step:
    where = f"augment.text[{position}]"
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or "name" not in item:
        raise UserError(
            f"Config key '{where}' must be an operation name or a mapping "
            f"{{name, strength, p}}, got {item!r}. {valid_names_sentence()}"
        )
    unknown = set(item) - {"name", "strength", "p"}
    if unknown:
        raise UserError(
            f"Config key '{where}' has unknown field(s) {', '.join(sorted(unknown))}; "
            f"an operation takes name, strength and p."
        )
    name = item["name"]
    if name == "trivial":
        raise UserError(
            f"Config key '{where}' is `trivial`, which is a whole policy: write "
            f"`augment.text: trivial` on its own, not inside a list."
        )
    if name not in OPERATIONS:
        raise UserError(
            f"Config key '{where}' names an unknown text augmenter '{name}'."
            f"{did_you_mean(str(name), OPERATIONS)} {valid_names_sentence()}"
        )
    strength = number(item.get("strength"), f"{where}.strength")
    if strength is not None and not 0 < strength <= 1:
        op = OPERATIONS[name]
        raise UserError(
            f"Config key '{where}.strength' is {strength}; it is the fraction of "
            f"{'sentences' if op.level == 'sentence' else 'words'} changed and must "
            f"lie in (0, 1] (`trivial` draws {name}'s from [{op.low}, {op.high}]; "
            f"leave strength out to do the same)."
        )
    p = number(item.get("p", 1.0), f"{where}.p")
    if p is None or not 0 <= p <= 1:
        raise UserError(
            f"Config key '{where}.p' is {p}; it is a probability and must lie in [0, 1]."
        )
    return Step(name, strength, p)


def number(value: Any, key: str) -> float | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise UserError(f"Config key '{key}' must be a number, got {value!r}.") from None


def valid_names_sentence() -> str:
    return f"Valid text augmenters: {', '.join(OPERATIONS)} (or `trivial` on its own)."
