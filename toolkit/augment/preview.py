"""What `ftk augment` shows: training examples beside the variants the train transform makes.

Text: each example's original, then K variants (variant k is what epoch k of a training run
would see), with changed words marked `[[new]]` and deleted ones `[[-old]]`.
Images: a PNG grid, one row per example: the original, then K variants; with MixUp/CutMix on,
a second grid of K mixed training batches made of the same examples, and their soft labels.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.augment.text import INDEX_COLUMN, AugmentThenTokenize, example_seed

if TYPE_CHECKING:
    import datasets

MARK_OPEN, MARK_CLOSE = "[[", "]]"


def mark_changes(original: str, variant: str) -> str:
    """`variant` with the words that differ from `original` wrapped in [[...]] (a word diff)."""
    before, after = original.split(), variant.split()
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            out += after[b0:b1]
        elif op == "delete":
            out.append(f"{MARK_OPEN}-{' '.join(before[a0:a1])}{MARK_CLOSE}")
        else:  # replace, insert
            out.append(f"{MARK_OPEN}{' '.join(after[b0:b1])}{MARK_CLOSE}")
    return " ".join(out)


def first_words(text: str, count: int) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" ..." if len(words) > count else "")


def text_preview(
    transform: AugmentThenTokenize,
    dataset: datasets.Dataset,
    column: str,
    label_names: list[str],
    n: int,
    k: int,
    words: int = 60,
    width: int = 100,
) -> str:
    """The printed preview of `n` rows of `dataset` (the lazily augmented train split).

    `transform` is that split's AugmentThenTokenize; its augment step runs for epochs 0..k-1,
    exactly as training would run it. Only the first `words` words are shown.
    """
    rows = dataset.with_format(None)[:n]  # the stored text, without the tokenizing transform
    blocks = []
    for row in range(len(rows[column])):
        one = {key: values[row : row + 1] for key, values in rows.items()}
        original = one[column][0] or ""
        value = one[transform.label_column][0]
        label = label_names[value] if label_names else f"{value:g}"  # [] : a numeric target
        lines = [f"#{one[INDEX_COLUMN][0]}  label: {label}"]
        lines += wrapped("original", first_words(original, words), width)
        for epoch in range(k):
            variant = transform.augment_columns(one, epoch)[column][0] or ""
            shown = first_words(mark_changes(original, variant), words)
            lines += wrapped(f"variant {epoch + 1}", shown, width)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def wrapped(title: str, text: str, width: int) -> list[str]:
    head = f"  {title:<10} "
    return textwrap.wrap(
        text, width=width, initial_indent=head, subsequent_indent=" " * len(head)
    ) or [head]


# ----------------------------------------------------------------------------- images


def to_pil(image: Any) -> Any:
    """A PIL image from what a train transform returns (PIL, or a CxHxW tensor/array).

    Tensors are usually normalized (mean/std), so each is rescaled to its own min..max for
    display; the picture shows what changed, not the exact pixel values the model sees.
    """
    import numpy as np
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    array = image.detach().cpu().float().numpy() if hasattr(image, "detach") else np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = array.transpose(1, 2, 0)
    array = array.astype("float32")
    low, high = float(array.min()), float(array.max())
    array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    array = (array * 255).round().astype("uint8")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(array).convert("RGB")


def image_grid(
    images: list[Any],
    transform: Callable[[Any], Any],
    k: int,
    path: Path,
    cell: int = 96,
    pad: int = 2,
    seed: int = 0,
) -> Path:
    """PNG grid: row i = images[i] then k outputs of `transform`; returns `path`.

    Size: width (k + 1) * (cell + pad) + pad, height len(images) * (cell + pad) + pad.
    torch's generator is seeded per (seed, row, variant) so a preview is reproducible.
    """
    import torch

    rows = []
    saved = torch.get_rng_state()
    try:
        for row, image in enumerate(images):
            tiles = [to_pil(image)]
            for variant in range(k):
                torch.manual_seed(example_seed(seed, variant, row))
                tiles.append(to_pil(transform(image)))
            rows.append(tiles)
    finally:
        torch.set_rng_state(saved)
    return paste_grid(rows, path, cell, pad)


def mixed_grid(
    images: list[Any],
    labels: list[int],
    transform: Callable[[Any], Any],
    mix: Callable[[Any, Any], tuple[Any, Any]],
    k: int,
    path: Path,
    cell: int = 96,
    pad: int = 2,
    seed: int = 0,
) -> tuple[Path, list[Any]]:
    """PNG grid of k training batches made of `images`: row i = images[i], then image i of each
    batch after `transform` (per image) and `mix` (MixUp / CutMix of the batch: image i with
    image i - 1, the first with the last), as the train collator mixes them. Returns the path
    and each batch's labels (soft when mixed, class ids when the draw left it unmixed)."""
    import torch

    batches, batch_labels = [], []
    saved = torch.get_rng_state()
    try:
        for variant in range(k):
            torch.manual_seed(example_seed(seed, variant, 0))
            stacked = torch.stack([transform(image) for image in images])
            pixels, mixed_labels = mix(stacked, torch.tensor(labels))
            batches.append(pixels)
            batch_labels.append(mixed_labels)
    finally:
        torch.set_rng_state(saved)
    rows = [
        [to_pil(image)] + [to_pil(pixels[row]) for pixels in batches]
        for row, image in enumerate(images)
    ]
    return paste_grid(rows, path, cell, pad), batch_labels


def label_mixture(labels: Any, row: int, label_names: list[str]) -> str:
    """`Coat 0.63 + Shirt 0.37` for a soft label row; the name alone for a class id."""
    if labels.ndim == 1:
        return label_names[int(labels[row])]
    weights = [(w, label_names[c]) for c, w in enumerate(labels[row].tolist()) if w >= 0.005]
    return " + ".join(f"{name} {w:.2f}" for w, name in sorted(weights, reverse=True))


def paste_grid(rows: list[list[Any]], path: Path, cell: int, pad: int) -> Path:
    """The tiles (PIL images), row by row, each resized to cell x cell, into one PNG."""
    from PIL import Image

    width = max(len(tiles) for tiles in rows) * (cell + pad) + pad
    height = len(rows) * (cell + pad) + pad
    grid = Image.new("RGB", (width, height), "white")
    for row, tiles in enumerate(rows):
        for col, tile in enumerate(tiles):
            tile = tile.resize((cell, cell), Image.Resampling.NEAREST)
            grid.paste(tile, (pad + col * (cell + pad), pad + row * (cell + pad)))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    return path
