"""Data sources -> labelled (or unlabelled) train/validation/test splits, held out with the
one split seed."""
