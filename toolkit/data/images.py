"""Image sources and checks: class-folder trees, path listings, and unreadable files.

- `load_image_folder(root)`: root/<class>/<image> -> Dataset(image: Image, label: ClassLabel).
  Hidden folders and files (.ipynb_checkpoints, .DS_Store) are never data; a subfolder without
  images is not a class, with a warning; one image file under two class folders (a linked
  folder or file) is refused (data/shared_images.py).
- `resolve_image_paths(ds, column, base)`: a CSV/JSON column of paths -> an `Image` column
  (relative paths are read from the listing file's folder); missing files are listed.
- `check_image_column(ds, column, policy)`: decode every image once before training, so a corrupt
  file stops the run at once (policy "error", with the list) or is dropped (policy "skip").
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import datasets
from PIL import Image

from toolkit.core.columns import column_values
from toolkit.core.errors import UserError
from toolkit.core.image_mode import to_mode
from toolkit.core.log import warn
from toolkit.data.shared_images import refuse_shared_images

IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".ppm",
    ".pgm",
)  # what training reads is what `ftk predict` and `ftk evaluate` find


SHOWN = 10  # paths listed in an error message before "... and N more"


def list_paths(paths: list[str]) -> str:
    shown = ", ".join(paths[:SHOWN])
    return shown + (f" ... and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def visible(path: Path, root: Path) -> bool:
    """False for anything inside a hidden folder or named like a hidden file (.DS_Store,
    .ipynb_checkpoints): tools leave them in data folders, and they are never data."""
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def subfolder_images(root: Path, key: str) -> dict[str, list[str]]:
    """Every visible subfolder of `root` -> its sorted image paths (empty when it has none)."""
    if not root.is_dir():
        raise UserError(
            f"{key} '{root}' is not a folder; give a folder with one subfolder of "
            f"images per class (e.g. {root}/cat/1.jpg, {root}/dog/2.jpg)."
        )
    subs = sorted(p for p in root.iterdir() if p.is_dir() and visible(p, root))
    return {sub.name: [str(f) for f in image_files(sub)] for sub in subs}


def class_folders(root: Path, key: str) -> dict[str, list[str]]:
    """Class name -> sorted image paths, for every subfolder of `root` that holds images."""
    return {name: files for name, files in subfolder_images(root, key).items() if files}


def warn_imageless(root: Path, key: str, folders: dict[str, list[str]], is_train: bool) -> None:
    """A subfolder without images is not a class; say so rather than let it vanish."""
    empty = [name for name, files in folders.items() if not files]
    if len(empty) == len(folders):
        return  # nothing holds images: load_image_folder's error says so
    for name in empty:
        gives = "" if is_train else f", and this split gets no examples of '{name}'"
        warn(
            f"{key}: folder '{root / name}' holds no image files "
            f"({', '.join(IMAGE_SUFFIXES)}), so it is not a class{gives}."
        )


def load_image_folder(root: Path, key: str, is_train: bool) -> datasets.Dataset:
    folders = subfolder_images(root, key)
    warn_imageless(root, key, folders, is_train)
    classes = {name: files for name, files in folders.items() if files}
    if is_train and len(classes) < 2:
        loose = [p.name for p in root.iterdir() if p.is_file() and visible(p, root)][:3]
        found = (
            f"only the class folder '{next(iter(classes))}'"
            if classes
            else "no subfolders with images"
            + (f" (loose files such as {', '.join(loose)})" if loose else "")
        )
        raise UserError(
            f"{key} '{root}' holds {found}; classification needs one subfolder of "
            f"images per class and at least two classes, e.g. {root}/cat/*.jpg and "
            f"{root}/dog/*.jpg."
        )
    if not classes:
        raise UserError(
            f"{key} '{root}' holds no subfolders with images; give one subfolder "
            f"per class, named like those of data.train_dir."
        )
    refuse_shared_images(root, classes, f"{key} '{root}'")
    paths = [p for files in classes.values() for p in files]
    labels = [name for name, files in classes.items() for _ in files]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("string")})
    return datasets.Dataset.from_dict({"image": paths, "label": labels}, features=features)


def resolve_image_paths(
    dataset: datasets.Dataset, column: str, base: Path, where: str
) -> datasets.Dataset:
    """A column of file paths -> an Image column; every listed file must exist."""
    if isinstance(dataset.features[column], datasets.Image):
        return dataset
    values = dataset[column]
    bad_type = [i + 1 for i, v in enumerate(values) if not isinstance(v, str) or not v.strip()]
    if bad_type:
        raise UserError(
            f"Column '{column}' of the {where} should hold image file paths, but "
            f"rows {', '.join(map(str, bad_type[:SHOWN]))} are empty or not text. "
            f"Fix those rows, or point data.image_column at the path column."
        )
    resolved = [str(p if p.is_absolute() else base / p) for p in map(Path, values)]
    missing = [v for v, r in zip(values, resolved, strict=False) if not os.path.isfile(r)]
    if missing:
        raise UserError(
            f"Column '{column}' of the {where} lists {len(missing)} image file(s) "
            f"that do not exist: {list_paths(missing)}. Relative paths are read from "
            f"the folder of the listing file ({base}); fix the paths or the files."
        )
    dataset = dataset.remove_columns(column).add_column(column, resolved)
    return dataset.cast_column(column, datasets.Image())


def image_problem(item: dict[str, Any]) -> str | None:
    """Why the stored image cannot be decoded, or None when it can."""
    try:
        source = io.BytesIO(item["bytes"]) if item.get("bytes") else item["path"]
        with Image.open(source) as image:
            # draft() lets JPEG decode at a reduced scale: every byte is still read (so
            # truncation is caught) at a fraction of the cost of a full decode.
            image.draft("RGB", (64, 64))
            image.load()
        return None
    except Exception as exc:  # PIL raises many types; any of them means "unreadable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()


def check_image_column(
    dataset: datasets.Dataset, column: str, policy: str, where: str
) -> tuple[datasets.Dataset, list[str]]:
    """Decode every image once; returns the readable rows and the names of the bad ones.

    policy "error" raises with the list of bad files; "skip" drops them.
    """
    raw = column_values(dataset.cast_column(column, datasets.Image(decode=False)), column)
    with ThreadPoolExecutor(max_workers=4) as pool:  # PIL decoding releases the GIL
        problems = list(pool.map(image_problem, raw))
    bad = [i for i, problem in enumerate(problems) if problem]
    names = [raw[i].get("path") or f"row {i + 1}" for i in bad]
    if bad and policy == "error":
        details = "; ".join(f"{names[k]} ({problems[i]})" for k, i in enumerate(bad[:SHOWN]))
        raise UserError(
            f"The {where} has {len(bad)} image(s) that cannot be read: {details}"
            f"{' ...' if len(bad) > SHOWN else ''}. Replace or delete them, or set "
            f"data.bad_images: skip to train without them."
        )
    if bad:
        keep = sorted(set(range(len(dataset))) - set(bad))
        dataset = dataset.select(keep)
    return dataset, names


def image_files(folder: Path) -> list[Path]:
    """Every visible image under `folder` (recursively), in sorted order."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and visible(p, folder)
    )


def check_image_files(paths: Sequence[Path]) -> None:
    """Open every image before any work, so a bad file fails the run with the full list."""
    from PIL import Image

    bad = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.verify()
        except Exception as exc:  # PIL raises many types for broken files
            bad.append(f"{path} ({type(exc).__name__})")
    if bad:
        listed = "; ".join(bad[:10]) + (f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise UserError(
            f"{len(bad)} image file(s) could not be read: {listed}. Remove or "
            f"replace them and run again."
        )


def read_image(path: Path, mode: str) -> Any:
    """The image at `path` in the model's mode ("L" or "RGB"), converted as in training."""
    with Image.open(path) as image:
        image.load()
        return to_mode(image, mode)
