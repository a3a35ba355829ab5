"""Speed targets, measured: prints a table of medians (not a test; run it by hand).

    .venv/bin/python scripts/bench.py [--runs 7]

Targets: `neodyme --help` <= 0.25 s, `neodyme new` <= 1.0 s, new / bare Copier <= 1.25.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import uv

from neodyme_cli.template_source import current_release

BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def median_of(runs: int, measure: Callable[[int], float]) -> float:
    measure(-1)  # warm-up: page cache, .pyc files, the template repository
    return statistics.median(measure(i) for i in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    work = Path(tempfile.mkdtemp(prefix="neodyme-bench-"))
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    neodyme, copier = str(BIN / "neodyme"), str(BIN / "copier")
    try:
        help_time = median_of(runs, lambda i: timed([neodyme, "--help"], work))
        new_time = median_of(runs, lambda i: timed([neodyme, "new", f"app{i + 1}", "--yes"], work))
        new_no_git = median_of(
            runs, lambda i: timed([neodyme, "new", f"nogit{i + 1}", "--yes", "--no-git"], work)
        )
        # The plain snapshot `new` renders from: a git checkout would make Copier clone it.
        plain_template = current_release().snapshot
        bare = median_of(
            runs,
            lambda i: timed(
                [copier, "copy", "--quiet", "--defaults", "-d", "project_name=bare",
                 str(plain_template), str(work / f"bare{i + 1}")],
                work,
            ),
        )  # fmt: skip
        project = work / "app1"
        uv_bin = uv.find_uv_bin()
        sync_time = timed([uv_bin, "sync", "--python", "python3"], project, env)
        suite = median_of(
            3, lambda i: timed([uv_bin, "run", "--no-sync", "pytest", "-q"], project, env)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("neodyme --help", f"{help_time:.3f} s", "<= 0.25 s", help_time <= 0.25),
        ("neodyme new --yes (with git)", f"{new_time:.3f} s", "<= 1.0 s", new_time <= 1.0),
        ("neodyme new --yes --no-git", f"{new_no_git:.3f} s", "", None),
        ("bare copier copy (same template)", f"{bare:.3f} s", "", None),
        (
            "new --no-git / bare copier",
            f"{new_no_git / bare:.2f}",
            "<= 1.25",
            new_no_git / bare <= 1.25,
        ),
        ("new (with git) / bare copier", f"{new_time / bare:.2f}", "", None),
        ("generated: uv sync (warm cache)", f"{sync_time:.2f} s", "", None),
        ("generated: uv run pytest", f"{suite:.2f} s", "", None),
    ]
    print(f"{'measure':<36} {'median':>9}  {'target':<10} ok")
    for name, value, target, ok in rows:
        print(f"{name:<36} {value:>9}  {target:<10} {'' if ok is None else 'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
