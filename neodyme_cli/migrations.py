"""A project's Alembic revisions, read as source (ast) without importing the project.

A merge can bring template revisions whose parent is no longer the project's head: the user
added revisions of their own on top of it. Alembic would then see several heads and refuse to
upgrade. `reparent_added_revisions` points the first template revision at the project's own
head, so the history is one line again: the user's revisions first, then the template's.
"""

import ast
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

VERSIONS_DIR = Path("alembic") / "versions"


@dataclass(frozen=True)
class Revision:
    path: Path
    revision: str
    down_revisions: tuple[str, ...]


@dataclass(frozen=True)
class Reparented:
    revision: str
    path: Path
    old_parents: tuple[str, ...]
    new_parents: tuple[str, ...]


def read_revisions(versions_dir: Path) -> list[Revision]:
    """Every revision file of a versions folder (files that declare no `revision` are skipped)."""
    revisions = []
    for path in sorted(versions_dir.glob("*.py")):
        assignments = _assignments(ast.parse(path.read_bytes(), filename=str(path)))
        revision = assignments.get("revision")
        if revision is None or not isinstance(value := ast.literal_eval(revision), str):
            continue
        down = assignments.get("down_revision")
        revisions.append(Revision(path, value, _as_ids(None if down is None else down)))
    return revisions


def heads(project_dir: Path) -> list[str]:
    """The head revisions of a project: those no other revision builds on, sorted."""
    return _heads(read_revisions(project_dir / VERSIONS_DIR))


def reparent_added_revisions(versions_dir: Path, added: Collection[Path]) -> list[Reparented]:
    """Put the revisions in `added` (just brought by a merge) after the project's own head.

    Only when that is what split the history: the added revisions end in a head and the project
    has other heads besides. The first added revision (the one whose parent is not itself added)
    gets those other heads as its parents; one head remains.
    """
    revisions = read_revisions(versions_dir)
    added_paths = {path.resolve() for path in added}
    added_ids = {rev.revision for rev in revisions if rev.path.resolve() in added_paths}
    current_heads = _heads(revisions)
    own_heads = tuple(head for head in current_heads if head not in added_ids)
    if not added_ids or not own_heads or len(current_heads) < 2:
        return []
    roots = [rev for rev in revisions
             if rev.revision in added_ids and not set(rev.down_revisions) & added_ids]  # fmt: skip
    first = roots[0]
    set_down_revision(first.path, own_heads)
    return [Reparented(first.revision, first.path, first.down_revisions, own_heads)]


def set_down_revision(path: Path, parents: Sequence[str]) -> None:
    """Rewrite a revision file's `down_revision` value, leaving every other byte as it was."""
    source = path.read_text()
    node = _assignments(ast.parse(source)).get("down_revision")
    if node is None:
        raise ValueError(f"{path} has no down_revision assignment")
    value = (
        json.dumps(parents[0])
        if len(parents) == 1
        else "(" + ", ".join(json.dumps(parent) for parent in parents) + ")"
    )
    lines = source.splitlines(keepends=True)
    assert node.end_lineno is not None and node.end_col_offset is not None
    start = sum(len(line) for line in lines[: node.lineno - 1]) + _byte_to_char(
        lines[node.lineno - 1], node.col_offset
    )
    end = sum(len(line) for line in lines[: node.end_lineno - 1]) + _byte_to_char(
        lines[node.end_lineno - 1], node.end_col_offset
    )
    path.write_text(source[:start] + value + source[end:])


def _heads(revisions: Iterable[Revision]) -> list[str]:
    revisions = list(revisions)
    parents = {parent for rev in revisions for parent in rev.down_revisions}
    return sorted(rev.revision for rev in revisions if rev.revision not in parents)


def _assignments(module: ast.Module) -> dict[str, ast.expr]:
    """Module-level `name = value` and `name: type = value` statements, by name."""
    found: dict[str, ast.expr] = {}
    for statement in module.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name):
            found[target.id] = value
    return found


def _as_ids(node: ast.expr | None) -> tuple[str, ...]:
    if node is None:
        return ()
    value = ast.literal_eval(node)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


def _byte_to_char(line: str, byte_offset: int) -> int:
    """ast columns count UTF-8 bytes; slicing needs characters."""
    return len(line.encode()[:byte_offset].decode())
