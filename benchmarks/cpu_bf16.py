"""Does bf16 autocast on the CPU keep a recipe's accuracy, and how much faster does it train?

Runs the recipe (default: the BBC News + MiniLM one; one test split for every seed) with
`--bf16 false` and `--bf16 true`, once per seed, the order alternating from seed to seed
(fp32 first, then bf16 first, ...) so a machine that slows over minutes slows both arms
alike. Baselines are off (they do not depend on the precision). Per run: optimizer steps/s,
the median step time (history.jsonl), training and wall time, and the test metrics; the bf16
runs' test split is also scored again in fp32 by `ftk evaluate` (no autocast), to show the
reported test figures are the ones a user gets from the saved model. Prints a table, the
medians, the bf16/fp32 ratios, and writes JSON.

    python benchmarks/cpu_bf16.py --seeds 42 43 44 --json benchmarks/results/cpu-bf16.json
    python benchmarks/cpu_bf16.py --tiny          # seconds: a tiny BERT, for the test suite
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT, ftk, make_tiny_recipe, run, run_history, run_metrics

DEFAULT_RECIPE = ROOT / "configs" / "text-bbc-minilm.yaml"
ARMS = {"fp32": "false", "bf16": "true"}
NAME_COLUMN = "label_name"  # the test split's labels as names, for `ftk evaluate`
SPLIT_SEED = 42  # one test split for every run: the seeds vary initialisation and data order


def median_step_s(run_dir: Path) -> float:
    """Median time between consecutive optimizer steps (evaluation pauses fall outside it)."""
    times = [row["time"] for row in run_history(run_dir) if row["kind"] == "step" and "time" in row]
    return statistics.median(later - earlier for earlier, later in itertools.pairwise(times))


def write_test_split(config: Path, overrides: list[str], path: Path) -> None:
    """The recipe's test split, as ftk makes it, to a CSV `ftk evaluate` can read."""
    from toolkit.config.load import load_config
    from toolkit.run.stages import load_labelled_data
    from toolkit.tasks import get_task

    recipe = load_config(config, overrides)
    data = load_labelled_data(recipe, get_task(recipe.task))
    test = data.splits["test"]
    names = data.label_names
    test.map(lambda row: {NAME_COLUMN: names[row[data.label_column]]}).to_csv(path)


def fp32_test_metrics(run_dir: Path, test_csv: Path) -> dict:
    out = run_dir / "fp32_test.json"
    data = ["--data", str(test_csv), "--label-column", NAME_COLUMN]
    run(ftk("evaluate", str(run_dir), *data, "--output", str(out)))
    return json.loads(out.read_text())


def measure(config: Path, overrides: list[str], arm: str, seed: int, out: Path) -> dict:
    run_dir = out / f"{arm}-seed{seed}"
    started = time.perf_counter()
    command = ["train", "--config", str(config), "--output_dir", str(run_dir)]
    run(
        ftk(
            *command,
            "--seed",
            str(seed),
            "--bf16",
            ARMS[arm],
            "--baseline.enabled",
            "false",
            *overrides,
        )
    )
    wall = time.perf_counter() - started
    scores = run_metrics(run_dir)
    return {
        "arm": arm,
        "seed": seed,
        "mixed_precision": scores.get("mixed_precision"),
        "steps_per_s": scores["train_steps_per_second"],
        "median_step_s": median_step_s(run_dir),
        "train_s": scores["train_runtime"],
        "wall_s": round(wall, 1),
        "test": {k[5:]: v for k, v in scores.items() if k.startswith("test_") and _num(v)},
        "run_dir": str(run_dir),
    }


def _num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def print_table(rows: list[dict], metric: str) -> None:
    header = f"{'arm':5} {'seed':>4} {'steps/s':>8} {'step s':>7} {'train s':>8} {'wall s':>7}"
    print(f"{header} {'test ' + metric:>14} {'fp32 re-eval':>13}")
    for row in rows:
        again = row.get("fp32_reeval", {}).get(metric)
        print(
            f"{row['arm']:5} {row['seed']:>4} {row['steps_per_s']:>8.3f} "
            f"{row['median_step_s']:>7.3f} {row['train_s']:>8.1f} {row['wall_s']:>7.1f} "
            f"{row['test'][metric]:>14.4f} {'' if again is None else f'{again:.4f}':>13}"
        )


def summarize(rows: list[dict], metric: str) -> dict:
    def median(arm: str, read) -> float:
        return statistics.median(read(row) for row in rows if row["arm"] == arm)

    summary = {}
    for name, read in {
        "steps_per_s": lambda r: r["steps_per_s"],
        "median_step_s": lambda r: r["median_step_s"],
        "train_s": lambda r: r["train_s"],
        "wall_s": lambda r: r["wall_s"],
        f"test_{metric}": lambda r: r["test"][metric],
    }.items():
        fp32, bf16 = median("fp32", read), median("bf16", read)
        summary[name] = {"fp32": fp32, "bf16": bf16, "bf16/fp32": round(bf16 / fp32, 3)}
        print(f"median {name:>16}: fp32 {fp32:.4f}  bf16 {bf16:.4f}  bf16/fp32 {bf16 / fp32:.3f}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_RECIPE)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--metric", default="accuracy")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--tiny", action="store_true", help="a tiny BERT, one seed: seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        overrides = ["--data.split_seed", str(SPLIT_SEED)]
        if args.tiny:
            args.config, args.seeds = make_tiny_recipe(out), args.seeds[:1]
            overrides += ["--num_train_epochs", "1", "--data.test_size", "0.2"]
        test_csv = out / "test.csv"
        write_test_split(args.config, overrides, test_csv)
        rows = []
        for i, seed in enumerate(args.seeds):
            order = ["fp32", "bf16"] if i % 2 == 0 else ["bf16", "fp32"]
            for arm in order:
                row = measure(args.config, overrides, arm, seed, out)
                if arm == "bf16":
                    row["fp32_reeval"] = fp32_test_metrics(Path(row["run_dir"]), test_csv)
                rows.append(row)
                print(f"done: {arm} seed {seed}", flush=True)
        print_table(rows, args.metric)
        summary = summarize(rows, args.metric)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
