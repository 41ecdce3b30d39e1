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
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.config.text_policy import OPERATIONS, Step, TextPolicy

if TYPE_CHECKING:
    import datasets

INDEX_COLUMN = "_ftk_index"  # row number in the train split; seeds that row's augmentation


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
    char = {
        "aug_char_min": 1,
        "aug_char_max": 2,
        "aug_word_min": 1,
        "aug_word_max": None,
        "stopwords": protected or None,
    }
    word = {"aug_min": 1, "aug_max": None, "stopwords": protected or None}
    if name == "keyboard":
        return nac.KeyboardAug(include_special_char=False, include_numeric=False, **char)
    if name == "ocr":
        return nac.OcrAug(**char)
    if name.startswith("char_"):
        return nac.RandomCharAug(action=name[len("char_") :], include_numeric=False, **char)
    if name in ("word_swap", "word_delete", "word_crop"):
        return naw.RandomWordAug(action=name[len("word_") :], **word)
    if name == "spelling":
        return naw.SpellingAug(**word)
    if name == "synonym":
        # Lazy: synonyms.py subclasses nlpaug's SynonymAug, whose module takes seconds to import.
        from toolkit.augment.synonyms import OfflineSynonymAug

        return OfflineSynonymAug(**word)
    if name == "word_split":
        return naw.SplitAug(**word)
    if name == "sentence_shuffle":
        return nas.RandomSentAug(mode="neighbor", aug_min=1, aug_max=None, tokenizer=sentence_split)
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
        self.protected_patterns = [
            re.compile(rf"(?<!\w){w}(?!\w)", re.IGNORECASE) for w in protected
        ]
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

    def augment_batch(
        self, texts: list[str | None], indices: list[int], epoch: int, salt: int = 0
    ) -> list[str | None]:
        saved = random.getstate(), np.random.get_state()
        try:
            return [self.augment(t, i, epoch, salt) for t, i in zip(texts, indices, strict=False)]
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
            if any(
                kept[spelling] < count
                for spelling, count in Counter(pattern.findall(before)).items()
            ):
                return False
        return True

    def cap(self, text: str) -> str:
        if self.max_words is None:
            return text
        words = text.split()
        return " ".join(words[: self.max_words]) if len(words) > self.max_words else text


class AugmentThenTokenize:
    """The train split's batched transform: augment the text columns, then tokenize.

    Runs inside `Dataset.__getitems__`, so every time the DataLoader reads a batch it gets fresh
    variants for the current epoch (set by toolkit.augment.epoch.TransformEpochCallback before
    each epoch's DataLoader iterator, and so its worker processes, is created).
    """

    def __init__(
        self,
        augmenter: TextAugmenter,
        tokenize: Callable[[dict], Any],
        text_columns: list[str],
        label_column: str,
    ):
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
            out[column] = self.augmenter.augment_batch(
                batch[column], batch[INDEX_COLUMN], epoch, salt
            )
        return out

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        augmented = self.augment_columns(batch, self.epoch)
        features = dict(self.tokenize(augmented))
        features["labels"] = batch[self.label_column]
        return features


def lazily_augmented(dataset: datasets.Dataset, transform: AugmentThenTokenize) -> datasets.Dataset:
    """`dataset` reduced to its text and label columns plus a row index, with the transform set."""
    keep = [*transform.text_columns, transform.label_column]
    indexed = dataset.select_columns(keep).add_column(INDEX_COLUMN, list(range(len(dataset))))
    return indexed.with_transform(transform)
