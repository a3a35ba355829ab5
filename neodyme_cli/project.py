"""The library API: `create_project` and `add_module`. The CLI is a thin layer over these."""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neodyme_cli import __version__
from neodyme_cli.envfile import sync_env_file
from neodyme_cli.errors import (
    DestinationNotEmptyError,
    DirtyWorkingTreeError,
    GitError,
    MergeConflictError,
    NotAProjectError,
    TemplateError,
    UnknownModuleError,
)
from neodyme_cli.git import changed_paths, commit_all, is_work_tree, restore_head, run_git
from neodyme_cli.modules import MODULES
from neodyme_cli.names import validate_project_name
from neodyme_cli.template_source import TemplateRelease, current_release, ensure_release

ANSWERS_FILE = ".copier-answers.yml"
_CONFLICT_MARKER = "<<<<<<< "


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
class AddedModule:
    path: Path
    module: str
    already_present: bool
    changed: list[Path]
    env_settings_added: list[str]


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
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.neodyme-", dir=target.parent))
    try:
        final_answers = _render(
            staging, data={**(answers or {}), "project_name": name}, interactive=interactive
        )
        sync_env_file(staging)
        if git:
            run_git("init", "--quiet", cwd=staging)
            commit_all(staging, f"Create {name} with neodyme {__version__}")
        if target.exists():
            target.rmdir()  # it was empty: checked above
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # no-op once renamed
    return CreatedProject(path=target, package=package, answers=final_answers, committed=git)


def add_module(*, module: str, project_dir: Path | None = None) -> AddedModule:
    """Switch `module` on in an existing project, keeping every edit its owner made.

    Runs Copier's three-way update with the module's answer flipped. The project must be
    a clean git work tree, so a failure or Ctrl-C puts it back exactly as it was.
    """
    if module not in MODULES:
        raise UnknownModuleError(
            f"Unknown module {module!r}.", hint=f"Choose one of: {', '.join(MODULES)}."
        )
    project = (project_dir or Path.cwd()).absolute()
    answers = read_answers(project)
    if answers.get(module):
        return AddedModule(project, module, already_present=True, changed=[], env_settings_added=[])
    _require_clean_work_tree(project)
    ensure_release(str(answers["_src_path"]), str(answers["_commit"]))

    from copier import run_update
    from copier.errors import CopierError
    from copier.types import VcsRef

    try:
        run_update(
            dst_path=project,
            data={module: True},
            defaults=True,
            overwrite=True,
            vcs_ref=VcsRef.CURRENT,
            conflict="inline",
            quiet=True,
        )
    except BaseException as error:
        restore_head(project)
        if isinstance(error, CopierError) and not isinstance(error, KeyboardInterrupt):
            raise TemplateError(f"Copier could not add {module}: {error}") from error
        raise
    changed = changed_paths(project)
    env_settings_added = sync_env_file(project)
    conflicts = [path for path in changed if _has_conflict_markers(project / path)]
    if conflicts:
        raise MergeConflictError(conflicts)
    return AddedModule(project, module, False, changed, env_settings_added)


def read_answers(project: Path) -> dict[str, Any]:
    """The answers a neodyme project was generated with, or `NotAProjectError`."""
    import yaml

    answers_path = project / ANSWERS_FILE
    not_a_project = NotAProjectError(
        f"{project} is not a neodyme project (no {ANSWERS_FILE} written by neodyme).",
        hint="Run the command inside a project made by `neodyme new`, or pass --path.",
    )
    if not answers_path.is_file():
        raise not_a_project
    try:
        answers = yaml.safe_load(answers_path.read_text())
    except yaml.YAMLError as error:
        raise NotAProjectError(
            f"{answers_path} is not valid YAML: {error}",
            hint="Restore it from git: git checkout -- .copier-answers.yml",
        ) from error
    required = {"_src_path", "_commit", "project_name", "database", *MODULES}
    if not isinstance(answers, dict) or not required <= answers.keys():
        raise not_a_project
    return answers


def _render(dst: Path, *, data: dict[str, Any], interactive: bool) -> dict[str, Any]:
    from copier import run_copy
    from copier.errors import CopierError

    release = current_release()
    try:
        worker = run_copy(
            src_path=str(release.snapshot),
            dst_path=dst,
            data=data,
            defaults=not interactive,
            quiet=True,
        )
    except KeyboardInterrupt:
        raise
    except CopierError as error:
        raise TemplateError(f"Copier could not render the project: {error}") from error
    _record_release(dst / ANSWERS_FILE, release)
    return {key: value for key, value in worker.answers.combined.items() if not key.startswith("_")}


def _record_release(answers_file: Path, release: TemplateRelease) -> None:
    """Name the tagged repository as the source, as Copier would have had it rendered from it.

    The snapshot holds the same files as that tag, so the project is byte for byte what a
    render from the repository gives; only the recorded source differs, and `add` needs it.
    """
    import yaml

    source = yaml.safe_dump(
        {"_commit": release.ref, "_src_path": release.src_path},
        allow_unicode=True,
        default_flow_style=False,
    )
    lines = answers_file.read_text().splitlines(keepends=True)
    recorded = [source if line.startswith("_src_path:") else line for line in lines]
    if recorded == lines:
        raise TemplateError(f"{answers_file.name} does not record the template source.")
    answers_file.write_text("".join(recorded))


def _require_clean_work_tree(project: Path) -> None:
    if not is_work_tree(project):
        raise NotAProjectError(
            f"{project} is not a git repository; `neodyme add` merges through git.",
            hint="Put it under git first: git init && git add -A && git commit -m 'Initial commit'",
        )
    try:
        dirty = changed_paths(project)
    except GitError as error:
        raise DirtyWorkingTreeError(str(error)) from error
    if dirty:
        shown = ", ".join(str(path) for path in dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise DirtyWorkingTreeError(
            f"The project has uncommitted changes ({shown}); neodyme will not merge over them.",
            hint="Commit them (git add -A && git commit -m '...') or stash them (git stash -u), "
            "then retry.",
        )


def _has_conflict_markers(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        return False
    return any(line.startswith(_CONFLICT_MARKER) for line in text.splitlines())


__all__ = ["AddedModule", "CreatedProject", "add_module", "create_project", "read_answers"]
