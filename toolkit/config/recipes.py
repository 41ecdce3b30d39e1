"""The recipes the package ships, found by name from any folder.

They live in the top-level `configs/` folder of a checkout; a wheel installs that folder as
`toolkit/configs` (pyproject.toml's package-dir), so both places are looked at, the installed
one first.

`ftk train --config vit-fashion-mnist` reads the packaged recipe when no file of that name
exists where ftk runs; `ftk recipes` lists them, `ftk recipes copy NAME [DEST]` writes one out
to edit. The accelerate configs are recipes too (`accelerate/fsdp`), so `accelerate launch
--config_file "$(ftk recipes path accelerate/fsdp)"` works after a `pip install`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from toolkit.core.errors import UserError, did_you_mean


def recipes_folder() -> Path:
    """toolkit/configs in an installed wheel, else configs/ beside the package (a checkout, or
    an editable install of one)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "configs"
    return installed if installed.is_dir() else package.parent / "configs"


RECIPES = recipes_folder()
DEFAULT_RECIPE = RECIPES / "text-bbc-minilm.yaml"  # what `ftk train` with no --config runs


def packaged_recipes() -> dict[str, Path]:
    """Name ('vit-fashion-mnist', 'accelerate/fsdp') -> the packaged file."""
    return {
        path.relative_to(RECIPES).with_suffix("").as_posix(): path
        for path in sorted(RECIPES.rglob("*.yaml"))
    }


def find_recipe(given: str | Path) -> Path:
    """A file path as given when it exists; else the packaged recipe of that name (with or
    without .yaml, with or without a leading configs/); else the path as given, so that
    reading it names the missing file."""
    path = Path(given)
    if path.exists():
        return path
    name = path.as_posix().removeprefix("configs/").removesuffix(".yaml")
    return packaged_recipes().get(name, path)


def recipe_path(name: str) -> Path:
    """The packaged recipe called `name`, or a UserError listing them."""
    recipes = packaged_recipes()
    found = find_recipe(name)
    if found not in recipes.values():
        raise UserError(
            f"No packaged recipe named '{name}'; they are: {', '.join(recipes)}."
            f"{did_you_mean(name, list(recipes))}"
        )
    return found


def first_comment_line(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def describe_recipes() -> str:
    """One line per packaged recipe: its name and the first line of its comment."""
    recipes = packaged_recipes()
    width = max(len(name) for name in recipes)
    return "\n".join(
        f"{name:<{width}}  {first_comment_line(path)}" for name, path in recipes.items()
    )


def copy_recipe(name: str, destination: Path | None, overwrite: bool) -> Path:
    """Write the packaged recipe `name` to `destination` (a file, or a folder to put it in;
    default: the working directory), never over an existing file unless `overwrite`."""
    source = recipe_path(name)
    target = destination if destination is not None else Path(source.name)
    if target.is_dir():
        target = target / source.name
    if target.exists() and not overwrite:
        raise UserError(f"'{target}' exists; pass --force to replace it, or name another file.")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
