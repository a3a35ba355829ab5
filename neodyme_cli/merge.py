"""One merge machinery for `add` and `update`: Copier's three-way update, made safe.

Copier's update merges in place, so a failure halfway (or a Ctrl-C, or a full disk) would leave
a half-merged project, and putting it back needs disk space. Here the update runs in a scratch
`git worktree` of the project's HEAD inside the project's `.git` folder (same filesystem, never
seen by `git status`). Only when the merge there is complete are its files moved into the project,
by rename: until then the project is untouched, and undoing a half-done move-in is renames back,
which need no free space. The move-in defers Ctrl-C, so it finishes and is reported as finished.

Around Copier's update the merge also keeps the files a new template dropped but the user changed
(Copier would delete them), re-parents template Alembic revisions onto the project's own head, and
adds to `.env` the settings the merge added to `.env.example`. Nothing here prints: the result is
a `MergeReport`, the same for a clean merge and for one with conflicts.
"""

import fcntl
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from types import FrameType
from typing import Any, Literal

from neodyme_cli.envfile import settings_added, with_settings
from neodyme_cli.errors import (
    GitError,
    InterruptedAfterMerge,
    TemplateError,
    raise_swallowed_interrupt,
)
from neodyme_cli.git import NEODYME_COMMIT_OPTIONS, commit_all, run_git
from neodyme_cli.migrations import VERSIONS_DIR, Reparented, reparent_added_revisions
from neodyme_cli.template_source import (
    TemplateVersion,
    recorded_src_path,
    snapshot,
    template_repository,
)

ANSWERS_FILE = ".copier-answers.yml"
ChangeKind = Literal["added", "modified", "deleted"]
_KINDS: dict[str, ChangeKind] = {"A": "added", "M": "modified", "T": "modified", "D": "deleted"}
_SCRATCH_PREFIX = "neodyme-merge-"
_SOURCE_KEYS = ("_commit", "_src_path")


@dataclass(frozen=True)
class FileChange:
    path: PurePosixPath  # relative to the project
    kind: ChangeKind


@dataclass(frozen=True)
class MergeReport:
    """What a merge did to a project; `conflicts` non-empty means it needs the user to finish."""

    project: Path
    action: str  # what was merged, for messages: "add auth", "update"
    from_version: str
    to_version: str
    changes: tuple[FileChange, ...] = ()
    conflicts: tuple[PurePosixPath, ...] = ()  # hold conflict markers
    kept: tuple[PurePosixPath, ...] = ()  # the new template dropped them; the user had changed them
    env_added: tuple[str, ...] = ()  # settings appended to .env
    reparented: tuple[Reparented, ...] = ()  # paths relative to the project
    warnings: tuple[str, ...] = ()
    nothing_to_do: bool = False  # the module was on already, or the version was current

    def changed(self, kind: ChangeKind) -> list[PurePosixPath]:
        return [change.path for change in self.changes if change.kind == kind]


@dataclass(frozen=True)
class _Plan:
    """A merge done in the scratch worktree, ready to be moved into the project."""

    moves: list[tuple[PurePosixPath, ChangeKind]]  # relative to the repository's top
    env_file: Path
    staged_env: Path | None  # the new .env, when the merge adds settings to it
    report: MergeReport


def merge_template(
    project: Path,
    *,
    action: str,
    data: Mapping[str, Any],
    answers: Mapping[str, Any],
    base: TemplateVersion,
    target: TemplateVersion,
) -> MergeReport:
    """Merge the template change from `base` to `target` into `project`, a clean git work tree
    whose `answers` are changed by `data`. Raises `InterruptedAfterMerge` when a Ctrl-C came
    during the move-in, after completing it."""
    top, subdir = _repository_top(project)
    with _scratch(top) as scratch:
        plan = _merge_in_scratch(project, top, subdir, scratch, action, data, answers, base, target)
        with _deferred_interrupts() as interrupts:
            _move_in(plan, project_top=top, tree_top=scratch / "tree", backup=scratch / "backup")
            _remove_scratch(scratch, top)
    if interrupts:
        raise InterruptedAfterMerge(plan.report)
    return plan.report


def write_files(
    project: Path,
    *,
    action: str,
    files: Mapping[PurePosixPath, str],
    version: str,
    warnings: tuple[str, ...] = (),
) -> MergeReport:
    """Write whole files into `project`, a clean git work tree, all of them or none.

    They are staged in the scratch folder first (a full disk fails there, with the project
    untouched), then renamed in as a merge's are, with Ctrl-C held back.
    """
    top, subdir = _repository_top(project)
    changes = [
        FileChange(path, "modified" if (project / path).exists() else "added") for path in files
    ]
    report = MergeReport(
        project=project,
        action=action,
        from_version=version,
        to_version=version,
        changes=tuple(changes),
        warnings=warnings,
    )
    with _scratch(top) as scratch:
        for path, content in files.items():
            staged = scratch / "tree" / subdir / path
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_text(content)
            if (project / path).exists():
                shutil.copymode(project / path, staged)
        moves = [(subdir / change.path, change.kind) for change in changes]
        plan = _Plan(moves=moves, env_file=project / ".env", staged_env=None, report=report)
        with _deferred_interrupts() as interrupts:
            _move_in(plan, project_top=top, tree_top=scratch / "tree", backup=scratch / "backup")
            _remove_scratch(scratch, top)
    if interrupts:
        raise InterruptedAfterMerge(report)
    return report


def render(version: TemplateVersion, answers: Mapping[str, Any], destination: Path) -> Path:
    """Render one template version with a project's answers into `destination`."""
    from copier import run_copy
    from copier.errors import CopierError

    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    try:
        run_copy(str(snapshot(version)), destination, data=data, defaults=True, quiet=True,
                 unsafe=True)  # fmt: skip
    except CopierError as error:
        raise TemplateError(
            f"Copier could not render template {version.recorded}: {error}"
        ) from error
    return destination


def _repository_top(project: Path) -> tuple[Path, PurePosixPath]:
    """The top of the project's git repository, and the project's folder relative to it."""
    top = Path(run_git("rev-parse", "--show-toplevel", cwd=project).strip())
    return top, PurePosixPath(project.resolve().relative_to(top.resolve()).as_posix())


def has_conflict_markers(path: Path) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    lines = path.read_bytes().splitlines()
    return any(line.startswith(b"<<<<<<< ") for line in lines) and any(
        line.startswith(b">>>>>>> ") for line in lines
    )


def _merge_in_scratch(
    project: Path,
    top: Path,
    subdir: PurePosixPath,
    scratch: Path,
    action: str,
    data: Mapping[str, Any],
    answers: Mapping[str, Any],
    base: TemplateVersion,
    target: TemplateVersion,
) -> _Plan:
    head = run_git("rev-parse", "HEAD", cwd=top).strip()
    tree_top = scratch / "tree"
    run_git(*NEODYME_COMMIT_OPTIONS, "worktree", "add", "--detach", "--quiet", str(tree_top), head,
            cwd=top)  # fmt: skip
    workdir = tree_top / subdir
    # Copier merges from the recorded source and version: make them neodyme's repository and
    # the base found for this project (committed, as Copier wants a clean tree).
    record_source(workdir / ANSWERS_FILE, str(template_repository()), base.ref)
    commit_all(tree_top, "neodyme: merge from the template repository", as_neodyme=True)
    _copier_update(workdir, action, data, target)
    record_source(workdir / ANSWERS_FILE, recorded_src_path(), target.recorded)

    changes = _changes(workdir, head)
    kept = _keep_changed_files_the_template_dropped(
        project, workdir, head, changes, base, answers, scratch / "old"
    )
    changes = [change for change in changes if change.path not in kept]
    added_revisions = [
        workdir / change.path
        for change in changes
        if change.kind == "added" and change.path.parent == PurePosixPath(VERSIONS_DIR.as_posix())
        and change.path.suffix == ".py"
    ]  # fmt: skip
    reparented = [
        replace(moved, path=moved.path.relative_to(workdir))
        for moved in reparent_added_revisions(workdir / VERSIONS_DIR, added_revisions)
    ]
    conflicts = [
        change.path
        for change in changes
        if change.kind != "deleted" and has_conflict_markers(workdir / change.path)
    ]
    env_file, staged_env, env_added = _plan_env(project, workdir, scratch)
    report = MergeReport(
        project=project,
        action=action,
        from_version=base.recorded,
        to_version=target.recorded,
        changes=tuple(changes),
        conflicts=tuple(conflicts),
        kept=tuple(kept),
        env_added=tuple(env_added),
        reparented=tuple(reparented),
        warnings=(base.warning,) if base.warning else (),
    )
    moves = [(subdir / change.path, change.kind) for change in changes]
    return _Plan(moves=moves, env_file=env_file, staged_env=staged_env, report=report)


def _copier_update(
    workdir: Path, action: str, data: Mapping[str, Any], target: TemplateVersion
) -> None:
    from copier import run_update
    from copier.errors import CopierError
    from plumbum import ProcessExecutionError

    try:
        run_update(
            dst_path=workdir,
            data=dict(data),
            defaults=True,
            overwrite=True,
            vcs_ref=target.ref,
            conflict="inline",
            quiet=True,
            unsafe=True,  # neodyme's own template: its migrations may run
        )
    except CopierError as error:
        raise TemplateError(f"Copier could not {action}: {error}") from error
    except ProcessExecutionError as error:
        reason = (error.stderr or error.stdout or "").strip().splitlines()
        raise GitError(
            f"Copier could not {action}: git failed: {reason[-1] if reason else error}"
        ) from error


def record_source(answers_file: Path, src_path: str, commit: str) -> None:
    """Make the answers record `src_path` and `commit` as the template's `_src_path` and `_commit`.

    Written where Copier writes them and as neodyme 0.1.0 did, so projects made by `new`, `add`
    and `update` record their source byte for byte alike.
    """
    import yaml

    lines = answers_file.read_text().splitlines(keepends=True)
    keys = [line.split(":", 1)[0] for line in lines]
    if "_src_path" not in keys:
        raise TemplateError(f"{answers_file.name} does not record the template source.")
    position = min(index for index, key in enumerate(keys) if key in _SOURCE_KEYS)
    recorded = [line for line, key in zip(lines, keys, strict=True) if key not in _SOURCE_KEYS]
    source = {"_commit": commit, "_src_path": src_path}
    recorded.insert(position, yaml.safe_dump(source, allow_unicode=True, width=1000))
    answers_file.write_text("".join(recorded))


def _changes(workdir: Path, head: str) -> list[FileChange]:
    """The scratch worktree's differences from the project's HEAD, relative to the project."""
    run_git("add", "--all", "--", ".", cwd=workdir)
    output = run_git("diff", "--cached", "--name-status", "-z", "--no-renames", "--relative",
                     head, "--", ".", cwd=workdir).split("\0")  # fmt: skip
    pairs = zip(output[0::2], output[1::2], strict=False)
    return [FileChange(PurePosixPath(path), _KINDS[status[0]]) for status, path in pairs if path]


def _keep_changed_files_the_template_dropped(
    project: Path,
    workdir: Path,
    head: str,
    changes: list[FileChange],
    base: TemplateVersion,
    answers: Mapping[str, Any],
    old_render: Path,
) -> list[PurePosixPath]:
    """Copier deletes every file the new template no longer has, even one the user changed.
    Those the user changed (they differ from the old template's render) stay as they are."""
    deleted = [change.path for change in changes if change.kind == "deleted"]
    if not deleted:
        return []
    render(base, answers, old_render)
    kept = []
    for path in deleted:
        rendered = old_render / path
        if not rendered.is_file() or rendered.read_bytes() != (project / path).read_bytes():
            kept.append(path)
    if kept:
        run_git("checkout", head, "--", *map(str, kept), cwd=workdir)
    return kept


def _plan_env(project: Path, workdir: Path, scratch: Path) -> tuple[Path, Path | None, list[str]]:
    """`.env` with the settings the merge added to `.env.example`, staged in the scratch."""

    def text(path: Path) -> str:
        return path.read_text() if path.is_file() else ""

    brought = settings_added(text(project / ".env.example"), text(workdir / ".env.example"))
    env_file = project / ".env"
    new_text, added = with_settings(text(env_file), brought)
    if not added:
        return env_file, None, []
    staged = scratch / "env"
    staged.write_text(new_text)
    if env_file.is_file():
        shutil.copymode(env_file, staged)
    return env_file, staged, added


def _move_in(plan: _Plan, *, project_top: Path, tree_top: Path, backup: Path) -> None:
    """Rename the merged files into the project; on any failure rename everything back."""
    undo: list[Callable[[], None]] = []

    def move(source: Path, destination: Path) -> None:
        os.replace(source, destination)
        undo.append(lambda: os.replace(destination, source))

    def make_dirs(folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for created in reversed(missing):
            created.mkdir()
            undo.append(created.rmdir)

    try:
        # Deletions first: a file may give way to a folder of the same name.
        for path, kind in sorted(plan.moves, key=lambda move_: move_[1] != "deleted"):
            target = project_top / path
            if kind == "deleted" or target.exists() or target.is_symlink():
                make_dirs((backup / path).parent)
                move(target, backup / path)
            if kind == "deleted":
                _remove_empty_parents(target.parent, project_top, undo)
            else:
                make_dirs(target.parent)
                move(tree_top / path, target)
        if plan.staged_env is not None:
            if plan.env_file.exists():
                move(plan.env_file, backup / ".env")
            move(plan.staged_env, plan.env_file)
    except BaseException:
        for step in reversed(undo):
            step()
        raise


def _remove_empty_parents(folder: Path, top: Path, undo: list[Callable[[], None]]) -> None:
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        undo.append(folder.mkdir)
        folder = folder.parent


@contextmanager
def _deferred_interrupts() -> Iterator[list[int]]:
    """Hold Ctrl-C back for a short phase that must finish; yields the signals held. A Ctrl-C
    that came before, and that Python could not raise then, stops the phase from starting."""
    raise_swallowed_interrupt()
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers belong to the main thread; nothing to defer here
        return

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _scratch(top: Path) -> Iterator[Path]:
    """A scratch folder on the project's filesystem, inside its .git folder when possible."""
    git_dir = Path(run_git("rev-parse", "--absolute-git-dir", cwd=top).strip())
    parent = git_dir if git_dir.stat().st_dev == top.stat().st_dev else top
    prefix = _SCRATCH_PREFIX if parent == git_dir else f".{_SCRATCH_PREFIX}"
    lock = os.open(git_dir, os.O_RDONLY)  # a lock on the folder: no lock file left behind
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one merge at a time per repository
        for stale in parent.glob(f"{prefix}*"):  # left by a merge that was killed
            _remove_scratch(stale, top)
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        try:
            yield folder
        finally:
            _remove_scratch(folder, top)
    finally:
        os.close(lock)  # releases the lock


def _remove_scratch(folder: Path, top: Path) -> None:
    if not folder.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    with suppress(GitError):  # a stale worktree entry is harmless, and pruned next time
        run_git("worktree", "prune", cwd=top)
