"""neodyme's template history: every committed state of `copier.yml` + `template/`, as git.

`add` and `update` merge a project from the template version it was made with, so every such
version must be at hand on any machine, offline. Only neodyme's branch main travels between
machines (no tags, no release artefacts), so the history is rebuilt from its commits: one commit
per distinct template state on main's first-parent line, tagged

- `V+<digest>` for each version V that declared that state (V is `__version__` in that commit's
  `neodyme_cli/__init__.py`; `<digest>` is `content_digest` of the state, cut to 12 digits), which
  is what projects record in `_commit` (0.1.0 recorded it already);
- `V`, the release V: the state of the last commit that declares V.

The result ships as a git bundle (the wheel's build hook writes it with `write_bundle`; a source
checkout writes it from its own git at run time). Its commits are deterministic: the same main
gives the same history on every machine. This module needs only git and the standard library,
because the build hook imports it from the source tree.
"""

import hashlib
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from neodyme_cli.git import run_git, run_git_bytes

TEMPLATE_FILES = ("copier.yml", "template")
VERSION_FILE = "neodyme_cli/__init__.py"
DIGEST_LENGTH = 12
_VERSION = re.compile(rb"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_AUTHOR = "neodyme <neodyme@localhost>"


@dataclass(frozen=True)
class TemplateState:
    """The template as one commit of main had it."""

    commit: str  # the commit of neodyme's main
    timestamp: int  # its committer time: the history commit gets it, so it is reproducible
    version: str  # what that commit's package declares
    copier_yml: str  # blob id
    template: str  # tree id
    digest: str  # content_digest, cut to DIGEST_LENGTH

    @property
    def ref(self) -> str:
        return f"{self.version}+{self.digest}"


def content_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """The digest of a template state, from (path relative to the template root, bytes) pairs.

    Files are taken in the order neodyme 0.1.0 hashed them (copier.yml, then template/ sorted
    as paths), so the digests it recorded in projects still name the same states.
    """

    def order(item: tuple[str, bytes]) -> tuple[int, tuple[str, ...]]:
        parts = PurePosixPath(item[0]).parts
        return TEMPLATE_FILES.index(parts[0]), parts

    digest = hashlib.sha256()
    for path, content in sorted(files, key=order):
        if "__pycache__" in PurePosixPath(path).parts:
            continue
        digest.update(path.encode() + b"\0")
        digest.update(content + b"\0")
    return digest.hexdigest()


def folder_digest(folder: Path) -> str:
    """`content_digest` of the template files in a folder (a checkout, or the wheel's copy)."""

    def files() -> Iterator[tuple[str, bytes]]:
        for top in TEMPLATE_FILES:
            root = folder / top
            for path in [root] if root.is_file() else root.rglob("*"):
                if path.is_file():
                    yield path.relative_to(folder).as_posix(), path.read_bytes()

    return content_digest(files())


def template_states(source_repo: Path) -> list[TemplateState]:
    """The template state of every commit on HEAD's first-parent line, oldest first.

    Commits without a template or a declared version (before neodyme had them) are left out.
    """
    log = run_git("log", "--first-parent", "--reverse", "--format=%H %ct", "HEAD", cwd=source_repo)
    commits = [(sha, int(time)) for sha, time in (line.split() for line in log.splitlines())]
    names = [f"{sha}:{top}" for sha, _ in commits for top in TEMPLATE_FILES]
    ids = _object_ids(source_repo, names)
    versions = _versions(source_repo, [f"{sha}:{VERSION_FILE}" for sha, _ in commits])
    digests: dict[tuple[str, str], str] = {}
    states: list[TemplateState] = []
    for (sha, timestamp), version in zip(commits, versions, strict=True):
        copier_yml, template = ids[f"{sha}:copier.yml"], ids[f"{sha}:template"]
        if version is None or copier_yml is None or template is None:
            continue
        key = (copier_yml, template)
        if key not in digests:
            digests[key] = _state_digest(source_repo, copier_yml, template)[:DIGEST_LENGTH]
        states.append(TemplateState(sha, timestamp, version, copier_yml, template, digests[key]))
    return states


def write_bundle(source_repo: Path, bundle: Path) -> bool:
    """Write the template history of `source_repo`'s HEAD to `bundle`; False if it has none."""
    states = template_states(source_repo)
    if not states:
        return False
    objects = Path(run_git("rev-parse", "--path-format=absolute", "--git-path", "objects",
                           cwd=source_repo).strip())  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="neodyme-history-") as scratch:
        history = Path(scratch) / "history.git"
        run_git("init", "--quiet", "--bare", str(history), cwd=Path(scratch))
        # Borrow the source's objects: only the history's own commits and root trees are new.
        (history / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        run_git_bytes("fast-import", "--quiet", cwd=history, input=_fast_import_stream(states))
        bundle.parent.mkdir(parents=True, exist_ok=True)
        run_git("bundle", "create", "--quiet", str(bundle.absolute()), "--branches", "--tags",
                cwd=history)  # fmt: skip
    return True


def is_shallow(source_repo: Path) -> bool:
    return run_git("rev-parse", "--is-shallow-repository", cwd=source_repo).strip() == "true"


def _fast_import_stream(states: list[TemplateState]) -> bytes:
    """One history commit per change of state; tags as the module docstring says."""
    commands: list[str] = []
    marks: list[int] = []  # the history commit of each state
    previous: tuple[str, str] | None = None
    mark = 0
    for state in states:
        key = (state.copier_yml, state.template)
        if key != previous:
            mark += 1
            message = f"neodyme template {state.ref}\n\nAs in neodyme commit {state.commit}.\n"
            commands += [
                "commit refs/heads/main",
                f"mark :{mark}",
                f"author {_AUTHOR} {state.timestamp} +0000",
                f"committer {_AUTHOR} {state.timestamp} +0000",
                f"data {len(message.encode())}",
                message,
                *([f"from :{mark - 1}"] if mark > 1 else []),
                "deleteall",
                f"M 100644 {state.copier_yml} copier.yml",
                f"M 040000 {state.template} template",
                "",
            ]
            previous = key
        marks.append(mark)
    tags: dict[str, int] = {}  # later states win: a release is the last commit declaring it
    for state, mark in zip(states, marks, strict=True):
        tags[state.ref] = mark
        tags[state.version] = mark
    for tag, mark in tags.items():
        commands += [f"reset refs/tags/{tag}", f"from :{mark}", ""]
    return "\n".join(commands).encode()


def _object_ids(repo: Path, names: list[str]) -> dict[str, str | None]:
    """Object ids of `<commit>:<path>` names; None where the path does not exist."""
    output = run_git("cat-file", "--batch-check=%(objectname)", cwd=repo, input="\n".join(names))
    ids = output.splitlines()
    return {
        name: None if line.endswith(" missing") else line
        for name, line in zip(names, ids, strict=True)
    }


def _versions(repo: Path, names: list[str]) -> list[str | None]:
    found: list[str | None] = []
    for content in _batch_contents(repo, names):
        match = _VERSION.search(content) if content is not None else None
        found.append(match.group(1).decode() if match else None)
    return found


def _state_digest(repo: Path, copier_yml: str, template: str) -> str:
    listing = run_git("ls-tree", "-r", "-z", template, cwd=repo).split("\0")
    entries = [entry.split("\t", 1) for entry in listing if entry]
    blobs = [(f"template/{path}", info.split()[2]) for info, path in entries
             if info.split()[1] == "blob"]  # fmt: skip
    paths = ["copier.yml", *(path for path, _ in blobs)]
    contents = _batch_contents(repo, [copier_yml, *(sha for _, sha in blobs)])
    return content_digest(
        (path, content)
        for path, content in zip(paths, contents, strict=True)
        if content is not None
    )


def _batch_contents(repo: Path, names: list[str]) -> list[bytes | None]:
    """The contents of many objects in one `git cat-file --batch`; None for a missing one."""
    if not names:
        return []
    output = run_git_bytes("cat-file", "--batch", cwd=repo, input="\n".join(names).encode())
    position = 0
    contents: list[bytes | None] = []
    for _ in names:
        header_end = output.index(b"\n", position)
        header = output[position:header_end].split()
        if header[-1] == b"missing":
            contents.append(None)
            position = header_end + 1
            continue
        size = int(header[2])
        contents.append(output[header_end + 1 : header_end + 1 + size])
        position = header_end + 1 + size + 1
    return contents
