"""Speed targets, measured: prints a table of medians (not a test; run it by hand).

    .venv/bin/python scripts/bench.py [--runs 7] [--no-docker]

Targets: `neodyme --help` <= 0.25 s, `neodyme new` <= 1.0 s, new / bare Copier <= 1.25.
The Docker rows build the all-modules PostgreSQL project's image with the suite's engine and
stand-in base images (tests/docker_engine.py): cold (the engine's build cache emptied first, so
the suite's next image builds are cold too) and after a code change (dependencies cached).
"""

import argparse
import os
import secrets
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
from tests import docker_engine

BIN = Path(sys.executable).parent
DOCKER_RUNS = 3
Row = tuple[str, str, str, bool | None]


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def median_of(runs: int, measure: Callable[[int], float]) -> float:
    measure(-1)  # warm-up: page cache, .pyc files, the template repository
    return statistics.median(measure(i) for i in range(runs))


def timed_resource(neodyme: str, project: Path, name: str) -> float:
    """`neodyme add resource NAME ...` in PROJECT, then a commit so that the next one may run."""
    fields = ["label:str:80", "count:int=0", "active:bool=true", "owner:ref:users"]
    elapsed = timed([neodyme, "add", "resource", name, *fields], project)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", f"Add {name}"], cwd=project, check=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-docker", action="store_true", help="leave out the image rows")
    arguments = parser.parse_args()
    runs = arguments.runs
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
        # Each run adds a resource of its own name to app1, committed in between.
        resource_time = median_of(
            runs,
            lambda i: timed_resource(neodyme, work / "app1", f"gadget{i + 2}"),
        )
        project = work / "app1"
        uv_bin = uv.find_uv_bin()
        sync_time = timed([uv_bin, "sync", "--python", "python3"], project, env)
        suite = median_of(
            3, lambda i: timed([uv_bin, "run", "--no-sync", "pytest", "-q"], project, env)
        )
        image_rows = [] if arguments.no_docker else docker_rows(work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows: list[Row] = [
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
        (
            "neodyme add resource (4 fields)",
            f"{resource_time:.3f} s",
            "<= 2.0 s",
            resource_time <= 2.0,
        ),
        ("generated: uv sync (warm cache)", f"{sync_time:.2f} s", "", None),
        ("generated: uv run pytest", f"{suite:.2f} s", "", None),
        *image_rows,
    ]
    print(f"{'measure':<36} {'median':>9}  {'target':<10} ok")
    for name, value, target, ok in rows:
        print(f"{name:<36} {value:>9}  {target:<10} {'' if ok is None else 'yes' if ok else 'NO'}")


def docker_rows(work: Path, env: dict[str, str]) -> list[Row]:
    """Build time (cold, then with the cache) and size of the all-modules PostgreSQL image."""
    try:
        docker_engine.ensure_engine()
    except docker_engine.DockerUnavailable as error:
        print(f"Docker rows left out: {error}", file=sys.stderr)
        return []
    options = ["--yes", "--auth", "--docker", "--monitoring", "--database", "postgresql"]
    command = [str(BIN / "neodyme"), "new", "imageapp", *options]
    subprocess.run(command, cwd=work, check=True, capture_output=True, env=env)
    project = work / "imageapp"
    timed([uv.find_uv_bin(), "lock", "--python", "python3"], project, env)
    docker_engine.ensure_stand_ins(project / "Dockerfile")
    sizes: list[int] = []

    def build() -> float:
        image = f"neodyme-bench-{secrets.token_hex(6)}"
        start = time.perf_counter()
        docker_engine.build_image(project, image)
        elapsed = time.perf_counter() - start
        sizes.append(docker_engine.image_size(image))
        docker_engine.docker("image", "rm", image)  # its layers stay in the build cache
        return elapsed

    def cold_build() -> float:
        docker_engine.docker("builder", "prune", "--all", "--force", timeout=300)
        return build()

    def build_after_a_code_change(i: int) -> float:
        with (project / "src" / "imageapp" / "main.py").open("a") as module:
            module.write(f"# change {i}\n")
        return build()

    cold = statistics.median(cold_build() for _ in range(DOCKER_RUNS))
    cached = statistics.median(build_after_a_code_change(i) for i in range(DOCKER_RUNS))
    bases = docker_engine.base_images((project / "Dockerfile").read_text())
    python_base = next(name for name in bases if name.startswith("python:"))
    base_size = docker_engine.image_size(python_base)
    return [
        ("docker build, cold (no cache)", f"{cold:.1f} s", "", None),
        ("docker build, code change (cached)", f"{cached:.1f} s", "", None),
        ("docker image size", f"{sizes[-1] / 1e6:.0f} MB", "", None),
        ("  of which the base (stand-in)", f"{base_size / 1e6:.0f} MB", "", None),
    ]


if __name__ == "__main__":
    main()
