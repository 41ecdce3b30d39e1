"""Checkpoints: safe loading, models built from sizes, the encoder-transfer checks, packaged
models."""
