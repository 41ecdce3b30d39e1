"""The `ftk` command line: parses arguments and hands them to the functions that do the work.

    ftk train [--config FILE] [--print-config] [--overwrite] [--KEY VALUE ...]
    ftk augment [--config FILE] [--n N] [--k K] [--output PNG] [--KEY VALUE ...]

Any `--KEY VALUE` not listed above overrides the config: TrainingArguments fields and top-level
keys by name (`--learning_rate 5e-5`), section keys dotted (`--model.name_or_path DIR`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from toolkit.errors import UserError

RECIPES = Path(__file__).parent / "configs"
DEFAULT_RECIPE = RECIPES / "text-bbc-minilm.yaml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftk", description="Fine-tune transformers the way experts do, with one command.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_train_command(commands)
    add_augment_command(commands)
    return parser


def add_config_arguments(command: argparse.ArgumentParser) -> None:
    """--config, shared by every subcommand that reads a recipe; leftovers become overrides."""
    command.add_argument("--config", type=Path, default=None,
                         help=f"YAML recipe (default: the embedded {DEFAULT_RECIPE.name})")


def add_train_command(commands: Any) -> None:
    from toolkit.config import describe_keys

    train = commands.add_parser(
        "train", allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
        help="fine-tune a model (no arguments: the embedded default recipe)",
        description="Fine-tune a model. Without --config, runs the embedded default recipe "
                    f"({DEFAULT_RECIPE.name}).",
        epilog="Overrides: --KEY VALUE for any transformers.TrainingArguments field or top-level "
               "key (task, metrics), --SECTION.KEY VALUE for these section keys:\n"
               + describe_keys())
    add_config_arguments(train)
    train.add_argument("--print-config", action="store_true",
                       help="print the resolved, validated config and exit without training")
    train.add_argument("--overwrite", action="store_true",
                       help="delete an existing non-empty output_dir and start again")
    train.set_defaults(handler=run_train)


def add_augment_command(commands: Any) -> None:
    augment = commands.add_parser(
        "augment", allow_abbrev=False,
        help="show training examples beside their augmented variants (text: printed; "
             "images: a PNG grid)",
        description="Run the train transform of a config on a few training examples and show "
                    "the originals beside K variants (variant k is what epoch k of training "
                    "sees). Text: changed words are marked [[new]], deleted ones [[-old]]. "
                    "Overrides (--augment.text trivial, ...) work as for `ftk train`.")
    add_config_arguments(augment)
    augment.add_argument("--n", type=int, default=5, help="training examples to show (default 5)")
    augment.add_argument("--k", type=int, default=3, help="variants of each (default 3)")
    augment.add_argument("--words", type=int, default=60,
                         help="text: words shown of each example (default 60)")
    augment.add_argument("--output", type=Path, default=Path("augment-preview.png"),
                         help="images: where the PNG grid goes (default augment-preview.png)")
    augment.set_defaults(handler=run_augment)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, overrides = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args, overrides)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def load_recipe(args: argparse.Namespace, overrides: list[str]) -> Any:
    from toolkit.config import load_config

    return load_config(args.config or DEFAULT_RECIPE, overrides)


def run_train(args: argparse.Namespace, overrides: list[str]) -> int:
    config = load_recipe(args, overrides)
    if args.print_config:
        print(config.to_yaml(), end="")
        return 0
    from toolkit.run import train

    train(config, overwrite=args.overwrite)
    return 0


def run_augment(args: argparse.Namespace, overrides: list[str]) -> int:
    if args.n < 1 or args.k < 1:
        raise UserError(f"--n and --k must be at least 1 (got --n {args.n} --k {args.k}).")
    config = load_recipe(args, overrides)
    from toolkit.augment.run import preview

    print(preview(config, n=args.n, k=args.k, words=args.words, output=args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
