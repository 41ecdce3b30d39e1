"""WordNet for nltk without a network: find it where nltk would, else build it from Debian's.

nltk reads WordNet from `<nltk_data>/corpora/wordnet/`. Debian's `wordnet-base` and
`wordnet-sense-index` packages install the same WordNet 3.0 database under /usr/share/wordnet,
minus one file nltk insists on: `lexnames`, the table of the 45 lexicographer files. That table
is fixed (it is printed in the lexnames(5WN) man page), so it is written here; the other files
are copied (about 36 MB, once) from the Debian folder. Links do not work: nltk >= 3.10 refuses
symbolic links that resolve outside the corpus root and any file with more than one hard link.
The folder lives in the toolkit's cache and is prepended to `nltk.data.path`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from toolkit.core.errors import UserError

DEBIAN_WORDNET = Path("/usr/share/wordnet")

# The files nltk's WordNetCorpusReader opens (its _FILES), all shipped by the Debian packages.
NLTK_WORDNET_FILES = (
    "cntlist.rev",
    "index.sense",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.verb",
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
)

# lexnames(5WN), WordNet 3.0: file number, lexicographer file name, syntactic category
# (1 noun, 2 verb, 3 adjective, 4 adverb). Synset records point into this table by number.
LEXNAMES = (
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
)
CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

INSTALL_HINT = (
    "Install WordNet for it, either from Debian/Ubuntu packages (no network needed at run "
    "time): `sudo apt-get install wordnet-base wordnet-sense-index`, or with nltk where the "
    "network is reachable: `python -c \"import nltk; nltk.download('wordnet')\"`. Or leave "
    "`synonym` out of augment.text (list the operations you want instead of `trivial`)."
)


def cache_dir() -> Path:
    """The toolkit's cache: $FTK_CACHE, else $XDG_CACHE_HOME/ftk, else ~/.cache/ftk."""
    if os.environ.get("FTK_CACHE"):
        return Path(os.environ["FTK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ftk"


def lexnames_text() -> str:
    lines = [f"{i:02d}\t{name}\t{CATEGORY[name.split('.')[0]]}" for i, name in enumerate(LEXNAMES)]
    return "\n".join(lines) + "\n"


def nltk_has_wordnet() -> bool:
    import nltk

    for name in ("corpora/wordnet", "corpora/wordnet.zip"):
        try:
            nltk.data.find(name)
            return True
        except LookupError:
            continue
    return False


def debian_wordnet_present(source: Path) -> bool:
    return all((source / name).is_file() for name in NLTK_WORDNET_FILES)


def build_nltk_folder(source: Path, nltk_data: Path) -> Path:
    """nltk_data/corpora/wordnet holding copies of `source`'s files and the lexnames table.

    Built in a private temporary folder and renamed into place, so processes that start
    together (one per GPU) never read a half-written folder.
    """
    folder = nltk_data / "corpora" / "wordnet"
    if (folder / "lexnames").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="wordnet-", dir=folder.parent))
    for name in NLTK_WORDNET_FILES:
        shutil.copyfile(source / name, staging / name)
    (staging / "lexnames").write_text(lexnames_text())
    try:
        staging.rename(folder)
    except OSError:  # another process finished first (or a stale partial folder is there)
        if not (folder / "lexnames").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)
            return folder
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def ensure_wordnet(cache: Path | None = None, source: Path | None = None) -> None:
    """Make `nltk.corpus.wordnet` loadable, or raise a UserError that says how to install it."""
    import nltk

    source = source or DEBIAN_WORDNET
    if nltk_has_wordnet():
        return
    if not debian_wordnet_present(source):
        raise UserError(
            f"The `synonym` text augmenter needs WordNet, and neither nltk's data "
            f"folders ({', '.join(nltk.data.path[:3])}, ...) nor {source} hold it. "
            f"{INSTALL_HINT}"
        )
    nltk_data = (cache or cache_dir()) / "nltk_data"
    build_nltk_folder(source, nltk_data)
    if str(nltk_data) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_data))


def load_wordnet(cache: Path | None = None, source: Path | None = None):
    """nltk's WordNet reader, built from the Debian files when nltk has none."""
    ensure_wordnet(cache, source)
    import warnings

    from nltk.corpus import wordnet

    with warnings.catch_warnings():  # "multilingual functions are not available": English only
        warnings.simplefilter("ignore")
        wordnet.ensure_loaded()
    return wordnet
