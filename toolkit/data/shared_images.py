"""One image file reached from two class folders: a class folder that is a link to another, an
image linked (symbolic or hard link) into a second class, would put the same pixels under two
labels, a contradiction the model is then trained on and scored against. It is refused, with
both folders named, before any image is decoded.

A file is known by its device and inode (`os.stat`, which follows links), so every kind of
link is caught whatever its path spells; an image in one class twice is not a merge and is
left alone. One stat per image: time grows with the number of images, memory with their paths.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from toolkit.core.errors import UserError


def refuse_shared_images(
    root: Path, classes: Mapping[str, Sequence[str | Path]], where: str
) -> None:
    """Raise when a file under `root/<class>` is also under another class's folder."""
    owner: dict[tuple[int, int], tuple[str, Path]] = {}
    for name, files in classes.items():
        for file in map(Path, files):
            stat = os.stat(file)
            first_name, first_file = owner.setdefault((stat.st_dev, stat.st_ino), (name, file))
            if first_name != name:
                raise UserError(shared_message(root, (first_name, first_file), (name, file), where))


def shared_message(
    root: Path, first: tuple[str, Path], second: tuple[str, Path], where: str
) -> str:
    (a, a_file), (b, b_file) = first, second
    return (
        f"{where}: the class folders '{root / a}' and '{root / b}' hold the same image "
        f"file ({how_linked(root, a_file, b_file)}), so it would carry two labels, "
        f"'{a}' and '{b}'. Remove the link and give each class its own images (an "
        f"image of several classes needs task: image-multilabel)."
    )


def how_linked(root: Path, a_file: Path, b_file: Path) -> str:
    """Which link joins the two: a folder or file on either path, else a hard link."""
    for file in (b_file, a_file):
        link = first_link(root, file)
        if link is not None:
            return f"'{link}' is a link to '{os.readlink(link)}'"
    return f"'{a_file}' and '{b_file}' are hard links to one file"


def first_link(root: Path, file: Path) -> Path | None:
    """The first symbolic link on the way from `root` down to `file` (a class folder, a
    folder inside it, or the file itself)."""
    path = root
    for part in file.relative_to(root).parts:
        path = path / part
        if path.is_symlink():
            return path
    return None
