"""Train-split augmentation, applied lazily so every epoch sees fresh variants (validation and
test never change).

Modules: `image` (torchvision.transforms.v2 pipelines), `text` (nlpaug operations, the `trivial`
policy, the seeded train transform), `wordnet` (WordNet for nltk, offline), `epoch` (tells a
train transform which epoch runs), `preview` (what `ftk augment` prints and draws). Import the
one you need: nothing is loaded eagerly here, because nlpaug and torchvision are slow to import.
"""
