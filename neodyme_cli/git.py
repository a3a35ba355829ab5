"""The few git operations neodyme needs, as functions that raise `GitError`."""

import shutil
import subprocess
from pathlib import Path

from neodyme_cli.errors import GitError, GitMissingError

# Used where the user has no identity configured, so a first commit never fails on it,
# and for neodyme's own repositories (its template history, scratch merges).
NEODYME_IDENTITY = ("-c", "user.name=neodyme", "-c", "user.email=neodyme@localhost")
# Nothing neodyme commits for itself is signed or runs the user's hooks.
NEODYME_COMMIT_OPTIONS = (
    *NEODYME_IDENTITY,
    "-c", "commit.gpgsign=false",
    "-c", "tag.gpgsign=false",
    "-c", f"core.hooksPath={Path('/dev/null')}",
)  # fmt: skip


def git_available() -> bool:
    return shutil.which("git") is not None


def require_git() -> None:
    if not git_available():
        raise GitMissingError


def run_git(*args: str, cwd: Path, input: str | None = None) -> str:
    return run_git_bytes(*args, cwd=cwd, input=None if input is None else input.encode()).decode()


def run_git_bytes(*args: str, cwd: Path, input: bytes | None = None) -> bytes:
    require_git()
    completed = subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, check=False
    )
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).decode(errors="replace").strip()
        lines = output.splitlines() or [f"exit code {completed.returncode}"]
        # git's last line is often a consequence ("could not reset index"); the cause, when the
        # machine refused something, is an earlier line naming it.
        cause = next((line for line in lines for fault in _MACHINE_FAULTS if fault in line), None)
        hint = next((hint for fault, hint in _MACHINE_FAULTS.items() if cause and fault in cause),
                    None)  # fmt: skip
        raise GitError(f"`{_command(args)}` failed in {cwd}: {cause or lines[-1]}", hint=hint)
    return completed.stdout


_MACHINE_FAULTS = {
    "No space left on device": "Free some disk space there, then retry.",
    "Disk quota exceeded": "Free some of your disk quota, then retry.",
    "Permission denied": "Make that folder writable for you, then retry.",
    "Read-only file system": "Work on a writable file system, then retry.",
}


def _command(args: tuple[str, ...]) -> str:
    """`git worktree add` for `git -c a=b worktree add --detach PATH REF`: what a reader needs."""
    words = list(args)
    while words[:1] == ["-c"]:
        del words[:2]
    shown = ["git", *words[:1]]
    shown += [word for word in words[1:2] if word.isalpha()]  # a sub-command: `worktree add`
    return " ".join(shown)


def is_work_tree(path: Path) -> bool:
    require_git()  # "not a repository" would be a lie when git itself is missing
    try:
        return run_git("rev-parse", "--is-inside-work-tree", cwd=path).strip() == "true"
    except GitError:
        return False


def changed_paths(repo: Path, *, under: Path | None = None) -> list[Path]:
    """Files that differ from HEAD or are untracked (ignored files excluded), optionally only
    those under a folder of the work tree."""
    scope = ["--", str(under)] if under is not None else []
    output = run_git("status", "--porcelain", "-z", "--untracked-files=all", *scope, cwd=repo)
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
        run_git(*NEODYME_COMMIT_OPTIONS, "commit", *options, cwd=repo)
    else:
        identity = () if _has_identity(repo) else NEODYME_IDENTITY
        run_git(*identity, "commit", *options, cwd=repo)


def _has_identity(repo: Path) -> bool:
    try:
        run_git("config", "user.email", cwd=repo)
        run_git("config", "user.name", cwd=repo)
    except GitError:
        return False
    return True
