"""The library API: create a project, add a module, update it, check it.

The CLI is a thin layer over these functions. They never print; they return what happened
(`CreatedProject`, `MergeReport`, `CheckReport`) or raise a `NeodymeError` saying why not.
"""

import difflib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from neodyme_cli import __version__
from neodyme_cli.envfile import sync_env_file
from neodyme_cli.errors import (
    BadInputError,
    CorruptAnswersError,
    DestinationNotEmptyError,
    DirtyWorkingTreeError,
    EnvironmentFaultError,
    GitError,
    GitMissingError,
    NeodymeError,
    NotAProjectError,
    ProjectNewerError,
    TemplateError,
    UnknownModuleError,
    raise_swallowed_interrupt,
)
from neodyme_cli.git import (
    changed_paths,
    commit_all,
    git_available,
    is_work_tree,
    require_git,
    run_git,
)
from neodyme_cli.merge import (
    ANSWERS_FILE,
    FileChange,
    MergeReport,
    merge_template,
    record_source,
    render,
    write_files,
)
from neodyme_cli.modules import MODULES
from neodyme_cli.names import validate_project_name
from neodyme_cli.template_source import (
    TemplateRelease,
    TemplateVersion,
    current_release,
    find_target,
    find_version,
    installed_version,
    parse_version,
    recorded_src_path,
)

# Below this, a failed merge is most likely a full disk: the merge itself needs a few MiB.
_LOW_DISK_SPACE = 16 * 2**20


@dataclass(frozen=True)
class CreatedProject:
    path: Path
    package: str
    answers: dict[str, Any]
    committed: bool

    @property
    def modules(self) -> list[str]:
        return [module for module in MODULES if self.answers.get(module)]


@dataclass(frozen=True)
class CheckReport:
    """Whether a project is on the template version this neodyme installs."""

    project: Path
    current: bool
    from_version: str  # the version the project records
    to_version: str  # the version this neodyme installs
    changes: tuple[FileChange, ...] = ()  # what `update` would change, when not current
    warnings: tuple[str, ...] = ()


def create_project(
    *,
    name: str,
    destination: Path | None = None,
    answers: dict[str, Any] | None = None,
    interactive: bool = False,
    git: bool = True,
) -> CreatedProject:
    """Render a new project named `name` into `destination` (default `./name`).

    `answers` holds the questions answered on the command line; the others are asked
    when `interactive`, else take their defaults. The project appears at `destination`
    whole or not at all: it is rendered beside it and moved in place at the end.
    """
    package = validate_project_name(name)
    target = (destination or Path(name)).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise DestinationNotEmptyError(
            f"{target} already exists and is not empty; neodyme will not write into it.",
            hint="Choose another --path, or empty that folder first.",
        )
    if git and not git_available():
        raise GitMissingError(
            hint="Install git, or pass --no-git to create the project without a repository."
        )
    release = current_release()
    with _environment_faults("create the project", outcome="Nothing was created."):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.neodyme-", dir=target.parent))
        try:
            final_answers = _render(
                staging,
                release,
                data={**(answers or {}), "project_name": name},
                interactive=interactive,
            )
            staging.chmod(0o777 & ~_umask())  # mkdtemp made it 0700
            sync_env_file(staging)
            if git:
                run_git("init", "--quiet", cwd=staging)
                commit_all(staging, f"Create {name} with neodyme {__version__}")
            raise_swallowed_interrupt()
            if target.exists():
                target.rmdir()  # it was empty: checked above
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # no-op once renamed
    return CreatedProject(path=target, package=package, answers=final_answers, committed=git)


def add_module(*, module: str, project_dir: Path | None = None) -> MergeReport:
    """Switch `module` on in an existing project, keeping every edit its owner made.

    The module comes from the template version the project is on (`update` moves versions).
    """
    if module not in MODULES:
        close = difflib.get_close_matches(module.lower(), MODULES, n=1, cutoff=0.6)
        raise UnknownModuleError(
            f"Unknown module {module!r}." + (f" Did you mean {close[0]!r}?" if close else ""),
            hint=f"Choose one of: {', '.join(MODULES)}.",
        )
    project = (project_dir or Path.cwd()).absolute()
    answers = read_answers(project)
    action = f"add {module}"
    if answers.get(module):
        recorded = str(answers["_commit"])
        return MergeReport(project, action, recorded, recorded, nothing_to_do=True)
    _require_clean_work_tree(project)
    installed = installed_version(current_release())
    base = _project_version(project, answers, installed)
    with _merge_faults(action, project):
        return merge_template(
            project, action=action, data={module: True}, answers=answers, base=base, target=base
        )


def add_resource(
    *, spec: Sequence[str], owned: bool = False, project_dir: Path | None = None
) -> MergeReport:
    """Write a resource's whole slice into a project: `spec` is its name, then its fields.

    Model, repository, service, routes, migration, tests and README section (see
    neodyme_cli/resources); a bad spec is refused before anything is read or written.
    """
    from neodyme_cli.resources import parse_resource, plan_resource
    from neodyme_cli.resources.errors import InvalidResourceError

    if not spec:
        raise InvalidResourceError(
            "Name the resource and give its fields.",
            hint="E.g. `neodyme add resource post title:str:200 body:text`.",
        )
    name, *fields = spec
    resource = parse_resource(name, fields, owned=owned)
    project = (project_dir or Path.cwd()).absolute()
    answers = read_answers(project)
    _require_clean_work_tree(project)
    plan = plan_resource(project, resource, answers=answers)
    action = f"add resource {resource.names.singular}"
    with _merge_faults(action, project):
        return write_files(
            project,
            action=action,
            files=plan.files,
            version=str(answers["_commit"]),
            warnings=tuple(plan.warnings),
        )


def update_project(*, project_dir: Path | None = None, to: str | None = None) -> MergeReport:
    """Merge the project onto the template this neodyme installs, or onto version `to`."""
    project = (project_dir or Path.cwd()).absolute()
    answers = read_answers(project)
    require_git()
    installed = installed_version(current_release())
    target = find_target(to) if to else installed
    base = _project_version(project, answers, installed)
    if base.version > target.version:
        raise BadInputError(
            f"The project is on template {base.recorded}, newer than {target.recorded}; "
            "neodyme does not downgrade projects.",
            hint="Pick a version at least as new as the project's with --to.",
        )
    if base.tree == target.tree:
        return MergeReport(
            project, "update", base.recorded, target.recorded, nothing_to_do=True,
            warnings=(base.warning,) if base.warning else (),
        )  # fmt: skip
    _require_clean_work_tree(project)
    with _merge_faults("update", project):
        return merge_template(
            project, action="update", data={}, answers=answers, base=base, target=target
        )


def check_project(*, project_dir: Path | None = None) -> CheckReport:
    """Compare the project's template version with the one this neodyme installs."""
    project = (project_dir or Path.cwd()).absolute()
    answers = read_answers(project)
    require_git()
    installed = installed_version(current_release())
    base = _project_version(project, answers, installed)
    warnings = (base.warning,) if base.warning else ()
    if base.tree == installed.tree:
        return CheckReport(project, True, str(answers["_commit"]), installed.recorded, (), warnings)
    with _environment_faults("compare the template versions", outcome=""):
        changes = _template_changes(project, answers, base, installed)
    return CheckReport(
        project, False, str(answers["_commit"]), installed.recorded, changes, warnings
    )


def read_answers(project: Path) -> dict[str, Any]:
    """The answers a neodyme project was generated with, or an error saying what is wrong."""
    import yaml

    answers_path = project / ANSWERS_FILE
    if not answers_path.is_file():
        raise NotAProjectError(
            f"{project} is not a neodyme project (no {ANSWERS_FILE} written by neodyme).",
            hint="Run the command inside a project made by `neodyme new`, or pass --path.",
        )
    restore = f"Restore it from git: git checkout HEAD -- {ANSWERS_FILE}"
    with _environment_faults(f"read {answers_path}", outcome=""):
        raw = answers_path.read_bytes()
    try:
        if b"\0" in raw:
            raise UnicodeDecodeError("utf-8", raw, raw.index(b"\0"), len(raw), "NUL byte")
        answers = yaml.safe_load(raw.decode())
    except UnicodeDecodeError as error:
        raise CorruptAnswersError(
            f"{answers_path} holds binary data, not the project's answers.", hint=restore
        ) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise CorruptAnswersError(
            f"{answers_path} is not valid YAML{where}.", hint=restore
        ) from error
    if not isinstance(answers, dict):
        raise CorruptAnswersError(f"{answers_path} does not hold answers.", hint=restore)
    if "project_name" not in answers:
        raise NotAProjectError(
            f"{project} is not a neodyme project ({ANSWERS_FILE} has no project_name).",
            hint="Run the command inside a project made by `neodyme new`, or pass --path.",
        )
    if not answers.get("_src_path"):
        raise CorruptAnswersError(
            f"{answers_path} does not say which template made the project (no _src_path).",
            hint=f"{restore}, or add the line `_src_path: {recorded_src_path()}`.",
        )
    if not answers.get("_commit"):
        raise CorruptAnswersError(
            f"{answers_path} does not say which template version made the project (no _commit).",
            hint=restore,
        )
    return answers


def _project_version(
    project: Path, answers: Mapping[str, Any], installed: TemplateVersion
) -> TemplateVersion:
    recorded = str(answers["_commit"])
    if parse_version(recorded) > installed.version:
        raise ProjectNewerError(
            f"{project.name} was made with neodyme template {recorded}, newer than this "
            f"neodyme's ({installed.recorded}).",
            hint="Upgrade neodyme (pip install --upgrade neodyme), then retry.",
        )
    return find_version(recorded)


def _template_changes(
    project: Path, answers: Mapping[str, Any], base: TemplateVersion, target: TemplateVersion
) -> tuple[FileChange, ...]:
    """The files an update from `base` to `target` would change: where their renders differ,
    leaving out files the user deleted (an update does not bring them back)."""
    with tempfile.TemporaryDirectory(prefix="neodyme-check-") as scratch:
        old = _files(render(base, answers, Path(scratch) / "old"))
        new = _files(render(target, answers, Path(scratch) / "new"))
    changes = [FileChange(PurePosixPath(ANSWERS_FILE), "modified")]
    for path in sorted(old.keys() | new.keys()):
        if path == ANSWERS_FILE or (path in old and not (project / path).exists()):
            continue
        if path not in old:
            changes.append(FileChange(PurePosixPath(path), "added"))
        elif path not in new:
            changes.append(FileChange(PurePosixPath(path), "deleted"))
        elif old[path] != new[path]:
            changes.append(FileChange(PurePosixPath(path), "modified"))
    return tuple(changes)


def _files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


def _render(
    dst: Path, release: TemplateRelease, *, data: dict[str, Any], interactive: bool
) -> dict[str, Any]:
    from copier import run_copy
    from copier.errors import CopierError

    try:
        worker = run_copy(
            src_path=str(release.snapshot),
            dst_path=dst,
            data=data,
            defaults=not interactive,
            quiet=True,
        )
    except CopierError as error:
        raise TemplateError(f"Copier could not render the project: {error}") from error
    # Rendered from the snapshot, recorded as from the repository's tag of the same files:
    # byte for byte what a render from the repository gives, and what `add` needs.
    record_source(dst / ANSWERS_FILE, release.src_path, release.ref)
    return {key: value for key, value in worker.answers.combined.items() if not key.startswith("_")}


def _require_clean_work_tree(project: Path) -> None:
    require_git()
    if not is_work_tree(project):
        raise NotAProjectError(
            f"{project} is not a git repository; neodyme merges through git.",
            hint="Put it under git first: git init && git add -A && git commit -m 'Initial commit'",
        )
    try:
        dirty = changed_paths(project, under=project)
    except GitError as error:
        raise DirtyWorkingTreeError(str(error)) from error
    if dirty:
        shown = ", ".join(str(path) for path in dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise DirtyWorkingTreeError(
            f"The project has uncommitted changes ({shown}); neodyme will not merge over them.",
            hint="Commit them (git add -A && git commit -m '...') or stash them (git stash -u), "
            "then retry.",
        )


@contextmanager
def _merge_faults(action: str, project: Path) -> Iterator[None]:
    """A merge that fails leaves the project as it was: every error says so, and names a
    full disk when that is the likely cause (git often reports only the consequence)."""
    unchanged = "The project is unchanged."
    try:
        with _environment_faults(action, outcome=unchanged):
            yield
    except NeodymeError as error:
        free = shutil.disk_usage(project).free
        if free < _LOW_DISK_SPACE and "space" not in error.message:
            error.message += (
                f" The disk holding the project is nearly full ({free // 1024} KiB free)."
            )
            error.hint = "Free some disk space there, then retry."
        if unchanged not in error.message:
            error.message = f"{error.message.rstrip()} {unchanged}"
        raise


@contextmanager
def _environment_faults(doing: str, *, outcome: str) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        raise EnvironmentFaultError.from_os_error(error, doing=doing, outcome=outcome) from error


def _umask() -> int:
    mask = os.umask(0o077)  # reading it means setting it: put it straight back
    os.umask(mask)
    return mask


__all__ = [
    "CheckReport",
    "CreatedProject",
    "MergeReport",
    "add_module",
    "check_project",
    "create_project",
    "read_answers",
    "update_project",
]
