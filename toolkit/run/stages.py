"""The stages every command is built from: each is one call that takes what it needs and
returns a typed value, so the commands and the benchmarks wire a run the same way instead of
each writing it out again.

    plan_run            task + TrainingArguments + run directory (nothing read yet)
    load_labelled_data  the labelled splits, held out with the one split seed
    prepare_labelled    ... plus processor, model-ready splits and collator
    prepare_unlabelled  inputs only (pre-training), held out like fine-tuning's splits
    build_model         the task's model, seeded
    announce_schedule   the step count and LR summary, printed
    open_run_dir        an empty (or resumed) run directory, on every process at once
    save_and_finish     save on every process, then the main process writes the outputs
                        (marked as unfinished until the last is written)
    push_when_asked     the finished run directory to the Hub
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from transformers import TrainingArguments, set_seed

from toolkit.advice.data_size import metrics_for_classes
from toolkit.advice.truncation import (
    LENGTH_SAMPLE,
    Truncation,
    measure_truncation,
    measure_word_truncation,
    say_truncation,
)
from toolkit.advice.verdict import Verdict
from toolkit.augment.mixing import describe_mixing, mixing_is_on
from toolkit.config.derive import Derived
from toolkit.config.schema import RunConfig
from toolkit.config.streaming import streamed_config
from toolkit.config.taxonomy import TagScheme
from toolkit.core.assets import require_assets
from toolkit.core.columns import column_values, list_lengths
from toolkit.core.distributed import on_main_then_everywhere, wait_for_everyone
from toolkit.core.log import apply_log_level, say
from toolkit.core.run_files import HISTORY
from toolkit.core.run_state import mark_finished, mark_saving
from toolkit.data.builtin import builtin_asset
from toolkit.data.load import LoadedData
from toolkit.data.overlap import warn_about_overlap
from toolkit.data.streaming import StreamedData, describe_stream, load_streamed
from toolkit.data.unlabelled import load_unlabelled
from toolkit.model.lora import describe_lora, lora_summary, save_lora_run, wrap_with_lora
from toolkit.model.packaged import packaged_model_asset
from toolkit.model.target_scale import TARGET_SCALE_ATTR, TargetScale, scale_head
from toolkit.outputs.hub import authenticated_api, push_run
from toolkit.outputs.run_dir import prepare_output_dir
from toolkit.run.derived import max_length_for, with_derived, with_length
from toolkit.tasks import Task, get_task, target_of
from toolkit.tasks.targets import Target
from toolkit.tasks.word_windows import first_window_words
from toolkit.training.arguments import build_training_arguments
from toolkit.training.class_weights import (
    class_weight_vector,
    describe_weights,
    positive_weight_vector,
)
from toolkit.training.param_groups import layer_decay_line
from toolkit.training.resume import checkpoint_step, truncate_history
from toolkit.training.schedule_report import group_multipliers, report_schedule, schedule_summary
from toolkit.training.schedules import ScheduleSummary
from toolkit.training.trainer import ToolkitTrainer


@dataclass
class Plan:
    """What is decided before any data is read."""

    config: RunConfig
    task: Task
    args: TrainingArguments
    output_dir: Path
    push_to: str | None  # the Hub repo the finished run goes to (push_to_hub + hub_model_id)
    # `ftk search`'s final run: the k of the k-fold search that chose its hyper-parameters
    chosen_by_folds: int | None = None

    @property
    def target(self) -> Target:
        """What the fine-tuning task predicts (a pre-training plan has none, never asks)."""
        return target_of(self.task, self.config.task)


@dataclass
class RunResult:
    """What `train` and `pretrain` give back to a Python caller (the CLI only prints)."""

    run_dir: Path
    metrics: dict[str, Any]  # metrics.json as written: eval_*, test_*, times, the diagnosis
    trainer: ToolkitTrainer  # the fitted Trainer; trainer.model is the kept (best) model
    verdict: Verdict | None = None  # fine-tuning against the baselines (None: none fitted)


@dataclass
class PreparedInputs:
    """Model-ready splits: all pre-training has (its inputs are its targets)."""

    processor: Any  # tokenizer or image processor
    splits: datasets.DatasetDict  # model-ready: tokenized, or with lazy transforms attached
    collator: Any


@dataclass
class PreparedData(PreparedInputs):
    """Model-ready labelled splits for fine-tuning, with the data as loaded and what the loss
    and the advice need from it."""

    data: LoadedData  # the labelled splits as loaded
    class_weights: torch.Tensor | None = None  # per class id, for the loss (`class_weights`)
    train_collator: Any = None  # the training batches' own collator (image mixing); None: collator
    # how much data.max_length cuts of the training texts (None: not tokenized up front)
    truncation: Truncation | None = None
    # values chosen for this data while preparing it (data.max_length), for plan_for_data
    derived: tuple[Derived, ...] = ()


def require_run_assets(config: RunConfig, model: bool = True) -> None:
    """The packaged demo assets the config names (a builtin: model unless `model` is False,
    a builtin data set), all asked for at once: one message names every missing package."""
    assets = [packaged_model_asset(config.model.name_or_path) if model else None]
    assets.append(builtin_asset(config.data.builtin))
    require_assets([asset for asset in assets if asset is not None])


def plan_run(config: RunConfig, required: dict[str, Any] | None = None) -> Plan:
    """`required`: TrainingArguments the command cannot run without (see
    build_training_arguments)."""
    require_run_assets(config)  # before anything is read or written
    apply_log_level(config.training.get("log_level"))  # the recipe's say over ftk's console too
    config = streamed_config(config)  # a stream has no epochs: evaluate every N steps, ...
    task = get_task(config.task, config.data.tag_scheme)
    args = build_training_arguments(config, task.training_defaults(config), required)
    push = config.training.get("push_to_hub")
    return Plan(
        config=config,
        task=task,
        args=args,
        output_dir=Path(config.training["output_dir"]),
        push_to=config.training.get("hub_model_id") if push else None,
    )


def check_hub_token(plan: Plan) -> None:
    """A missing or rejected token fails now, not after training."""
    if plan.push_to:
        push_to = plan.push_to
        on_main_then_everywhere(lambda: authenticated_api(push_to))


def load_labelled_data(config: RunConfig, task: Task) -> LoadedData:
    require_run_assets(config, model=False)  # `ftk baseline` reads no model
    if config.data.streaming:  # the hold-outs and head sample `ftk train` reads ahead
        return load_streamed_data(config, task).loaded
    target = target_of(task, config.task)
    return target.load(config.data, task.input_columns(config), seed=config.split_seed)


def load_streamed_data(config: RunConfig, task: Task) -> StreamedData:
    """data.streaming: the hold-outs and the head sample read ahead, and the training stream."""
    columns = task.input_columns(config)
    return load_streamed(config.data, columns, config.split_seed, config.kind.target)


def training_rows(plan: Plan, prepared: PreparedInputs) -> int:
    """The training examples an epoch reads: the split's rows, or for a stream (no length)
    the rows max_steps reads, so a streamed run's schedule is one pass of max_steps."""
    train = prepared.splits["train"]
    if isinstance(train, datasets.IterableDataset):
        return streamed_rows(plan.args)
    return len(train)


def streamed_rows(args: TrainingArguments, world_size: int | None = None) -> int:
    """The training rows a streamed run reads in max_steps optimizer steps."""
    batch = args.per_device_train_batch_size * (world_size or args.world_size)
    return args.max_steps * batch * args.gradient_accumulation_steps


def metrics_for_data(config: RunConfig, task: Task, data: LoadedData) -> RunConfig:
    """`config`, or a copy with f1_macro moved first when the training classes are uneven and
    neither `metrics` nor `metric_for_best_model` was chosen (said); for tags, a copy that
    reads them by the scheme the training tags follow, with that scheme's metrics
    (`RunConfig.reading_tags`). `ftk train` and `ftk baseline` both ask, so their
    baseline.json fingerprints match."""
    if data.tag_scheme is not None:
        return metrics_for_tags(config, data.tag_scheme)
    if not data.target.single_class:  # one class per input only: label sets have their own
        return config
    counts = training_class_counts(task, config, data)
    chosen = config.metrics_chosen or "metric_for_best_model" in config.training
    metrics = metrics_for_classes(config.metrics, counts, chosen)
    if metrics == config.metrics:
        return config
    say(
        f"Metrics: {', '.join(metrics)} (f1_macro moved first: the classes are uneven and "
        f"`metrics` was not set, so macro-F1, which weighs every class alike, picks the best "
        f"epoch and decides the verdict; set `metrics` to choose the order yourself)"
    )
    return dataclasses.replace(config, metrics=metrics)


def training_class_counts(task: Task, config: RunConfig, data: LoadedData) -> dict[str, int]:
    """Examples per class of the training split (one class per input)."""
    labels = column_values(data.splits["train"], data.label_column)
    return target_of(task, config.task).class_counts(labels, data.label_names)


def metrics_for_tags(config: RunConfig, scheme: TagScheme) -> RunConfig:
    """`config` reading its tags as `scheme`; a change of the metrics is said."""
    read = config.reading_tags(scheme)
    if read.metrics != config.metrics:
        say(
            f"Metrics: {', '.join(read.metrics)} (the tags are {scheme.title}: "
            f"{'entity' if scheme.entities else 'word'}-level scores; the first picks the best "
            f"epoch and decides the verdict; set `metrics` to choose them yourself)"
        )
    return read


def plan_for_data(plan: Plan, prepared: PreparedData) -> tuple[Plan, Callable[[Any], dict]]:
    """The plan with the values chosen for the data (run/derived.py: data.max_length chosen
    while preparing, num_train_epochs and the evaluation cadence from the training rows, said)
    and the metric order the data asks for (`metrics_for_data`), and the Trainer's
    compute_metrics bound to the label names (tags are scored by name)."""
    data = prepared.data
    config = plan.config
    for derived in prepared.derived:
        config = with_derived(config, derived)
    config, chosen = with_length(config, plan.args, training_rows(plan, prepared))
    for derived in chosen:
        say(derived.line())
    config = metrics_for_data(config, plan.task, data)
    if config is not plan.config:  # a value chosen, the first metric (or the tags) changed
        plan = plan_run(config)
    metrics_for = plan.target.compute_metrics(config.metrics, config.trust_metric_code)
    return plan, metrics_for(data.label_names)


def prepare_labelled(plan: Plan) -> PreparedData:
    config, task = plan.config, plan.task
    with plan.args.main_process_first(desc="data preparation"):  # the others reuse its cache
        streamed = load_streamed_data(config, task) if config.data.streaming else None
        data = streamed.loaded if streamed is not None else load_labelled_data(config, task)
        say(data.describe())
        for line in describe_stream(streamed.facts, config.data) if streamed else []:
            say(line)
        warn_about_overlap(
            data.splits,
            task.input_columns(config),
            data.label_column,
            data.label_names,
            classes=data.target.single_class,
        )
        processor = task.load_processor(config)
        length = max_length_for(config, data, processor)  # before the texts are tokenized
        if length is not None:
            say(length.line())
        config = with_derived(config, length)
        splits = task.prepare(data.splits, processor, config)
    truncation = measure_cut(config, data, splits, processor)
    if truncation is not None:
        say_truncation(truncation)
    if streamed is not None:  # the head sample stood in for training above; now the stream
        stream = datasets.DatasetDict({"train": streamed.stream})
        splits["train"] = task.prepare(stream, processor, config)["train"]
    weights = loss_class_weights(config, data)
    collator = task.collator(processor, config)
    train_collator = task.train_collator(processor, config, len(data.label_names))
    if mixing_is_on(config.augment):
        say(describe_mixing(config.augment))
    return PreparedData(
        processor,
        splits,
        collator,
        data=data,
        class_weights=weights,
        train_collator=train_collator,
        truncation=truncation,
        derived=() if length is None else (length,),
    )


def whole_lengths_of_cut(
    config: RunConfig, data: LoadedData, pieces: np.ndarray, tokenizer: Any
) -> list[int]:
    """The whole lengths, in tokens, of up to LENGTH_SAMPLE training texts that max_length cut
    (a seeded random sample, tokenized again without the cut): how far a longer max_length
    must read to fit most texts (truncation.covering_length)."""
    cut = np.flatnonzero(pieces >= config.data.max_length)
    train = data.splits["train"]
    if not len(cut) or len(train) != len(pieces):  # rows dropped in tokenizing: no match
        return []
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(cut, size=min(LENGTH_SAMPLE, len(cut)), replace=False))
    rows = train.select(chosen.tolist())
    text, pair = config.data.text_column, config.data.text_pair_column
    texts = [t if t is not None else "" for t in column_values(rows, text)]
    pairs = [t if t is not None else "" for t in column_values(rows, pair)] if pair else None
    # verbose=False: texts longer than the model reads are expected here, not worth a warning
    encoded = tokenizer(texts, pairs, truncation=False, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]


def measure_cut(
    config: RunConfig, data: LoadedData, splits: datasets.DatasetDict, processor: Any
) -> Truncation | None:
    """How much data.max_length cuts of the training inputs: texts by their tokens, sentences
    of words by the words past the cut. None when the training split is not tokenized up front
    (images, augmented text)."""
    if "input_ids" not in splits["train"].column_names:
        return None
    pieces, max_length = list_lengths(splits["train"], "input_ids"), config.data.max_length
    if not config.kind.modality.per_word:
        whole = whole_lengths_of_cut(config, data, pieces, processor)
        return measure_truncation(pieces.tolist(), max_length, processor, whole)
    lengths = list_lengths(data.splits["train"], config.data.tokens_column).tolist()
    read = list(lengths)
    full = np.flatnonzero(pieces >= max_length).tolist()  # only these can be cut
    sentences = data.splits["train"].select(full)[config.data.tokens_column][:]
    fitted = first_window_words(sentences, processor, config)
    for i, n in zip(full, fitted, strict=True):
        read[i] = n
    return measure_word_truncation(lengths, read, max_length, processor)


def prepare_unlabelled(plan: Plan) -> PreparedInputs:
    config, task = plan.config, plan.task
    processor = task.load_processor(config)
    collator = task.collator(processor, config)  # checks the masking settings before the data
    column = task.input_columns(config)[0]
    with plan.args.main_process_first(desc="data preparation"):
        splits = load_unlabelled(config.data, column, task.input_key, config.split_seed)
        say(
            f"Unlabelled data: train {len(splits['train']):,}, validation "
            f"{len(splits['validation']):,} examples (column '{column}'"
            f"{', test inputs included' if config.data.pretrain_include_test else ''})"
        )
        splits = task.prepare(splits, processor, config)
    return PreparedInputs(processor, splits, collator)


def build_model(plan: Plan, data: LoadedData | None) -> Any:
    """The task's model for `data`'s labels (None: pre-training), seeded; a regression head
    scaled to the training targets (model.target_scaling); with peft.method lora, wrapped in
    LoRA adapters, the scaled head among the modules trained in full (both said)."""
    set_seed(plan.args.seed)  # the new head's initial weights must not depend on what ran before
    model = plan.task.load_model(plan.config, None if data is None else data.label_names)
    if data is not None and data.target.numeric:
        scale_regression_head(model, plan.config, data)
    if plan.config.peft.method is None:
        return model
    model = wrap_with_lora(model, plan.config.peft)  # seeded too: A starts at random
    summary = lora_summary(model)
    assert summary is not None, "a model just wrapped in LoRA has adapters"
    say(describe_lora(summary))
    return model


def scale_regression_head(model: Any, config: RunConfig, data: LoadedData) -> None:
    """The head's last layer shifted and scaled to the training split's targets, as
    model.target_scaling asks (said); the scale rides on the model for metrics.json."""
    scale = TargetScale.of(
        column_values(data.splits["train"], data.label_column), config.model.target_scaling
    )
    if scale is not None:
        say(scale.describe(scale_head(model, scale)))
    setattr(model, TARGET_SCALE_ATTR, scale)


def announce_schedule(plan: Plan, num_train: int, model: Any) -> ScheduleSummary:
    """Prints the schedule summary; a model without findable layers fails here, not mid-run."""
    schedule = plan.config.schedule
    summary = schedule_summary(schedule, plan.args, num_train, streamed=plan.config.data.streaming)
    report_schedule(summary, group_multipliers(schedule, model), layer_decay_line(model, schedule))
    args = plan.args
    say(f"Processes: {args.world_size} (device {args.device}, {args.parallel_mode.value})")
    return summary


def open_run_dir(plan: Plan, overwrite: bool, checkpoint: Path | None = None) -> None:
    """A new run gets an empty directory; a resumed one keeps its files, with history rows of
    steps that will run again cut. Nobody trains into a directory still being (re)made."""
    if plan.args.should_save:
        if checkpoint is None:
            prepare_output_dir(plan.output_dir, overwrite, plan.config.local_inputs())
        else:
            truncate_history(plan.output_dir / HISTORY, checkpoint_step(checkpoint))
    wait_for_everyone()


def loss_class_weights(config: RunConfig, data: LoadedData) -> torch.Tensor | None:
    """The loss's class weights (`class_weights`), from the training split's labels; said."""
    if config.class_weights is None:
        return None
    labels = column_values(data.splits["train"], data.label_column)
    if data.target.label_sets:  # one sigmoid per label: weigh each label's positive term
        weights = positive_weight_vector(config.class_weights, data.label_names, labels)
        say(describe_weights(weights, data.label_names, "Positive-label weights in the loss"))
        return weights
    weights = class_weight_vector(config.class_weights, data.label_names, labels)
    say(describe_weights(weights, data.label_names))
    return weights


def save_and_finish(trainer: ToolkitTrainer, plan: Plan, finish: Callable[[], None]) -> None:
    """Save the model on every process (FSDP and DeepSpeed gather the weights across all of
    them), then the task's last touch to the saved folder (`Task.finish_saved`) and `finish` on
    the main process while the others wait; an error there (a refused
    push, say) is raised by every process.

    The folder is marked as being saved from before the first file to after the last
    (core/run_state.py), so a kill in between never leaves what reads as a finished run. The
    push is the caller's last step (`push_when_asked`), once every file is final.

    A LoRA run (config refuses FSDP/DeepSpeed for it) saves on the main process: the adapter
    into RUN/adapter/, the merged model at the top level."""
    lora = lora_summary(trainer.model) is not None
    if plan.args.should_save:
        mark_saving(plan.output_dir)
    if not lora:
        trainer.save_model(str(plan.output_dir))

    def finish_on_main() -> None:
        if lora:
            model = trainer.accelerator.unwrap_model(trainer.model)
            save_lora_run(model, trainer.processing_class, plan.output_dir)
        note = plan.task.finish_saved(plan.output_dir)
        if note:
            say(note)
        finish()
        mark_finished(plan.output_dir)

    on_main_then_everywhere(finish_on_main)


def push_when_asked(plan: Plan) -> None:
    """Send the finished run directory to the Hub when `push_to_hub` asked for it."""
    if plan.push_to:
        private = bool(plan.config.training.get("hub_private_repo"))
        push_to = plan.push_to

        def push() -> None:
            push_run(plan.output_dir, push_to, private=private)

        on_main_then_everywhere(push)
