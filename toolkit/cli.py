"""The `ftk` command line: parses arguments and hands them to the functions that do the work.

    ftk train [--config FILE] [--print-config] [--overwrite | --resume] [--pretrain PRETRAIN_CONFIG]
              [--KEY VALUE ...]
    ftk pretrain --config FILE [--print-config] [--overwrite] [--KEY VALUE ...]
    ftk schedule [--config FILE] [--png PATH] [--num-processes N] [--KEY VALUE ...]
    ftk predict RUN (--input FILE_OR_FOLDER | --text TEXT [--text TEXT ...]) [--output preds.csv]
                [--top-k K] [--threshold T] [--revision REV]
    ftk evaluate RUN --data LABELLED [--output metrics.json] [--revision REV]
    ftk push RUN --repo-id NAMESPACE/NAME [--private] [--include PATTERN] [--dry-run]
    ftk baseline [--config FILE] [--KEY VALUE ...]
    ftk augment [--config FILE] [--n N] [--k K] [--output PNG] [--KEY VALUE ...]
    ftk search [--config FILE] (--budget 30m | --trials N) [--overwrite | --resume]
               [--KEY VALUE ...]

Any `--KEY VALUE` not listed above overrides the config: TrainingArguments fields and top-level
keys by name (`--learning_rate 5e-5`), section keys dotted (`--model.name_or_path DIR`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from toolkit import __version__
from toolkit.config.derive import pending_text
from toolkit.config.load import load_config
from toolkit.config.recipes import DEFAULT_RECIPE, copy_recipe, describe_recipes, recipe_path
from toolkit.config.schema import RunConfig, describe_keys
from toolkit.config.search_space import parse_budget
from toolkit.core.distributed import (
    close_process_group,
    exit_without_finalizing,
    lost_peer,
    watch_for_native_aborts,
)
from toolkit.core.errors import UserError
from toolkit.core.extras import DISTRIBUTION

# The commands import torch, transformers and datasets (seconds): each handler imports its
# command when it runs, so `ftk --help` and argument errors answer at once.


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftk", description="Fine-tune transformers the way experts do, with one command."
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{DISTRIBUTION} {__version__}",
        help=f"print the distribution ({DISTRIBUTION}) and its version, and exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_train_command(commands)
    add_search_command(commands)
    add_schedule_command(commands)
    add_predict_command(commands)
    add_evaluate_command(commands)
    add_push_command(commands)
    add_baseline_command(commands)
    add_pretrain_command(commands)
    add_augment_command(commands)
    add_recipes_command(commands)
    return parser


def add_config_arguments(command: argparse.ArgumentParser) -> None:
    """--config, shared by every subcommand that reads a recipe; leftovers become overrides."""
    command.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"YAML recipe (default: the embedded {DEFAULT_RECIPE.name})",
    )


def add_train_command(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="fine-tune a model (no arguments: the embedded default recipe)",
        description="Fine-tune a model. Without --config, runs the embedded default recipe "
        f"({DEFAULT_RECIPE.name}).",
        epilog="Overrides: --KEY VALUE for any transformers.TrainingArguments field or top-level "
        "key (task, metrics), --SECTION.KEY VALUE for these section keys:\n" + describe_keys(),
    )
    add_config_arguments(train)
    train.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved, validated config and exit without training",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="delete an existing non-empty output_dir and start again",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue a stopped run from the last checkpoint in its output_dir "
        "(same config); model, optimizer, schedule, RNG, data order and "
        "early-stopping state are restored",
    )
    train.add_argument(
        "--pretrain",
        type=Path,
        default=None,
        metavar="PRETRAIN_CONFIG",
        help="first run this pre-training recipe (masked-lm / "
        "masked-image-modeling; reused when already finished), then "
        "fine-tune from its output",
    )
    train.set_defaults(handler=run_train)


def add_search_command(commands: Any) -> None:
    search = commands.add_parser(
        "search",
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="search hyper-parameters within a budget (optuna), then train the best trial",
        description="Try hyper-parameter values on the validation split (optuna's TPE sampler, "
        "median pruning at each evaluation), then train the best trial into output_dir: a "
        "normal run directory (test split scored once) plus search.json, search.db and "
        "search.png. The search section of the recipe sets the ranges.",
        epilog="Overrides: as for `ftk train`; the search section:\n" + describe_keys("search"),
    )
    add_config_arguments(search)
    search.add_argument(
        "--budget",
        help="wall-clock time for the whole search, e.g. 90s, 30m, 2h, 1h30m: no new trial "
        "starts when it and the final run of the best would not fit (estimated from the "
        "finished trials)",
    )
    search.add_argument("--trials", type=int, help="finished trials in all (with --resume too)")
    search.add_argument(
        "--overwrite", action="store_true", help="delete an earlier run in output_dir first"
    )
    search.add_argument(
        "--resume",
        action="store_true",
        help="continue the stopped search in output_dir (its search.db; same config)",
    )
    search.set_defaults(handler=run_search)


def add_schedule_command(commands: Any) -> None:
    schedule = commands.add_parser(
        "schedule",
        allow_abbrev=False,
        help="preview the learning rate of a run (no training): summary and PNG",
        description="Count the optimizer steps a run will take (from the real data set size, "
        "batch size, gradient accumulation, epochs, max_steps and processes), print "
        "the warm-up and LR summary, and draw the LR of every step. Overrides work "
        "as for `ftk train`.",
    )
    add_config_arguments(schedule)
    schedule.add_argument(
        "--png",
        type=Path,
        default=None,
        help="where to write the plot (default: beside output_dir, <output_dir>-schedule.png)",
    )
    schedule.add_argument(
        "--num-processes",
        type=int,
        default=None,
        help="processes the run will be launched with (default: WORLD_SIZE, "
        "as set by accelerate launch / torchrun, else 1)",
    )
    schedule.set_defaults(handler=run_schedule)


def add_finished_run_argument(parser: argparse.ArgumentParser) -> None:
    """The RUN every command that runs a finished model on new data takes."""
    parser.add_argument(
        "run",
        help="the run directory (output_dir of ftk train), a transformers checkpoint folder "
        "with a classification head, or a Hub model repo id (NAMESPACE/NAME, e.g. after ftk push)",
    )


def add_predict_command(commands: Any) -> None:
    from toolkit.use.options import PredictOptions, add_option_arguments

    predict = commands.add_parser(
        "predict",
        help="label new texts or images with a finished run",
        description="Label names and scores (top-k) for a table of texts (CSV/TSV/JSON/JSONL/"
        "Parquet), a folder of images, one image, or texts given with --text (repeatable).",
    )
    add_finished_run_argument(predict)
    predict.add_argument("--input", type=Path, help="table of texts, image folder or image file")
    predict.add_argument(
        "--text",
        action="append",
        help="a text to classify (instead of --input); repeat it for more, predicted in order",
    )
    add_option_arguments(predict, PredictOptions)  # declared once: use/options.py
    predict.set_defaults(handler=run_predict)


def add_evaluate_command(commands: Any) -> None:
    from toolkit.use.options import EvaluateOptions, add_option_arguments

    evaluate = commands.add_parser(
        "evaluate",
        help="the run's metrics on a new labelled data set",
        description="Compute the run's metrics (run_config.yaml `metrics`) on a labelled table "
        "or a folder with one subfolder of images per class.",
    )
    add_finished_run_argument(evaluate)
    evaluate.add_argument("--data", type=Path, required=True, help="labelled table or folder")
    add_option_arguments(evaluate, EvaluateOptions)  # declared once: use/options.py
    evaluate.set_defaults(handler=run_evaluate)


def add_recipes_command(commands: Any) -> None:
    recipes = commands.add_parser(
        "recipes",
        help="list the packaged recipes, copy one out, or print its path",
        description="The recipes ftk ships (training and accelerate configs). `--config NAME` "
        "finds one by name from any folder.",
    )
    actions = recipes.add_subparsers(dest="action", metavar="ACTION")
    copy = actions.add_parser("copy", help="write a packaged recipe out to edit")
    copy.add_argument("name", help="e.g. vit-fashion-mnist or accelerate/fsdp")
    copy.add_argument("dest", nargs="?", type=Path, help="file or folder (default: here)")
    copy.add_argument("--force", action="store_true", help="replace an existing file")
    path = actions.add_parser("path", help="print the file of a packaged recipe")
    path.add_argument("name")
    recipes.set_defaults(handler=run_recipes)


def run_recipes(args: argparse.Namespace, overrides: list[str]) -> int:
    reject_extra(overrides)
    if args.action == "copy":
        target = copy_recipe(args.name, args.dest, overwrite=args.force)
        print(f"Wrote {target}; train with: ftk train --config {target}")
    elif args.action == "path":
        print(recipe_path(args.name))
    else:
        print(describe_recipes())
    return 0


def add_push_command(commands: Any) -> None:
    push = commands.add_parser(
        "push",
        help="upload a finished run directory to the Hugging Face Hub",
        description="Upload a run directory (model, tokenizer or processor, model card, config, "
        "metrics, plots; no checkpoints) to a Hub model repo, creating it if needed. "
        "The token comes from HF_TOKEN or `hf auth login`.",
    )
    push.add_argument("run", type=Path, help="the run directory (output_dir of ftk train)")
    push.add_argument("--repo-id", required=True, help="NAMESPACE/NAME of the model repo")
    push.add_argument("--private", action="store_true", help="create the repo as private")
    push.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATTERN",
        help="also upload the run's files matching PATTERN (e.g. 'notes/*.md'; repeatable); "
        "only the model, processor, card, records and plots go up otherwise, never dotfiles "
        "or links",
    )
    push.add_argument(
        "--dry-run", action="store_true", help="list what would be uploaded and upload nothing"
    )
    push.set_defaults(handler=run_push)


def add_baseline_command(commands: Any) -> None:
    baseline = commands.add_parser(
        "baseline",
        allow_abbrev=False,
        help="fit cheap baselines (majority, TF-IDF + logistic regression) on the run's splits",
        description="Fit and score cheap baselines on exactly the splits `ftk train` uses (same "
        "config, same seed) and write output_dir/baseline.json; nothing else in "
        "output_dir is touched, and a later `ftk train` reuses the file.",
    )
    add_config_arguments(baseline)
    baseline.set_defaults(handler=run_baseline)


def run_baseline(args: argparse.Namespace, overrides: list[str]) -> int:
    from toolkit.commands.baseline import baseline_command

    baseline_command(load_recipe(args, overrides))
    return 0


def add_pretrain_command(commands: Any) -> None:
    pretrain = commands.add_parser(
        "pretrain",
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="continued pre-training on unlabelled inputs (masked-lm, masked-image-modeling)",
        description="Pre-train on the inputs of a data set (labels ignored); the output "
        "directory is a base model for `ftk train --model.name_or_path DIR`.",
        epilog="Overrides: as for `ftk train`:\n" + describe_keys(),
    )
    pretrain.add_argument("--config", type=Path, required=True, help="YAML pre-training recipe")
    pretrain.add_argument(
        "--print-config", action="store_true", help="print the resolved, validated config and exit"
    )
    pretrain.add_argument(
        "--overwrite",
        action="store_true",
        help="delete an existing non-empty output_dir and start again",
    )
    pretrain.set_defaults(handler=run_pretrain)


def add_augment_command(commands: Any) -> None:
    augment = commands.add_parser(
        "augment",
        allow_abbrev=False,
        help="show training examples beside their augmented variants (text: printed; "
        "images: a PNG grid)",
        description="Run the train transform of a config on a few training examples and show "
        "the originals beside K variants (variant k is what epoch k of training "
        "sees). Text: changed words are marked [[new]], deleted ones [[-old]]. "
        "Overrides (--augment.text trivial, ...) work as for `ftk train`.",
    )
    add_config_arguments(augment)
    augment.add_argument("--n", type=int, default=5, help="training examples to show (default 5)")
    augment.add_argument("--k", type=int, default=3, help="variants of each (default 3)")
    augment.add_argument(
        "--words", type=int, default=60, help="text: words shown of each example (default 60)"
    )
    augment.add_argument(
        "--output",
        type=Path,
        default=Path("augment-preview.png"),
        help="images: where the PNG grid goes (default augment-preview.png)",
    )
    augment.set_defaults(handler=run_augment)


# What a command stopped by Ctrl-C leaves, and how to go on
INTERRUPTED_HINTS = {
    "train": "The checkpoints saved so far (one per evaluation) stay in output_dir: run the "
    "same command with --resume to continue from the last one.",
    "search": "The finished trials stay in output_dir/search.db: run the same command with "
    "--resume to continue the search.",
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, overrides = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    watch_for_native_aborts()
    try:
        code = args.handler(args, overrides)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code, finished = 2, False
    except KeyboardInterrupt:
        print(f"\nStopped (Ctrl-C). {INTERRUPTED_HINTS.get(args.command, '')}", file=sys.stderr)
        code, finished = 130, False  # 128 + SIGINT, as a shell reports it
    except RuntimeError as exc:
        said = lost_peer(exc)  # another machine of a multi-process run is gone
        if said is None:
            raise
        print(f"error: {said}", file=sys.stderr)
        code, finished = 1, False
    else:
        finished = True
    if close_process_group(finished):
        exit_without_finalizing(code)  # a multi-process run: see core/distributed.py
    return code


def load_recipe(args: argparse.Namespace, overrides: list[str]) -> RunConfig:
    return load_config(args.config or DEFAULT_RECIPE, overrides)


def print_config(config: RunConfig) -> None:
    """The resolved config as YAML, and a YAML comment naming the values a run chooses for
    its data (the output still reads as the config)."""
    print(config.to_yaml(), end="")
    pending = pending_text(config.derive)
    if pending:
        print(
            f"# chosen for the data when training starts: {pending} (the values above are "
            f"placeholders a run replaces; set them to choose)"
        )


def run_train(args: argparse.Namespace, overrides: list[str]) -> int:
    config = load_recipe(args, overrides)
    if args.print_config:
        print_config(config)
        return 0
    if args.pretrain is not None:
        from toolkit.commands.train import train_after_pretrain

        train_after_pretrain(config, load_config(args.pretrain), overwrite=args.overwrite)
        return 0
    from toolkit.commands.train import train

    train(config, overwrite=args.overwrite, resume=args.resume)
    return 0


def run_search(args: argparse.Namespace, overrides: list[str]) -> int:
    budget_s = parse_budget(args.budget) if args.budget is not None else None
    config = load_recipe(args, overrides)
    from toolkit.commands.search import search

    search(config, budget_s, args.trials, resume=args.resume, overwrite=args.overwrite)
    return 0


def run_schedule(args: argparse.Namespace, overrides: list[str]) -> int:
    config = load_recipe(args, overrides)
    if args.num_processes is not None and args.num_processes < 1:
        raise UserError(f"--num-processes must be at least 1, got {args.num_processes}.")
    from toolkit.commands.schedule import preview_schedule
    from toolkit.training.schedule_report import report_schedule

    result = preview_schedule(config, world_size=args.num_processes, png=args.png)
    rows = "Training rows read in max_steps" if config.data.streaming else "Training examples"
    print(f"{rows}: {result.num_train:,}; processes: {result.world_size}")
    report_schedule(result.summary, result.groups, result.layer_decay)
    print(f"LR plot: {result.png}")
    return 0


def run_predict(args: argparse.Namespace, overrides: list[str]) -> int:
    reject_extra(overrides)
    from toolkit.use.options import PredictOptions, options_from
    from toolkit.use.predict import predict

    options = options_from(PredictOptions, args)
    texts = args.text or []
    if len(texts) > 1 and args.input is None:  # --text a --text b: every one, in order
        predict(args.run, texts=texts, options=options)
    else:  # one --text, or --input (with a --text too: refused, naming both flags)
        predict(args.run, input_path=args.input, text=texts[0] if texts else None, options=options)
    return 0


def run_evaluate(args: argparse.Namespace, overrides: list[str]) -> int:
    reject_extra(overrides)
    from toolkit.use.evaluate import evaluate_run
    from toolkit.use.options import EvaluateOptions, options_from

    evaluate_run(args.run, args.data, options=options_from(EvaluateOptions, args))
    return 0


def run_push(args: argparse.Namespace, overrides: list[str]) -> int:
    reject_extra(overrides)
    from toolkit.outputs.hub import push_run

    push_run(
        args.run, args.repo_id, private=args.private, include=args.include, dry_run=args.dry_run
    )
    return 0


def reject_extra(extra: list[str]) -> None:
    """Only `train` takes config overrides; elsewhere a leftover argument is a typo."""
    if extra:
        raise UserError(f"Unexpected argument(s): {' '.join(extra)}. See --help.")


def run_pretrain(args: argparse.Namespace, overrides: list[str]) -> int:
    config = load_recipe(args, overrides)
    if args.print_config:
        print_config(config)
        return 0
    from toolkit.commands.pretrain import pretrain

    pretrain(config, overwrite=args.overwrite)
    return 0


def run_augment(args: argparse.Namespace, overrides: list[str]) -> int:
    if args.n < 1 or args.k < 1:
        raise UserError(f"--n and --k must be at least 1 (got --n {args.n} --k {args.k}).")
    config = load_recipe(args, overrides)
    from toolkit.commands.augment import preview_augmentation

    print(preview_augmentation(config, n=args.n, k=args.k, words=args.words, output=args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
