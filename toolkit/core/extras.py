"""The distribution ftk installs as, and its optional parts (pip's extras).

The package index already holds other projects named `ftk` and `toolkit`, so ftk's
distribution is `ftk-finetune`: `pip install ftk-finetune` installs the `ftk` command and the
`toolkit` import package. What only some runs use is an extra of it (pyproject.toml's
optional-dependencies), imported only when that feature runs, so that the core install stays
small; a run that needs a missing one stops before any work with a UserError that gives the
pip command (`require_extra`).
"""

from __future__ import annotations

import importlib.util

from toolkit.core.errors import UserError

DISTRIBUTION = "ftk-finetune"

# extra -> the module whose absence means it is not installed
EXTRA_MODULES = {
    "image": "torchvision",
    "search": "optuna",
    "augment": "nlpaug",
}


def pip_install(extra: str) -> str:
    """The command that installs ftk with `extra` (quoted: a shell would read the brackets)."""
    return f'pip install "{DISTRIBUTION}[{extra}]"'


def installed(module: str) -> bool:
    """Whether `module` can be imported, asked without importing it (None in sys.modules, a
    test's way to hide a package, reads as absent)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a spec-less module
        return False


def require_extra(
    extra: str, feature: str, modules: tuple[str, ...] = (), otherwise: str = ""
) -> None:
    """`feature` (what the user asked for, e.g. `ftk search`) needs `extra`: say how to
    install it when its module (or one of `modules`) is missing; `otherwise`: the way
    around it, a sentence."""
    missing = [m for m in (EXTRA_MODULES[extra], *modules) if not installed(m)]
    if missing:
        raise UserError(
            f"{feature} needs the '{extra}' extra of ftk ({', '.join(missing)}), which is not "
            f"installed. Install it with: {pip_install(extra)}  (in a clone of the repository: "
            f'pip install -e ".[{extra}]", or `make install`, which installs every extra).'
            + (f" {otherwise}" if otherwise else "")
        )
