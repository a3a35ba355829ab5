"""Where projects are rendered from, and why it is a git repository.

`copier update` (which `neodyme add` runs) needs the template as a git repository
with a tag for the version a project was made from, and Copier records the source
path in `.copier-answers.yml` verbatim. So the template shipped inside neodyme is
published, once per content version, as a tagged commit in a repository under the
user's data folder (`~/.local/share/neodyme/template`). Projects record that path
with `~`, so they keep working offline, after neodyme is reinstalled in another
environment, and on a teammate's machine; each tag keeps an old version available
for a later three-way merge.
"""

import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from neodyme_cli import __version__
from neodyme_cli.errors import GitError, TemplateError
from neodyme_cli.git import commit_all, run_git

# In the wheel the template sits inside the package; in a source checkout, beside it.
_PACKAGE_DIR = Path(__file__).resolve().parent
_TEMPLATE_FILES = ("copier.yml", "template")


@dataclass(frozen=True)
class TemplateRelease:
    src_path: str  # as Copier records it: `~/...` when under the home folder
    ref: str  # the git tag of this content version, e.g. `0.1.0+3f2a9c1d0e4b`
    snapshot: Path  # a plain folder of the same files: Copier renders it without a git clone


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


def current_release() -> TemplateRelease:
    """The bundled template, published to the template repository if it is not yet."""
    bundle = bundled_template_dir()
    ref = f"{__version__}+{_content_digest(bundle)[:12]}"
    repo = data_dir() / "template"
    snapshot = data_dir() / "snapshots" / ref
    if not (snapshot.is_dir() and _has_tag(repo, ref)):
        with _locked(data_dir()):
            if not _has_tag(repo, ref):
                _publish(bundle, repo, ref)
            if not snapshot.is_dir():
                staging = snapshot.with_name(f".{ref}.partial")
                shutil.rmtree(staging, ignore_errors=True)
                _copy_template_files(bundle, staging)
                staging.rename(snapshot)
    return TemplateRelease(src_path=_as_recorded(repo), ref=ref, snapshot=snapshot)


def _content_digest(bundle: Path) -> str:
    digest = hashlib.sha256()
    for top in _TEMPLATE_FILES:
        root = bundle / top
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(path.relative_to(bundle).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


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
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        run_git("init", "--quiet", cwd=repo)
    for entry in repo.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    _copy_template_files(bundle, repo)
    commit_all(repo, f"neodyme template {ref}", as_neodyme=True)
    run_git("tag", ref, cwd=repo)


def _copy_template_files(bundle: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for name in _TEMPLATE_FILES:
        source = bundle / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialise publishing between neodyme processes running at once."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _as_recorded(path: Path) -> str:
    try:
        return "~/" + path.resolve().relative_to(Path.home().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def ensure_release(recorded_src_path: str, ref: str) -> None:
    """Make sure a project's recorded template version can be checked out for a merge."""
    current = current_release()
    if recorded_src_path != current.src_path:
        return  # made from another source (plain Copier, a checkout): Copier resolves it
    if ref == current.ref or _has_tag(data_dir() / "template", ref):
        return
    raise TemplateError(
        f"The template version this project was made with ({ref}) is not in {current.src_path}.",
        hint="Install the neodyme version that made the project, run the command "
        "once to publish its template, then retry.",
    )
