"""The few git operations neodyme needs, as functions that raise `GitError`."""

import shutil
import subprocess
from pathlib import Path

from neodyme_cli.errors import GitError

# Used where the user has no identity configured, so a first commit never fails on it,
# and for neodyme's own template repository, which is no place for the user's signature.
_NEODYME_IDENTITY = ("-c", "user.name=neodyme", "-c", "user.email=neodyme@localhost")
_NO_SIGNING = ("-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false")


def run_git(*args: str, cwd: Path) -> str:
    if shutil.which("git") is None:
        raise GitError("git is not installed.", hint="Install git, or pass --no-git.")
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip().splitlines()
        reason = output[-1] if output else f"exit code {completed.returncode}"
        raise GitError(f"`git {' '.join(args)}` failed in {cwd}: {reason}")
    return completed.stdout


def is_work_tree(path: Path) -> bool:
    try:
        return run_git("rev-parse", "--is-inside-work-tree", cwd=path).strip() == "true"
    except GitError:
        return False


def changed_paths(repo: Path) -> list[Path]:
    """Files that differ from HEAD or are untracked (ignored files excluded)."""
    output = run_git("status", "--porcelain", "-z", "--untracked-files=all", cwd=repo)
    entries = output.split("\0")
    paths: list[Path] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if not entry:
            continue
        if entry[0] in "RC":  # a rename is followed by its source path
            index += 1
        paths.append(Path(entry[3:]))
    return paths


def commit_all(repo: Path, message: str, *, as_neodyme: bool = False) -> None:
    """Stage everything and commit, by default with the user's identity when they have one."""
    run_git("add", "--all", cwd=repo)
    options = ["--quiet", "--no-verify", "--allow-empty", "-m", message]
    if as_neodyme:
        run_git(*_NEODYME_IDENTITY, *_NO_SIGNING, "commit", *options, cwd=repo)
    else:
        identity = () if _has_identity(repo) else _NEODYME_IDENTITY
        run_git(*identity, "commit", *options, cwd=repo)


def _has_identity(repo: Path) -> bool:
    try:
        run_git("config", "user.email", cwd=repo)
        run_git("config", "user.name", cwd=repo)
    except GitError:
        return False
    return True


def restore_head(repo: Path) -> None:
    """Put a clean work tree back as it was at HEAD; ignored files are left alone."""
    run_git("reset", "--quiet", "--hard", "HEAD", cwd=repo)
    run_git("clean", "--quiet", "-d", "--force", cwd=repo)
