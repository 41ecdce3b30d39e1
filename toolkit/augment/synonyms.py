"""WordNet synonym replacement that works offline and without nltk's part-of-speech tagger.

nlpaug's SynonymAug tags every text with `nltk.pos_tag`, which needs the tagger resource
`averaged_perceptron_tagger` (nltk >= 3.9 renamed it, so nlpaug fails even online), and on a
LookupError it calls `nltk.download`. This subclass keeps nlpaug's word selection, sampling,
capitalisation and stopwords, and swaps the model for one that

- finds WordNet through toolkit.augment.wordnet (nltk's folders, else Debian's files),
- does no POS tagging: a word's candidates are the lemmas of all its synsets, nouns, verbs,
  adjectives and adverbs alike, so "report" (noun) may become "describe" (verb), and no word
  sense is chosen ("bank" may become "depository financial institution" or "cant"),
- never touches a short list of English function words (nlpaug skips only determiners, via
  the tag the tagger would give),
- only counts words that have a synonym as candidates, so `strength` is the fraction of
  replaceable words actually replaced rather than a draw that often lands on nothing.
"""

from __future__ import annotations

from functools import lru_cache

from nlpaug.augmenter.word import SynonymAug

from toolkit.augment.wordnet import load_wordnet

FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "some",
        "any",
        "each",
        "every",
        "no",
        "all",
        "both",
        "either",
        "neither",
        "i",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "yours",
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "it",
        "its",
        "we",
        "us",
        "our",
        "ours",
        "they",
        "them",
        "their",
        "theirs",
        "who",
        "whom",
        "whose",
        "which",
        "what",
        "where",
        "when",
        "why",
        "how",
        "be",
        "am",
        "is",
        "are",
        "was",
        "were",
        "been",
        "being",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "and",
        "or",
        "but",
        "nor",
        "so",
        "yet",
        "if",
        "then",
        "than",
        "because",
        "as",
        "while",
        "although",
        "though",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "out",
        "off",
        "over",
        "under",
        "again",
        "further",
        "once",
        "here",
        "there",
        "not",
    ]
)

SKIP = "DT"  # the tag nlpaug's SynonymAug.skip_aug leaves out


class OfflineWordNet:
    """The `model` SynonymAug expects: pos_tag(tokens) and predict(word, pos)."""

    def __init__(self):
        self.wordnet = load_wordnet()

    def pos_tag(self, tokens: list[str]) -> list[tuple[str, str]]:
        # "" maps to no part of speech, so predict() looks in all four.
        return [(t, SKIP if self.skipped(t) else "") for t in tokens]

    def skipped(self, token: str) -> bool:
        return token.lower() in FUNCTION_WORDS or not token.isalpha() or not self.predict(token)

    def predict(self, word: str, pos: str | None = None) -> list[str]:
        return list(synonyms(self.wordnet, word.lower(), pos))


@lru_cache(maxsize=200_000)
def _synonyms(wordnet, word: str, pos: str | None) -> tuple[str, ...]:
    names = []
    for synset in wordnet.synsets(word, pos=pos):
        for lemma in synset.lemmas():
            name = lemma.name()
            if name.lower() != word and name not in names:
                names.append(name)
    return tuple(names)


def synonyms(wordnet, word: str, pos: str | None = None) -> tuple[str, ...]:
    """WordNet lemma names sharing a synset with `word` (itself excluded), cached."""
    return _synonyms(wordnet, word, pos)


class OfflineSynonymAug(SynonymAug):
    def __init__(self, **kwargs):
        super().__init__(aug_src="wordnet", lang="eng", **kwargs)

    @classmethod
    def get_model(cls, aug_src, lang, dict_path, force_reload):
        return OfflineWordNet()
