"""Cheap baselines on the transformer's own splits: what they are, how they are fitted and
scored, and baseline.json."""
