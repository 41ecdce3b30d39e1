"""A finished run as a model: `ftk predict` and `ftk evaluate`."""
