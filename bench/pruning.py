"""Benchmark: does pruning save epochs without losing accuracy? (issue 4; figures in
docs/benchmarks.md)

On synthetic flowers, at equal max_trials, for several seeds: best validation accuracy and epochs
consumed by optuna_tpe (no pruning), Optuna TPE with median, top-25 % (percentile) and Hyperband
pruning, and Keras Tuner's Hyperband.

    .venv/bin/python bench/pruning.py --trials 16 --epochs 10 --image-size 32 \
        --images-per-class 150 --seeds 1 2 3 --jobs 2 --threads 1
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bloomtune.checks import check_params, load_params
from bloomtune.console import setup_logging
from bloomtune.data.standardise import standardise
from bloomtune.data.synthetic import write_synthetic
from bloomtune.machine import configure_tensorflow, thread_budget
from bloomtune.model_settings import resolve
from bloomtune.params import merge
from bloomtune.settings import StandardiseSettings

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {  # label -> (tuner entry in params.yaml, overrides of its options)
    "optuna_tpe": ("optuna_tpe", {"pruner": "none"}),
    "optuna_tpe_median": ("optuna_tpe", {"pruner": "median"}),
    "optuna_tpe_top25": (
        "optuna_tpe",
        {"pruner": "percentile", "pruner_options": {"percentile": 25.0}},
    ),
    "optuna_tpe_hyperband": ("optuna_tpe_hyperband", {}),
    "kt_hyperband": ("kt_hyperband", {}),
}


def make_data(folder: Path, size: int, images_per_class: int) -> Path:
    write_synthetic(
        folder / "raw", n_classes=8, images_per_class=images_per_class, image_size=160, seed=0
    )
    settings = StandardiseSettings(image_size=size, split="blog", interpolation="area")
    standardise(settings, folder / "raw", folder / "std", threads=thread_budget())
    return folder / "std"


def run_one(data: Path, work: Path, label: str, seed: int, trials: int, epochs: int) -> dict:
    from bloomtune.tuning.tune import run_tuning

    tuner, options = CONFIGS[label]
    overlay = {
        # a trial budget, as the figures in docs/benchmarks.md were measured: no epoch cap
        "tuning": {"max_trials": trials, "max_epochs": epochs, "max_total_epochs": None},
        "tuners": {tuner: options},
        "train": {"jit_compile": False},  # small images: XLA's per-trial compile dominates
    }
    params = merge(load_params([ROOT / "params.yaml"]), overlay)
    check_params(params)
    settings = resolve(params, "tune", tuner, seed=seed)
    start = time.perf_counter()
    best = run_tuning(settings, data, work / "out" / label, work / "state" / label)
    return {
        "label": label,
        "seed": seed,
        "best_val_accuracy": best["score"],
        "epochs": best["totals"]["epochs_consumed"],
        "pruned": best["totals"]["pruned"],
        "seconds": time.perf_counter() - start,
    }


def _worker_init(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    setup_logging(None)
    logging.getLogger("bloomtune").setLevel(logging.WARNING)
    configure_tensorflow(threads)


def _report(result: dict) -> dict:
    print(
        f"seed {result['seed']} {result['label']:22s} "
        f"best val_accuracy {result['best_val_accuracy']:.4f} epochs {result['epochs']:3d} "
        f"pruned {result['pruned']:2d} {result['seconds']:.0f} s",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--image-size", type=int, default=48)
    parser.add_argument("--images-per-class", type=int, default=60)
    parser.add_argument(
        "--only", nargs="+", choices=list(CONFIGS), default=list(CONFIGS), help="configurations"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="searches run at once",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="TensorFlow threads per search (default cores / jobs); the figures depend on it",
    )
    args = parser.parse_args()
    threads = args.threads or max(1, thread_budget() // args.jobs)
    if "optuna_tpe" not in args.only:
        parser.error("--only must include optuna_tpe, the unpruned reference")
    runs = [(seed, label) for seed in args.seeds for label in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(Path(tmp), args.image_size, args.images_per_class)
        with ProcessPoolExecutor(
            args.jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(threads,),
        ) as pool:
            futures = [
                pool.submit(
                    run_one, data, Path(tmp) / f"seed{seed}", label, seed, args.trials, args.epochs
                )
                for seed, label in runs
            ]
            results = [_report(future.result()) for future in futures]
    print(f"\n{args.jobs} search(es) at a time, {threads} thread(s) each")
    print()
    print(
        "| tuner | best val accuracy (median) | epochs consumed (median) "
        "| per seed (acc / epochs) |"
    )
    print("| --- | --- | --- | --- |")
    base = {r["seed"]: r for r in results if r["label"] == "optuna_tpe"}
    for label in args.only:
        rows = [r for r in results if r["label"] == label]
        acc = statistics.median(r["best_val_accuracy"] for r in rows)
        epochs = statistics.median(r["epochs"] for r in rows)
        per_seed = "; ".join(f"{r['best_val_accuracy']:.3f} / {r['epochs']}" for r in rows)
        print(f"| {label} | {acc:.4f} | {epochs:g} | {per_seed} |")
    print()
    for label in [label for label in args.only if label.startswith("optuna_tpe_")]:
        rows = [r for r in results if r["label"] == label]
        gaps = [base[r["seed"]]["best_val_accuracy"] - r["best_val_accuracy"] for r in rows]
        ratios = [r["epochs"] / base[r["seed"]]["epochs"] for r in rows]
        met = statistics.median(gaps) <= 0.01 and statistics.median(ratios) <= 0.5
        print(
            f"{label}: accuracy below unpruned by median {100 * statistics.median(gaps):.2f} "
            f"points (worst {100 * max(gaps):.2f}); epochs ratio median "
            f"{statistics.median(ratios):.2f} (max {max(ratios):.2f}); target (within 1 point, "
            f"at most half the epochs) {'met' if met else 'not met'}"
        )


if __name__ == "__main__":
    main()
