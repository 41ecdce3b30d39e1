"""Recipes: the schema of every key (with its --help text), YAML + overrides -> `RunConfig`,
and the checks that span keys."""
