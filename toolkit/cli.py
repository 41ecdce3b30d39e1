"""The `ftk` command line: parses arguments and hands them to the functions that do the work.

    ftk train [--config FILE] [--print-config] [--overwrite] [--KEY VALUE ...]

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
    add_pretrain_command(commands)
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
    train.add_argument("--pretrain", type=Path, default=None, metavar="PRETRAIN_CONFIG",
                       help="first run this pre-training recipe (masked-lm / "
                            "masked-image-modeling; reused when already finished), then "
                            "fine-tune from its output")
    train.set_defaults(handler=run_train)


def add_pretrain_command(commands: Any) -> None:
    from toolkit.config import describe_keys

    pretrain = commands.add_parser(
        "pretrain", allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
        help="continued pre-training on unlabelled inputs (masked-lm, masked-image-modeling)",
        description="Pre-train on the inputs of a data set (labels ignored); the output "
                    "directory is a base model for `ftk train --model.name_or_path DIR`.",
        epilog="Overrides: as for `ftk train`:\n" + describe_keys())
    pretrain.add_argument("--config", type=Path, required=True, help="YAML pre-training recipe")
    pretrain.add_argument("--print-config", action="store_true",
                          help="print the resolved, validated config and exit")
    pretrain.add_argument("--overwrite", action="store_true",
                          help="delete an existing non-empty output_dir and start again")
    pretrain.set_defaults(handler=run_pretrain)


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
    if args.pretrain is not None:
        from toolkit.config import load_config
        from toolkit.pretrain import train_after_pretrain

        train_after_pretrain(config, load_config(args.pretrain), overwrite=args.overwrite)
        return 0
    from toolkit.run import train

    train(config, overwrite=args.overwrite)
    return 0


def run_pretrain(args: argparse.Namespace, overrides: list[str]) -> int:
    config = load_recipe(args, overrides)
    if args.print_config:
        print(config.to_yaml(), end="")
        return 0
    from toolkit.pretrain import pretrain

    pretrain(config, overwrite=args.overwrite)
    return 0


if __name__ == "__main__":
    sys.exit(main())
