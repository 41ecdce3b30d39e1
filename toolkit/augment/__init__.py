"""Augmentation applied lazily to the training split only (validation and test never change).

Modules: `text` (nlpaug operations, the `trivial` policy, the seeded train transform),
`wordnet` (WordNet for nltk, offline), `epoch` (tells a train transform which epoch runs),
`preview` (what `ftk augment` prints and draws). Import the one you need: nothing is loaded
eagerly here, because nlpaug and torchvision are slow to import.
"""
