"""Text augmentation with nlpaug, applied on the fly to the training split.

A *policy* (`augment.text` in the config) is a list of operations, each with a strength and a
probability, applied in sequence or as one-of; `trivial` is the text analogue of
TrivialAugment: per example, one operation picked uniformly and its strength drawn uniformly
from that operation's range. Every example's randomness is derived from (seed, epoch, index),
so two runs with one seed see the same texts and every epoch sees new variants, whatever the
order, batch size or number of processes.

Guarantees, checked on every output: never an empty text (the input is kept instead), and
protected words (`augment.protected_words`) are never changed or dropped (the step that
changed one is undone).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from toolkit.errors import UserError, did_you_mean

INDEX_COLUMN = "_ftk_index"  # row number in the train split; seeds that row's augmentation
MODES = ("sequence", "one_of")


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


# ----------------------------------------------------------------------------- the policy


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
    mode = augment.text_mode
    if mode not in MODES:
        raise UserError(f"Config key 'augment.text_mode' is '{mode}'; use one of "
                        f"{', '.join(MODES)}.{did_you_mean(str(mode), MODES)}")
    if spec is True or spec == "trivial" or spec == ["trivial"]:
        return TextPolicy(trivial_steps(), "one_of", protected)
    items = [spec] if isinstance(spec, (str, dict)) else spec
    if not isinstance(items, list):
        raise UserError(f"Config key 'augment.text' must be `trivial`, an operation name or a "
                        f"list of operations, got {spec!r}. {valid_names_sentence()}")
    steps = tuple(parse_step(item, i) for i, item in enumerate(items))
    return TextPolicy(steps, mode, protected)


def parse_step(item: Any, position: int) -> Step:
    where = f"augment.text[{position}]"
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or "name" not in item:
        raise UserError(f"Config key '{where}' must be an operation name or a mapping "
                        f"{{name, strength, p}}, got {item!r}. {valid_names_sentence()}")
    unknown = set(item) - {"name", "strength", "p"}
    if unknown:
        raise UserError(f"Config key '{where}' has unknown field(s) {', '.join(sorted(unknown))}; "
                        f"an operation takes name, strength and p.")
    name = item["name"]
    if name == "trivial":
        raise UserError(f"Config key '{where}' is `trivial`, which is a whole policy: write "
                        f"`augment.text: trivial` on its own, not inside a list.")
    if name not in OPERATIONS:
        raise UserError(f"Config key '{where}' names an unknown text augmenter '{name}'."
                        f"{did_you_mean(str(name), OPERATIONS)} {valid_names_sentence()}")
    strength = number(item.get("strength"), f"{where}.strength")
    if strength is not None and not 0 < strength <= 1:
        op = OPERATIONS[name]
        raise UserError(f"Config key '{where}.strength' is {strength}; it is the fraction of "
                        f"{'sentences' if op.level == 'sentence' else 'words'} changed and must "
                        f"lie in (0, 1] (`trivial` draws {name}'s from [{op.low}, {op.high}]; "
                        f"leave strength out to do the same).")
    p = number(item.get("p", 1.0), f"{where}.p")
    if not 0 <= p <= 1:
        raise UserError(f"Config key '{where}.p' is {p}; it is a probability and must lie in "
                        f"[0, 1].")
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


# ----------------------------------------------------------------------------- nlpaug


def sentence_split(text: str) -> list[str]:
    # nlpaug's default needs nltk's punkt model, which is not installed offline; this is enough
    # for shuffling (it only has to find sentence ends, not parse abbreviations perfectly).
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def build_nlpaug(name: str, protected: list[str]) -> Any:
    """One nlpaug augmenter; its strength attribute is set per example (see `set_strength`)."""
    import nlpaug.augmenter.char as nac
    import nlpaug.augmenter.sentence as nas
    import nlpaug.augmenter.word as naw

    # Char ops: 1-2 characters in each chosen word; the number of words follows the strength.
    char = dict(aug_char_min=1, aug_char_max=2, aug_word_min=1, aug_word_max=None,
                stopwords=protected or None)
    word = dict(aug_min=1, aug_max=None, stopwords=protected or None)
    if name == "keyboard":
        return nac.KeyboardAug(include_special_char=False, include_numeric=False, **char)
    if name == "ocr":
        return nac.OcrAug(**char)
    if name.startswith("char_"):
        return nac.RandomCharAug(action=name[len("char_"):], include_numeric=False, **char)
    if name in ("word_swap", "word_delete", "word_crop"):
        return naw.RandomWordAug(action=name[len("word_"):], **word)
    if name == "spelling":
        return naw.SpellingAug(**word)
    if name == "synonym":
        from toolkit.augment.synonyms import OfflineSynonymAug

        return OfflineSynonymAug(**word)
    if name == "word_split":
        return naw.SplitAug(**word)
    if name == "sentence_shuffle":
        return nas.RandomSentAug(mode="neighbor", aug_min=1, aug_max=None,
                                 tokenizer=sentence_split)
    raise AssertionError(name)  # parse_step admits only names in OPERATIONS


def set_strength(augmenter: Any, level: str, strength: float) -> None:
    if level == "char":
        augmenter.aug_word_p = strength
    else:
        augmenter.aug_p = strength


def stopword_variants(words: tuple[str, ...]) -> list[str]:
    # nlpaug compares tokens exactly; these spellings cover most running text. The check in
    # TextAugmenter.protected_ok is what guarantees protection (crop ignores stopwords).
    return sorted({v for w in words for v in (w, w.lower(), w.upper(), w.capitalize())})


# ----------------------------------------------------------------------------- applying


def example_seed(seed: int, epoch: int, index: int, salt: int = 0) -> int:
    """A 32-bit seed for one example in one epoch, independent of order and process."""
    return int(np.random.SeedSequence([seed, epoch, index, salt]).generate_state(1)[0])


class TextAugmenter:
    """Applies a TextPolicy to texts, reproducibly per (seed, epoch, index).

    nlpaug draws from Python's `random` and NumPy's global generator; both are seeded per
    example and restored afterwards, so augmentation never disturbs other code's randomness.
    `max_words` caps the text before augmenting: words past it would be truncated by the
    tokenizer anyway (2 x max_length words always hold more than max_length tokens), and
    augmenting them is wasted time on long documents.
    """

    def __init__(self, policy: TextPolicy, seed: int, max_words: int | None = None):
        self.policy = policy
        self.seed = seed
        self.max_words = max_words
        self.augmenters: dict[str, Any] = {}
        protected = [re.escape(w) for w in policy.protected_words if w.strip()]
        self.protected_patterns = [re.compile(rf"(?<!\w){w}(?!\w)", re.IGNORECASE)
                                   for w in protected]
        self.stopwords = stopword_variants(policy.protected_words)

    def __getstate__(self) -> dict[str, Any]:
        # Built augmenters hold open files (WordNet); copies (datasets' with_format, DataLoader
        # workers started by spawn) rebuild them on first use instead.
        return {**self.__dict__, "augmenters": {}}

    def load(self) -> TextAugmenter:
        """Build every nlpaug augmenter now (raises UserError, e.g. no WordNet, before training)."""
        for name in self.policy.names:
            self.augmenter(name)
        return self

    def augmenter(self, name: str) -> Any:
        if name not in self.augmenters:
            self.augmenters[name] = build_nlpaug(name, self.stopwords)
        return self.augmenters[name]

    def augment_batch(self, texts: list[str | None], indices: list[int], epoch: int,
                      salt: int = 0) -> list[str | None]:
        saved = random.getstate(), np.random.get_state()
        try:
            return [self.augment(t, i, epoch, salt) for t, i in zip(texts, indices)]
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])

    def augment(self, text: str | None, index: int, epoch: int, salt: int = 0) -> str | None:
        """One variant of `text`; call through augment_batch to keep global RNGs untouched."""
        if not text or not text.strip():
            return text
        text = self.cap(text)
        seed = example_seed(self.seed, epoch, index, salt)
        rng = random.Random(seed)  # the policy's own draws: which step, whether, how strong
        random.seed(seed)  # nlpaug's draws
        np.random.seed(seed)
        for step in self.chosen_steps(rng):
            if rng.random() >= step.p:
                continue
            text = self.apply(step, text, rng)
        return text

    def chosen_steps(self, rng: random.Random) -> tuple[Step, ...]:
        steps = self.policy.steps
        if self.policy.mode == "one_of":
            return (steps[rng.randrange(len(steps))],)
        return steps

    def apply(self, step: Step, text: str, rng: random.Random) -> str:
        op = OPERATIONS[step.name]
        strength = step.strength if step.strength is not None else rng.uniform(op.low, op.high)
        augmenter = self.augmenter(step.name)
        set_strength(augmenter, op.level, strength)
        try:
            result = augmenter.augment(text)
        except (ValueError, IndexError):
            # nlpaug fails on some tiny inputs (e.g. crop of a one-word text samples from an
            # empty range); such an example stays as it is.
            return text
        result = result[0] if isinstance(result, list) else result
        if not result or not result.strip() or not self.protected_ok(text, result):
            return text
        return result

    def protected_ok(self, before: str, after: str) -> bool:
        """Every occurrence of a protected word in `before` is still in `after`, spelt alike."""
        for pattern in self.protected_patterns:
            kept = Counter(pattern.findall(after))
            if any(kept[spelling] < count
                   for spelling, count in Counter(pattern.findall(before)).items()):
                return False
        return True

    def cap(self, text: str) -> str:
        if self.max_words is None:
            return text
        words = text.split()
        return " ".join(words[:self.max_words]) if len(words) > self.max_words else text


# ----------------------------------------------------------------------------- the transform


class AugmentThenTokenize:
    """The train split's batched transform: augment the text columns, then tokenize.

    Runs inside `Dataset.__getitems__`, so every time the DataLoader reads a batch it gets fresh
    variants for the current epoch (set by toolkit.augment.epoch.TransformEpochCallback before
    each epoch's DataLoader iterator, and so its worker processes, is created).
    """

    def __init__(self, augmenter: TextAugmenter, tokenize: Callable[[dict], Any],
                 text_columns: list[str], label_column: str):
        self.augmenter = augmenter
        self.tokenize = tokenize
        self.text_columns = text_columns
        self.label_column = label_column
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def augment_columns(self, batch: dict[str, list], epoch: int) -> dict[str, list]:
        out = dict(batch)
        for salt, column in enumerate(self.text_columns):
            out[column] = self.augmenter.augment_batch(batch[column], batch[INDEX_COLUMN],
                                                       epoch, salt)
        return out

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        augmented = self.augment_columns(batch, self.epoch)
        features = dict(self.tokenize(augmented))
        features["labels"] = batch[self.label_column]
        return features


def lazily_augmented(dataset: Any, transform: AugmentThenTokenize) -> Any:
    """`dataset` reduced to its text and label columns plus a row index, with the transform set."""
    keep = transform.text_columns + [transform.label_column]
    indexed = dataset.select_columns(keep).add_column(INDEX_COLUMN, list(range(len(dataset))))
    return indexed.with_transform(transform)
