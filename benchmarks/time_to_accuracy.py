"""Time to accuracy and peak memory of a training run, read from its run directory.

For each run directory: when the validation metric first reached its target (seconds of
training, from the training start to the end of that evaluation), the total training time, the
final validation and test metrics, and the peak resident memory (RSS). Targets of the embedded
recipes: BBC News (configs/text-bbc-minilm.yaml) accuracy 0.95, Fashion-MNIST
(configs/vit-fashion-mnist.yaml) accuracy 0.85; `--target` sets another.

    python benchmarks/time_to_accuracy.py runs/text-bbc-minilm runs/vit-fashion-mnist
    flock /tmp/ftk-heavy.lock python benchmarks/time_to_accuracy.py \
        --run configs/text-bbc-minilm.yaml             # trains it first (minutes), then reports
    python benchmarks/time_to_accuracy.py --tiny      # seconds: a tiny BERT, for the test suite

Times come from history.jsonl: runs since issue 9 stamp the training start and every
evaluation; older runs stamp only optimizer steps, or nothing (the time is then estimated as
train_runtime x step / last step, and marked "~"). Peak RSS is metrics.json's `peak_rss_mb`
(the training process or its largest DataLoader worker), else the "Maximum resident set size"
of a `/usr/bin/time -v` log given with --time-log; `--run` measures it itself.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
from pathlib import Path

from common import ftk, make_tiny_recipe, run, run_history, run_metrics

TARGETS = {"bbc-news": 0.95, "fashion-mnist": 0.85}  # data.builtin -> validation accuracy


def target_for(run_dir: Path, given: float | None) -> float:
    if given is not None:
        return given
    import yaml

    builtin = (yaml.safe_load((run_dir / "run_config.yaml").read_text()).get("data") or {}).get(
        "builtin"
    )
    if builtin not in TARGETS:
        sys.exit(f"{run_dir}: no known target for data.builtin {builtin!r}; pass --target.")
    return TARGETS[builtin]


def time_to_target(rows: list[dict], metrics: dict, metric: str, target: float) -> dict:
    """First evaluation whose `eval_<metric>` >= target: its step, epoch and training seconds.

    Seconds run from the training start (the "groups" row) to the end of that evaluation; rows
    without times fall back to the step's time, then to a linear estimate from train_runtime.
    """
    key = f"eval_{metric}"
    evals = [r for r in rows if r["kind"] == "eval" and key in r]
    hit = next((r for r in evals if r[key] >= target), None)
    result = {
        "reached": hit is not None,
        "best": max((r[key] for r in evals), default=None),
        "step": hit and hit["step"],
        "epoch": hit and hit.get("epoch"),
        "seconds": None,
        "estimated": False,
    }
    if hit is None:
        return result
    steps = {r["step"]: r["time"] for r in rows if r["kind"] == "step" and "time" in r}
    start = next((r["time"] for r in rows if r["kind"] == "groups" and "time" in r), None)
    if start is None and len(steps) > 1:  # one step's duration before the first stamped step
        first, second = sorted(steps)[:2]
        start = steps[first] - (steps[second] - steps[first]) * first / (second - first)
    end = hit.get("time", steps.get(hit["step"]))
    if start is not None and end is not None:
        result["seconds"] = end - start
    else:
        last_step = max(r["step"] for r in rows if "step" in r)
        result["seconds"] = metrics["train_runtime"] * hit["step"] / last_step
        result["estimated"] = True
    return result


def peak_rss_mb(metrics: dict, time_log: Path | None) -> float | None:
    if time_log is not None:
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_log.read_text())
        if match:
            return int(match.group(1)) / 1024
    return metrics.get("peak_rss_mb")


def report(
    run_dir: Path,
    metric: str,
    target: float | None,
    time_log: Path | None = None,
    measured_rss: float | None = None,
) -> dict:
    scores = run_metrics(run_dir)
    goal = target_for(run_dir, target)
    found = time_to_target(run_history(run_dir), scores, metric, goal)
    return {
        "run": str(run_dir),
        "metric": metric,
        "target": goal,
        **found,
        "train_s": scores.get("train_runtime"),
        "wall_s": scores.get("total_wall_time_s"),
        "final_eval": scores.get(f"eval_{metric}"),
        "test": scores.get(f"test_{metric}"),
        "peak_rss_mb": measured_rss or peak_rss_mb(scores, time_log),
    }


def print_table(results: list[dict]) -> None:
    print(
        f"{'run':<40} {'target':>14} {'reached at':>16} {'time to target':>15} "
        f"{'train s':>8} {'final val':>9} {'test':>7} {'peak RSS MB':>11}"
    )
    for r in results:
        if r["reached"]:
            where = (
                f"step {r['step']} (ep {r['epoch']:.2g})"
                if r["epoch"] is not None
                else f"step {r['step']}"
            )
            when = f"{'~' if r['estimated'] else ''}{r['seconds']:.0f} s"
        else:
            where, when = f"not (best {r['best']:.3f})" if r["best"] is not None else "no eval", "-"
        cell = lambda v, fmt: format(v, fmt) if v is not None else "-"  # noqa: E731
        print(
            f"{Path(r['run']).name[:40]:<40} {r['metric'] + ' ' + format(r['target'], '.2f'):>14}"
            f" {where:>16} {when:>15} {cell(r['train_s'], '8.0f'):>8} "
            f"{cell(r['final_eval'], '.4f'):>9} {cell(r['test'], '.4f'):>7} "
            f"{cell(r['peak_rss_mb'], '.0f'):>11}"
        )


def train_and_measure(config: Path, overrides: list[str], out: Path) -> float:
    """Run `ftk train` and return the peak RSS (MB) of its process tree's largest member."""
    run(ftk("train", "--config", str(config), "--output_dir", str(out), *overrides))
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="*", type=Path)
    parser.add_argument("--metric", default="accuracy")
    parser.add_argument("--target", type=float, help="default: the recipe's (see TARGETS)")
    parser.add_argument(
        "--time-log", type=Path, help="`/usr/bin/time -v` output of the (one) run directory given"
    )
    parser.add_argument("--run", type=Path, help="train this config first, into a temp folder")
    parser.add_argument("--tiny", action="store_true", help="train a tiny BERT: seconds")
    # Anything after `--` overrides the config of --run (`-- --num_train_epochs 1`).
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_intermixed_args(argv[:cut])
    if args.time_log and len(args.run_dirs) != 1:
        parser.error("--time-log belongs to one run: give exactly one run directory with it")
    overrides = argv[cut + 1 :]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.tiny:
            args.run, overrides = tiny_recipe(Path(tmp))
            args.target = 0.0 if args.target is None else args.target
        if args.run:
            out = Path(tmp) / args.run.stem
            rss = train_and_measure(args.run, overrides, out)
            results.append(report(out, args.metric, args.target, measured_rss=rss))
        results += [report(d, args.metric, args.target, args.time_log) for d in args.run_dirs]
        if not results:
            parser.error("give run directories, --run CONFIG or --tiny")
        print_table(results)
        print(json.dumps(results))


def tiny_recipe(workdir: Path) -> tuple[Path, list[str]]:
    recipe = make_tiny_recipe(workdir)
    return recipe, [
        "--num_train_epochs",
        "2",
        "--baseline.enabled",
        "false",
        "--overfitting.train_sample_size",
        "0",
        "--use_cpu",
        "true",
    ]


if __name__ == "__main__":
    main()
