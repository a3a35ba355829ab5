"""Where projects are rendered and merged from: the template repository in neodyme's data folder.

Copier records a project's template source and version in `.copier-answers.yml`, and `copier
update` (behind `neodyme add` and `update`) needs that version as a tag of a git repository. So
neodyme keeps one in its data folder (`~/.local/share/neodyme/template`), filled from the template
history it carries (history.py): a tag `V+<digest>` for every committed template state of
neodyme's main and `V` for every release. A template that is in no commit (an edited checkout)
is committed there as well, tagged `V+<digest>` of its files: projects made from it record that,
and on a machine that never saw it neodyme falls back to the release V, with a warning.

Projects record the path with `~`, so they keep working offline, after neodyme is reinstalled
elsewhere and on a teammate's machine.
"""

import fcntl
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from neodyme_cli import __version__
from neodyme_cli.errors import (
    DataFolderError,
    GitError,
    TemplateError,
    UnknownTemplateVersionError,
)
from neodyme_cli.git import commit_all, git_available, run_git, run_git_bytes
from neodyme_cli.history import DIGEST_LENGTH, TEMPLATE_FILES, folder_digest, write_bundle

# In the wheel the template sits inside the package; in a source checkout, beside it.
_PACKAGE_DIR = Path(__file__).resolve().parent
_BUNDLE_NAME = "history.bundle"
_LOADED_MARKER = "neodyme-history"  # in the repository's .git: the key of the history loaded


@dataclass(frozen=True)
class TemplateRelease:
    """The template this neodyme installs."""

    src_path: str  # as projects record it: `~/...` when under the home folder
    ref: str  # its tag, e.g. `0.2.0+3f2a9c1d0e4b`
    snapshot: Path  # a plain folder of the same files: Copier renders it without a git clone


@dataclass(frozen=True)
class TemplateVersion:
    """A template version found in the template repository."""

    ref: str  # the tag to merge from or to
    recorded: str  # what a project records for it: `V+<digest>` wherever the history has one
    tree: str  # the git tree of its files: two versions with one tree are the same template
    warning: str | None = None  # set when a project's version was replaced by its release

    @property
    def version(self) -> Version:
        return parse_version(self.recorded)


def bundled_template_dir() -> Path:
    """The folder holding `copier.yml` and `template/` shipped with this neodyme."""
    for candidate in (_PACKAGE_DIR / "_template", _PACKAGE_DIR.parent):
        if (candidate / "copier.yml").is_file():
            return candidate
    raise TemplateError(
        "neodyme's template is missing from its installation.",
        hint="Reinstall neodyme (pip install --force-reinstall neodyme).",
    )


def data_dir() -> Path:
    """neodyme's per-user data folder; NEODYME_HOME overrides it."""
    if override := os.environ.get("NEODYME_HOME"):
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "neodyme"


def template_repository() -> Path:
    return data_dir() / "template"


def recorded_src_path() -> str:
    """What projects record as `_src_path`: the template repository, with `~` for the home."""
    path = template_repository()
    try:
        return "~/" + path.resolve().relative_to(Path.home().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def parse_version(ref: str) -> Version:
    try:
        return Version(ref.split("+", 1)[0])
    except InvalidVersion as error:
        raise UnknownTemplateVersionError(
            f"{ref!r} is not a neodyme template version.",
            hint="Versions look like 0.2.0 (a release) or 0.2.0+3f2a9c1d0e4b (one exact state).",
        ) from error


def current_release() -> TemplateRelease:
    """The bundled template, with its history loaded into the template repository.

    Without git (`new --no-git` on a machine without it) the snapshot alone is made.
    """
    bundle = bundled_template_dir()
    ref = f"{__version__}+{folder_digest(bundle)[:DIGEST_LENGTH]}"
    repo = template_repository()
    snapshot = data_dir() / "snapshots" / ref
    with _data_folder_access():
        if git_available():
            _load_history(repo)
        if not snapshot.is_dir() or (git_available() and not _has_tag(repo, ref)):
            with _locked(data_dir()):
                if git_available() and not _has_tag(repo, ref):
                    _publish(bundle, repo, ref)
                if not snapshot.is_dir():
                    snapshot.parent.mkdir(parents=True, exist_ok=True)
                    staging = Path(tempfile.mkdtemp(prefix=f".{ref}.", dir=snapshot.parent))
                    _copy_template_files(bundle, staging)
                    staging.rename(snapshot)
    return TemplateRelease(src_path=recorded_src_path(), ref=ref, snapshot=snapshot)


def find_version(recorded: str) -> TemplateVersion:
    """The template version a project records, or else its release (with a warning).

    The exact state is missing when the project was made from an edited neodyme checkout on
    another machine, or by a neodyme newer than this one; the release of the same version is
    the nearest base for a merge then.
    """
    repo = template_repository()
    if _has_tag(repo, recorded):
        return _version(recorded)
    release = recorded.split("+", 1)[0]
    if release != recorded and _has_tag(repo, release):
        return _version(
            release,
            warning=f"The project records template {recorded}, which this neodyme does not have "
            f"(made from an edited neodyme checkout?); the merge used release {release} as "
            "its base instead: review the changes before committing them.",
        )
    raise UnknownTemplateVersionError(
        f"The project records template {recorded}, which this neodyme ({__version__}) "
        "does not have.",
        hint="Upgrade neodyme (pip install --upgrade neodyme), or use the one that made "
        "the project.",
    )


def find_target(requested: str) -> TemplateVersion:
    """The version `update --to` names: a release (`0.2.0`) or an exact state (`0.2.0+...`)."""
    parse_version(requested)
    if not _has_tag(template_repository(), requested):
        releases = ", ".join(str(version) for version in releases_available()) or "none"
        raise UnknownTemplateVersionError(
            f"This neodyme has no template version {requested}.",
            hint=f"Releases it has: {releases}. Upgrade neodyme for newer ones.",
        )
    return _version(requested)


def installed_version(release: TemplateRelease) -> TemplateVersion:
    return _version(release.ref)


def releases_available() -> list[Version]:
    tags = run_git("tag", "--list", cwd=template_repository()).split()
    versions = {parse_version(tag) for tag in tags if "+" not in tag}
    return sorted(versions)


def snapshot(version: TemplateVersion) -> Path:
    """A plain folder of a version's template files (cached): Copier renders it fastest."""
    folder = data_dir() / "snapshots" / version.recorded
    if folder.is_dir():
        return folder
    with _data_folder_access(), _locked(data_dir()):
        if not folder.is_dir():
            archive = run_git_bytes("archive", "--format=tar", version.ref,
                                    cwd=template_repository())  # fmt: skip
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{version.recorded}.", dir=folder.parent))
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extraction_filter = tarfile.data_filter
                tar.extractall(staging)
            staging.rename(folder)
    return folder


def _version(ref: str, *, warning: str | None = None) -> TemplateVersion:
    repo = template_repository()
    tree = run_git("rev-parse", f"{ref}^{{tree}}", cwd=repo).strip()
    recorded = ref
    if "+" not in ref:  # a release: record the exact state it is
        commit = run_git("rev-parse", f"{ref}^{{commit}}", cwd=repo).strip()
        exact = [tag for tag in run_git("tag", "--points-at", commit, cwd=repo).split()
                 if tag.startswith(f"{ref}+")]  # fmt: skip
        recorded = exact[0] if exact else ref
    return TemplateVersion(ref=ref, recorded=recorded, tree=tree, warning=warning)


def _load_history(repo: Path) -> None:
    """Fetch the history this neodyme carries into the repository, once per history."""
    source = _history_source()
    if source is None:
        return
    key, make_bundle = source
    marker = repo / ".git" / _LOADED_MARKER
    if marker.is_file() and marker.read_text().strip() == key:
        return
    with _locked(data_dir()):
        if marker.is_file() and marker.read_text().strip() == key:
            return
        _init_repository(repo)
        with tempfile.TemporaryDirectory(prefix=".history-", dir=data_dir()) as scratch:
            bundle = make_bundle(Path(scratch))
            if bundle is not None:
                # Forced: a tag published from an edited checkout gives way to the committed
                # state of the same content, and `V` moves to the newest release of V.
                run_git("fetch", "--quiet", "--force", "--no-write-fetch-head", str(bundle),
                        "+refs/tags/*:refs/tags/*", cwd=repo)  # fmt: skip
        marker.write_text(key + "\n")


# Makes the history bundle in a scratch folder (or names one that exists); None if there is none.
_BundleMaker = Callable[[Path], Path | None]


def _history_source() -> tuple[str, _BundleMaker] | None:
    """Where this neodyme's history comes from, and a key that changes when it does."""
    shipped = _PACKAGE_DIR / "_template" / _BUNDLE_NAME  # the wheel's
    checkout = _PACKAGE_DIR.parent
    if not shipped.is_file() and (checkout / ".git").exists():
        try:
            head = run_git("rev-parse", "HEAD", cwd=checkout).strip()
        except GitError:
            return None  # a checkout without commits: nothing to carry yet

        def from_checkout(scratch: Path) -> Path | None:
            bundle = scratch / _BUNDLE_NAME
            return bundle if write_bundle(checkout, bundle) else None

        return f"checkout {checkout} {head}", from_checkout
    for candidate in (shipped, checkout / _BUNDLE_NAME):  # the wheel's, or an sdist's
        if candidate.is_file():
            key = f"bundle {hashlib.sha256(candidate.read_bytes()).hexdigest()}"
            return key, lambda _scratch, bundle=candidate: bundle
    return None


def _init_repository(repo: Path) -> None:
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        run_git("init", "--quiet", cwd=repo)


def _has_tag(repo: Path, ref: str) -> bool:
    # A loose ref file is the fast path; `git rev-parse` also sees packed refs.
    if (repo / ".git" / "refs" / "tags" / ref).is_file():
        return True
    if not (repo / ".git").is_dir():
        return False
    try:
        run_git("rev-parse", "--quiet", "--verify", f"refs/tags/{ref}", cwd=repo)
    except GitError:
        return False
    return True


def _publish(bundle: Path, repo: Path, ref: str) -> None:
    """Commit the bundled template as the repository's new head and tag it `ref`."""
    _init_repository(repo)
    for entry in repo.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    _copy_template_files(bundle, repo)
    commit_all(repo, f"neodyme template {ref}", as_neodyme=True)
    run_git("tag", "--force", ref, cwd=repo)


def _copy_template_files(bundle: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_FILES:
        source = bundle / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)


@contextmanager
def _data_folder_access() -> Iterator[None]:
    """A data folder that cannot be written is the user's to fix: say which and how."""
    folder = data_dir()
    hint = (
        f"Make {folder} a folder you can write, or point NEODYME_HOME at one "
        "(e.g. export NEODYME_HOME=~/neodyme-data)."
    )
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error)
        if folder.exists() and not folder.is_dir():
            reason = "it is a file, not a folder"
        raise DataFolderError(
            f"neodyme cannot write its data folder {folder}: {reason}.", hint=hint
        ) from error
    except GitError as error:
        raise DataFolderError(
            f"neodyme cannot keep its template repository in {folder}: {error.message}",
            hint=hint,
        ) from error


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialise writes to the data folder between neodyme processes running at once."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
