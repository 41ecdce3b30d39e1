"""The defaults suite (issue 36): ftk's defaults on real data sets of every kind, over seeds.

Each set (benchmarks/suite_sets.py) ships inside a package from a registry. For each set, arm
and seed, one `ftk train` runs in a child process; the suite reads its metrics.json and
baseline.json and writes one JSON line per (set, arm, seed) to --out: the test score, what
always answering the majority class (the mean, the commonest label set) scores, the best of
ftk's baselines, whether the diagnosis said "not learned", and the wall time. A rerun skips the
lines already in --out, so a stopped suite picks up where it stopped.

    python benchmarks/defaults_suite.py prepare --data-dir data/suite      # downloads, writes
    python benchmarks/defaults_suite.py run --data-dir data/suite --seeds 0 1 2 \\
        --out benchmarks/results/defaults-suite.jsonl --compare     # derived against recipe
    python benchmarks/defaults_suite.py table --out benchmarks/results/defaults-suite.jsonl
    python benchmarks/defaults_suite.py run --tiny    # a minute or two: synthetic, tiny models

Arms (ARMS): `derived` is what `ftk train` does with only the data given: the shipped recipe for
the set's task with its data source replaced (and the set's caps), so the recipe's
`for_this_data` values are released and ftk chooses them for the set (config/derive.py; for
the text-classification sets that recipe is the embedded default, so the command is plain
`ftk train` with the data). `recipe` is the same command with the recipe's values pinned on
the command line (`--num_train_epochs`, `--data.max_length`: the recipe's, or the schema's
default where it sets none), i.e. what ftk ran before it derived them. The two arms differ in
those values only. (An arm without the recipe, `Arm(..., with_recipe=False)`, would differ in
the recipe's learning rate and schedule too.)

Each line records the metric the run chose (the verdict's in metrics.json, else the first of
run_config.yaml's metrics): on uneven classes ftk puts f1_macro first unless the recipe sets
`metrics`, and the suite scores what the run was selected on.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import suite_sets
from common import append_json_line, ftk, run, run_metrics
from suite_sets import SuiteSet

from toolkit.config.taxonomy import greater_is_better

DATA_DIR = Path("data/suite")
RUNS_DIR = Path("runs/suite")
OUT = Path("benchmarks/results/defaults-suite.jsonl")
BASELINE_FILE = "baseline.json"
# ftk's baseline that knows nothing of the inputs, by target: classes and tags, numbers,
# label sets
PRIOR_BASELINES = ("majority", "mean", "most_frequent_set")


@dataclass(frozen=True)
class Arm:
    """How one arm calls `ftk train` on a set: with the set's recipe (`--config`) or with
    only the task, model and metrics named, and what it adds to the command."""

    name: str
    with_recipe: bool = True
    extra_args: tuple[str, ...] = ()
    # the recipe's values of the keys ftk derives, pinned on the command line (recipe_pins)
    pin_recipe: bool = False


ARMS = {
    "recipe": Arm("recipe", pin_recipe=True),
    # what `ftk train` does with only the data given: the recipe's for_this_data released
    "derived": Arm("derived"),
}


# ----------------------------------------------------------------------------- one run


def recipe_essentials(recipe: Path) -> list[str]:
    """The recipe's task, model and metrics as CLI overrides: what a run given only the data
    still has to be told."""
    import yaml

    config = yaml.safe_load(recipe.read_text())
    args = ["--task", config["task"]]
    model = config.get("model") or {}
    if model.get("name_or_path"):
        args += ["--model.name_or_path", model["name_or_path"]]
    for key, value in (model.get("from_config") or {}).items():
        args += [f"--model.from_config.{key}", str(value)]
    if config.get("metrics"):
        args += ["--metrics", f"[{', '.join(config['metrics'])}]"]
    return args


def recipe_pins(recipe: Path, given: list[str]) -> list[str]:
    """The recipe's values of the keys ftk derives for its task (config/derive.py), as CLI
    overrides: the recipe's value, or the schema's default where the recipe sets none (what
    ftk ran before it derived them); a key already `given` (a set's cap) is left to it."""
    import yaml

    from toolkit.config.derive import derivable
    from toolkit.config.schema import TRAINING_DEFAULTS, DataConfig
    from toolkit.config.taxonomy import task_kind

    config = yaml.safe_load(recipe.read_text())
    data = config.get("data") or {}
    values = {
        "num_train_epochs": config.get("num_train_epochs", TRAINING_DEFAULTS["num_train_epochs"]),
        "data.max_length": data.get("max_length", DataConfig().max_length),
    }
    pins = []
    for key in derivable(task_kind(config["task"]), streaming=False, max_steps=None):
        # the cadence is chosen only for an epoch of thousands of steps, which no set has
        if key in values and f"--{key}" not in given:
            pins += [f"--{key}", str(values[key])]
    return pins


def train_command(
    suite_set: SuiteSet, arm: Arm, folder: Path, seed: int, output_dir: Path, extra: list[str]
) -> list[str]:
    recipe = suite_sets.recipe_path(suite_set)
    base = ["--config", str(recipe)] if arm.with_recipe else recipe_essentials(recipe)
    given = [*suite_set.data_args(folder), *suite_set.extra_args, *suite_set.caps, *extra]
    return ftk(
        "train",
        *base,
        *suite_set.data_args(folder),
        *suite_set.extra_args,
        *suite_set.caps,
        *arm.extra_args,
        *(recipe_pins(recipe, given) if arm.pin_recipe else []),
        *extra,
        *("--seed", str(seed), "--output_dir", str(output_dir), "--overwrite"),
    )


def baseline_scores(run_dir: Path, metric: str) -> dict:
    """The test `metric` of ftk's prior baseline (majority / mean / commonest label set) and
    of its best baseline (chosen on validation), and the split sizes the baselines saw."""
    saved = json.loads((run_dir / BASELINE_FILE).read_text())
    by_name = {b["name"]: b for b in saved["baselines"]}

    def test_score(name: str | None) -> float | None:
        return ((by_name.get(name) or {}).get("test") or {}).get(metric) if name else None

    prior = next((name for name in PRIOR_BASELINES if name in by_name), None)
    return {
        "majority": test_score(prior),
        "majority_name": prior,
        "best_baseline": test_score(saved.get("best")),
        "best_baseline_name": saved.get("best"),
        "rows": saved.get("split_sizes"),
    }


def chosen_metric(run_dir: Path, metrics: dict) -> str:
    """The metric the run was selected and judged on: its verdict's (metrics.json), else the
    first of run_config.yaml's metrics (ftk may have put f1_macro first for uneven classes)."""
    import yaml

    verdict = metrics.get("verdict") or {}
    if verdict.get("metric"):
        return verdict["metric"]
    return yaml.safe_load((run_dir / "run_config.yaml").read_text())["metrics"][0]


def run_record(suite_set: SuiteSet, arm: Arm, seed: int, run_dir: Path, wall_s: float) -> dict:
    """The JSONL line of one finished run."""
    metrics = run_metrics(run_dir)
    findings = [finding["rule"] for finding in metrics.get("diagnosis") or []]
    metric = chosen_metric(run_dir, metrics)
    return {
        "set": suite_set.name,
        "kind": suite_set.kind,
        "arm": arm.name,
        "seed": seed,
        "metric": metric,
        "greater_is_better": greater_is_better(metric),
        "test": metrics.get(f"test_{metric}"),
        **baseline_scores(run_dir, metric),
        "derived": {key: d["value"] for key, d in (metrics.get("derived") or {}).items()},
        "not_learned": "not_learned" in findings,
        "findings": findings,
        "wall_s": round(wall_s, 1),
        "train_runtime_s": metrics.get("train_runtime"),
        "run_dir": str(run_dir),
    }


def run_one(suite_set: SuiteSet, arm: Arm, seed: int, suite: Suite) -> dict:
    run_dir = suite.runs_dir / suite_set.name / f"{arm.name}-seed{seed}"
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    folder = suite_sets.set_folder(suite.data_dir, suite_set)
    command = train_command(suite_set, arm, folder, seed, run_dir, suite.extra_args)
    print(f"[{suite_set.name} / {arm.name} / seed {seed}] {shlex.join(command[1:])}", flush=True)
    wall_s = run(command, log=run_dir.parent / f"{arm.name}-seed{seed}.log")
    record = run_record(suite_set, arm, seed, run_dir, wall_s)
    return {**record, "extra_args": suite.extra_args, "command": command[3:]}


# ----------------------------------------------------------------------------- the suite


def read_records(out: Path) -> list[dict]:
    if not out.is_file():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def done_keys(records: list[dict]) -> set[tuple[str, str, int]]:
    return {(r["set"], r["arm"], r["seed"]) for r in records}


def refuse_unprepared(sets: list[SuiteSet], data_dir: Path) -> None:
    missing = [s.name for s in sets if suite_sets.prepared(s, data_dir) is None]
    if missing:
        sys.exit(
            f"Not prepared in {data_dir}: {', '.join(missing)}. Prepare them first with: "
            f"python benchmarks/defaults_suite.py prepare --data-dir {data_dir} "
            f"--sets {' '.join(missing)}"
        )


@dataclass(frozen=True)
class Suite:
    """Where one suite run reads and writes, and what it adds to every command."""

    data_dir: Path
    runs_dir: Path
    out: Path  # the JSONL, one line per (set, arm, seed)
    extra_args: list[str]  # appended to every run (a smoke test's caps); kept in each line


def run_suite(sets: list[SuiteSet], arms: list[str], seeds: list[int], suite: Suite) -> list[dict]:
    """Every (set, arm, seed) not yet in suite.out, one child process each, appended as it
    ends. Seeds are the outer loop, so a suite stopped early has every set on its first seeds;
    the arms take turns within a seed, so a change in the machine's load falls on both. An arm
    whose command is another's (nothing left to derive, e.g. a tagging set whose epochs the set
    caps) is that run's result, recorded with `same_run_as`. A run that fails is named (its
    log kept) and the others go on; the suite then exits 1."""
    out = suite.out
    records = read_records(out)
    done = done_keys(records)
    out.parent.mkdir(parents=True, exist_ok=True)
    failed = []
    for seed in seeds:
        for suite_set in sets:
            by_command: dict[tuple[str, ...], dict] = {}
            for arm in arms:
                if (suite_set.name, arm, seed) in done:
                    print(f"[{suite_set.name} / {arm} / seed {seed}] in {out} already: skipped")
                    continue
                command = tuple(arm_command(suite_set, ARMS[arm], seed, suite))
                try:
                    record = shared_record(by_command.get(command), arm) or run_one(
                        suite_set, ARMS[arm], seed, suite
                    )
                except SystemExit as failure:  # common.run's way of saying the child failed
                    print(f"[{suite_set.name} / {arm} / seed {seed}] FAILED: {failure}")
                    failed.append(f"{suite_set.name} / {arm} / seed {seed}")
                    continue
                by_command.setdefault(command, record)
                append_json_line(out, record)
                records.append(record)
    if failed:
        print_tables(records, None)
        sys.exit(f"Failed (rerun the same command to retry them): {'; '.join(failed)}")
    return records


def arm_command(suite_set: SuiteSet, arm: Arm, seed: int, suite: Suite) -> list[str]:
    """The arm's `ftk train` arguments, less its output folder: two arms with the same
    arguments run the same training."""
    folder = suite_sets.set_folder(suite.data_dir, suite_set)
    command = train_command(suite_set, arm, folder, seed, Path("-"), suite.extra_args)
    return command[: command.index("--output_dir")]


def shared_record(record: dict | None, arm: str) -> dict | None:
    """Another arm's record of the same command, as this arm's (None: no such run)."""
    if record is None:
        return None
    print(
        f"[{record['set']} / {arm} / seed {record['seed']}] the same command as "
        f"{record['arm']}: its result"
    )
    return {**record, "arm": arm, "same_run_as": record["arm"]}


# ----------------------------------------------------------------------------- tables


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def grouped(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """Records by (set, arm), in the order they first appear."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        groups.setdefault((record["set"], record["arm"]), []).append(record)
    return groups


def rows_cell(rows: dict | None) -> str:
    if not rows:
        return "-"
    return " / ".join(f"{rows.get(split, 0):,}" for split in ("train", "validation", "test"))


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def scores_of(runs: list[dict], key: str) -> list[float]:
    return [r[key] for r in runs if r.get(key) is not None]


def summary_table(records: list[dict]) -> str:
    lines = [
        "| set | kind | rows (train / validation / test) | metric | arm | seeds | test "
        "(mean ± std) | majority | best baseline | not learned | wall s (mean) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, arm), runs in grouped(records).items():
        first = runs[0]
        tests = scores_of(runs, "test")
        test = "-" if not tests else "{:.4f} ± {:.4f}".format(*mean_std(tests))
        majority, best = scores_of(runs, "majority"), scores_of(runs, "best_baseline")
        lines.append(
            f"| {name} | {first['kind']} | {rows_cell(first.get('rows'))} | {first['metric']} "
            f"| {arm} | {len(runs)} | {test} "
            f"| {number(statistics.fmean(majority) if majority else None)} "
            f"| {number(statistics.fmean(best) if best else None)} "
            f"({first.get('best_baseline_name') or '-'}) "
            f"| {sum(r['not_learned'] for r in runs)} of {len(runs)} "
            f"| {statistics.fmean(r['wall_s'] for r in runs):.0f} |"
        )
    return "\n".join(lines)


def arm_comparison(base: list[dict], other: list[dict]) -> dict:
    """The other arm's mean test score against the base arm's: the gain (positive: the
    other arm is better, whichever way the metric points) and the seed noise, the two arms'
    seed standard deviations pooled, sqrt((sd_a^2 + sd_b^2) / 2)."""
    (mean_a, sd_a), (mean_b, sd_b) = (
        mean_std(scores_of(base, "test")),
        mean_std(scores_of(other, "test")),
    )
    sign = 1 if base[0]["greater_is_better"] else -1
    return {
        "base": mean_a,
        "other": mean_b,
        "gain": sign * (mean_b - mean_a),
        "noise": ((sd_a**2 + sd_b**2) / 2) ** 0.5,
        "seeds": min(len(base), len(other)),
    }


def compare_table(records: list[dict], base_arm: str, other_arm: str) -> str:
    groups = grouped(records)
    lines = [
        f"| set | metric | {base_arm} | {other_arm} | gain of {other_arm} | seed noise "
        f"| seeds | {other_arm} worse than noise |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r["set"] for r in records):
        base, other = groups.get((name, base_arm)), groups.get((name, other_arm))
        if not base or not other or not scores_of(base, "test") or not scores_of(other, "test"):
            continue
        c = arm_comparison(base, other)
        lines.append(
            f"| {name} | {base[0]['metric']} | {c['base']:.4f} | {c['other']:.4f} "
            f"| {c['gain']:+.4f} | {c['noise']:.4f} | {c['seeds']} "
            f"| {'yes' if c['gain'] < -c['noise'] else 'no'} |"
        )
    return "\n".join(lines)


def skill(record: dict) -> float | None:
    """How far the run went from what knowing nothing scores (the majority / mean baseline)
    towards a perfect score, as a share: 0 knows nothing, 1 is perfect, below 0 is worse than
    knowing nothing; metrics of different sets and directions then average. A score that
    grows towards 1 (accuracy, F1) is perfect at 1, an error (rmse) at 0."""
    test, prior = record.get("test"), record.get("majority")
    if test is None or prior is None:
        return None
    if record["greater_is_better"]:
        return (test - prior) / (1 - prior) if prior < 1 else None
    return (prior - test) / prior if prior > 0 else None


def overall(records: list[dict], base_arm: str, other_arm: str) -> str:
    """One line over the sets both arms ran: each arm's mean skill (per set the mean over its
    seeds, then over sets) and on how many sets the other arm is better, and worse by more than
    the seed noise."""
    groups = grouped(records)
    names = [
        name
        for name in dict.fromkeys(r["set"] for r in records)
        if groups.get((name, base_arm)) and groups.get((name, other_arm))
    ]
    if not names:
        return ""

    def mean_skill(arm: str) -> float:
        per_set = [
            statistics.fmean(k for r in groups[(name, arm)] if (k := skill(r)) is not None)
            for name in names
        ]
        return statistics.fmean(per_set)

    gains = [arm_comparison(groups[(n, base_arm)], groups[(n, other_arm)]) for n in names]
    better = sum(c["gain"] > 0 for c in gains)
    worse = sum(c["gain"] < -c["noise"] for c in gains)
    return (
        f"Over the {len(names)} sets both arms ran, the mean skill (the share of the way from "
        f"knowing nothing to a perfect score) is {mean_skill(base_arm):.3f} for {base_arm} and "
        f"{mean_skill(other_arm):.3f} for {other_arm}; {other_arm} is better on {better} of them "
        f"and worse by more than the seed noise on {worse}."
    )


def print_tables(records: list[dict], compare: list[str] | None) -> None:
    """The summary table, and with `compare` ([] for recipe vs derived, or [BASE, OTHER])
    the arm comparison and the line over all its sets."""
    print("\n" + summary_table(records))
    if compare is not None:
        arms = compare or list(ARMS)
        print("\n" + compare_table(records, *arms))
        print("\n" + overall(records, *arms))


# ----------------------------------------------------------------------------- commands


def chosen_sets(names: list[str] | None, sets: list[SuiteSet]) -> list[SuiteSet]:
    by_name = {s.name: s for s in sets}
    unknown = [name for name in names or [] if name not in by_name]
    if unknown:
        sys.exit(f"Unknown sets: {', '.join(unknown)}; the suite has {', '.join(by_name)}.")
    return [by_name[name] for name in names] if names else sets


def prepare_command(args: argparse.Namespace) -> None:
    """Prepares each set; one that fails is named with its error and the others go on."""
    failed = []
    for suite_set in chosen_sets(args.sets, suite_sets.SETS):
        print(f"== {suite_set.name}: {suite_set.package.label() if suite_set.package else ''}")
        try:
            record = suite_sets.prepare(suite_set, args.data_dir)
        except (Exception, SystemExit) as error:  # a download or a file went wrong
            print(f"   {suite_set.name}: FAILED: {error!r}", flush=True)
            failed.append(suite_set.name)
            continue
        print(
            f"   {suite_set.name}: rows {record['rows']}; source {record['source']} "
            f"({record['archive'] or 'installed'}); licence: {record['licence']}",
            flush=True,
        )
    if failed:
        sys.exit(f"Not prepared: {', '.join(failed)}")


def run_command(args: argparse.Namespace) -> None:
    if args.tiny:
        with tempfile.TemporaryDirectory() as tmp:
            run_tiny(args, Path(tmp))
        return
    sets = chosen_sets(args.sets, suite_sets.SETS)
    refuse_unprepared(sets, args.data_dir)
    runs_dir, out = args.runs_dir or RUNS_DIR.resolve(), args.out or OUT.resolve()
    suite = Suite(args.data_dir, runs_dir, out, shlex.split(args.extra_args))
    records = run_suite(sets, args.arms, args.seeds, suite)
    chosen = {s.name for s in sets}
    print_tables([r for r in records if r["set"] in chosen], args.compare)


def run_tiny(args: argparse.Namespace, tmp: Path) -> None:
    """Synthetic stand-ins and tiny models (suite_tiny.py), prepared and run in `tmp` (or
    --runs-dir); each child computes on one thread, which is fastest at this size."""
    import suite_tiny

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = args.runs_dir or tmp
    sets = chosen_sets(args.sets, suite_tiny.tiny_sets(work))
    data_dir = work / "data"
    for suite_set in sets:
        if suite_sets.prepared(suite_set, data_dir) is None:
            suite_sets.prepare(suite_set, data_dir)
    suite = Suite(data_dir, work / "runs", args.out or work / "suite.jsonl", [])
    records = run_suite(sets, args.arms, args.seeds, suite)
    print_tables(records, args.compare)


def table_command(args: argparse.Namespace) -> None:
    print_tables(read_records(args.out or OUT.resolve()), args.compare)


def absolute(path: str | Path) -> Path:
    """A path given on the command line, fixed against the working directory (the runs start
    in the repository root)."""
    return Path(path).resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("prepare", help="download and write the sets' files")
    run_ = commands.add_parser("run", help="train every (set, arm, seed) not yet in --out")
    table = commands.add_parser("table", help="print the tables of --out")
    for command in (prepare, run_):
        command.add_argument("--data-dir", type=absolute, default=absolute(DATA_DIR))
        command.add_argument("--sets", nargs="+", help="default: every set")
    for command in (run_, table):
        command.add_argument("--out", type=absolute, help=f"the runs' JSONL (default {OUT})")
        command.add_argument(
            "--compare",
            nargs="*",
            metavar="ARM",
            help="a table of arm OTHER against arm BASE (`--compare BASE OTHER`; alone: "
            "derived against recipe)",
        )
    run_.add_argument("--arms", "--arm", nargs="+", default=list(ARMS), choices=list(ARMS))
    run_.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    run_.add_argument("--runs-dir", type=absolute, help=f"run directories (default {RUNS_DIR})")
    run_.add_argument("--tiny", action="store_true", help="synthetic sets, tiny models")
    run_.add_argument(
        "--extra-args",
        default="",
        help="overrides added to every run, e.g. a smoke test's '--num_train_epochs 1' (kept "
        "in each line; give such a run its own --out)",
    )
    args = parser.parse_args()
    if args.command != "prepare" and args.compare not in (None, []) and len(args.compare) != 2:
        parser.error("--compare takes two arms (BASE OTHER), or none for recipe derived")
    {"prepare": prepare_command, "run": run_command, "table": table_command}[args.command](args)


if __name__ == "__main__":
    main()
