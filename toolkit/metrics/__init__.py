"""Metric code shared by the Trainer, the baselines and `ftk evaluate`, and the test-split
report."""
