"""Benchmark: standardisation speed and peak memory (issue 3; figures in docs/benchmarks.md).

On N synthetic JPEGs of Oxford-like size (about 500 x 667, quality 90) it measures images per
second and peak resident memory (the process and all its children, sampled every 20 ms) of
  (a) bloomtune's standardise: parallel decode + resize streamed into a memory-mapped .npy;
  (b) the blog's method: decode, cv2.resize INTER_CUBIC to 300 x 300, float32, np.append per image;
  (c) the limit: decode + resize only, on all cores, writing nothing.

    .venv/bin/python bench/standardise.py --sizes 500 1000 2000 --repeats 3 --blog-repeats 1
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import psutil

SIZE = 300


def make_images(folder: Path, n: int) -> list[Path]:
    from bloomtune.data.synthetic import render_flower
    from bloomtune.seeds import derive_seed

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"image_{i + 1:05d}.jpg"
        if not path.exists():
            rng = np.random.default_rng(derive_seed(0, "bench", i))
            render_flower(i % 10, rng, 500).save(path, format="JPEG", quality=90)
        paths.append(path)
    return paths


def method_bloomtune(paths: list[Path], out: Path) -> None:
    from bloomtune.data.standardise import standardise_listing
    from bloomtune.machine import thread_budget
    from bloomtune.settings import StandardiseSettings

    listing = {"train": [(p, 0) for p in paths]}
    settings = StandardiseSettings(image_size=SIZE, split="blog", interpolation="cubic")
    standardise_listing(listing, ["flower"], out, settings, thread_budget(), split="bench")


def method_blog(paths: list[Path], out: Path) -> None:
    images = np.empty((0, SIZE, SIZE, 3), dtype=np.float32)
    for path in paths:
        image = cv2.resize(cv2.imread(str(path)), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
        images = np.append(images, [image.astype(np.float32)], axis=0)
    assert len(images) == len(paths)


def _decode_resize(path: str) -> int:
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    return int(cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)[0, 0, 0])


def _init_limit() -> None:
    cv2.setNumThreads(1)


def method_limit(paths: list[Path], out: Path) -> None:
    from bloomtune.machine import thread_budget

    with mp.get_context("fork").Pool(thread_budget(), _init_limit) as pool:
        for _ in pool.imap_unordered(_decode_resize, map(str, paths), chunksize=16):
            pass


METHODS = {"bloomtune": method_bloomtune, "blog": method_blog, "limit": method_limit}


def measure(method: str, images: Path, n: int, work: Path) -> dict:
    """Run one method in a fresh process; time it and sample the whole tree's memory."""
    command = [sys.executable, __file__, "--run", method, "--images", str(images), "--n", str(n),
               "--out", str(work / f"{method}-{n}")]  # fmt: skip
    start = time.perf_counter()
    process = psutil.Popen(command)
    peak, done = 0, threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    code = process.wait()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if code:
        raise SystemExit(f"{method} failed with exit code {code}")
    return {"method": method, "n": n, "seconds": seconds, "images_per_s": n / seconds,
            "peak_rss_mb": peak / 1e6}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blog-repeats", type=int, default=1)
    parser.add_argument("--run", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--images", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        paths = sorted(args.images.glob("*.jpg"))[: args.n]
        METHODS[args.run](paths, args.out)
        return
    results = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        images = Path(tmp) / "jpg"
        make_images(images, max(args.sizes))
        for n in args.sizes:
            for method in METHODS:
                repeats = args.blog_repeats if method == "blog" else args.repeats
                for _ in range(repeats):
                    result = measure(method, images, n, Path(tmp))
                    results.append(result)
                    print(json.dumps(result), flush=True)
                    subprocess.run(["rm", "-rf", str(Path(tmp) / f"{method}-{n}")], check=True)
    print("\n| N | method | images/s (median) | peak RSS MB (median) | runs |")
    print("| --- | --- | --- | --- | --- |")
    summary = {}
    for n in args.sizes:
        for method in METHODS:
            rows = [r for r in results if r["n"] == n and r["method"] == method]
            rate = statistics.median(r["images_per_s"] for r in rows)
            rss = statistics.median(r["peak_rss_mb"] for r in rows)
            summary[n, method] = rate
            print(f"| {n} | {method} | {rate:.1f} | {rss:.0f} | {len(rows)} |")
    output_mb = SIZE * SIZE * 3 / 1e6
    print()
    for n in args.sizes:
        a, b, c = (summary[n, m] for m in METHODS)
        print(f"N={n}: bloomtune / blog = {a / b:.1f}x; bloomtune / limit = {100 * a / c:.0f} %; "
              f"output array {n * output_mb:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
