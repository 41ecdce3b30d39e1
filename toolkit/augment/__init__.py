"""Train-split augmentation, applied lazily so every epoch sees fresh variants.

`image.py` (torchvision.transforms.v2) and `text.py` (nlpaug). Submodules are imported where
they are used, so loading one never pulls in the other's dependencies.
"""
