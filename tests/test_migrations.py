"""Alembic revisions read as source: heads, and re-parenting a merge's revisions."""

from pathlib import Path

from neodyme_cli.migrations import (
    heads,
    read_revisions,
    reparent_added_revisions,
    set_down_revision,
)

REVISION = '''"""{doc}

Created: 2026-01-01
"""

from collections.abc import Sequence

revision: str = "{revision}"
down_revision: str | Sequence[str] | None = {parent}
branch_labels: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # down_revision = "not this one"
'''


def write(versions: Path, name: str, revision: str, parent: str) -> Path:
    path = versions / f"{name}.py"
    path.write_text(REVISION.format(doc=name, revision=revision, parent=parent))
    return path


def project_with(tmp_path: Path, *revisions: tuple[str, str, str]) -> Path:
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    for name, revision, parent in revisions:
        write(versions, name, revision, parent)
    (versions / "__init__.py").write_text("")  # not a revision: skipped
    return versions


def test_heads_of_a_line_and_of_a_fork(tmp_path: Path) -> None:
    project_with(tmp_path, ("a", "0001", "None"), ("b", "0002", '"0001"'), ("c", "0003", "'0001'"))

    assert heads(tmp_path) == ["0002", "0003"]
    assert [rev.down_revisions for rev in read_revisions(tmp_path / "alembic" / "versions")] == [
        (),
        ("0001",),
        ("0001",),
    ]


def test_a_merge_revision_joins_heads(tmp_path: Path) -> None:
    project_with(
        tmp_path, ("a", "0001", "None"), ("b", "0002", '"0001"'), ("c", "0003", '"0001"'),
        ("d", "0004", '("0002", "0003")'),
    )  # fmt: skip

    assert heads(tmp_path) == ["0004"]


def test_set_down_revision_changes_only_that_value(tmp_path: Path) -> None:
    versions = project_with(tmp_path, ("b", "0002", '"0001"'))
    path = versions / "b.py"
    before = path.read_text()

    set_down_revision(path, ["abc123"])
    single = path.read_text()
    set_down_revision(path, ["abc123", "def456"])

    assert single == before.replace('= "0001"', '= "abc123"')
    assert path.read_text() == before.replace('= "0001"', '= ("abc123", "def456")')


def test_template_revisions_are_put_after_the_users_head(tmp_path: Path) -> None:
    versions = project_with(
        tmp_path, ("core", "0001", "None"), ("mine", "c0ffee", '"0001"'),
        ("template", "0002", '"0001"'), ("template_next", "0003", '"0002"'),
    )  # fmt: skip

    moved = reparent_added_revisions(
        versions, [versions / "template.py", versions / "template_next.py"]
    )

    assert [(m.revision, m.old_parents, m.new_parents) for m in moved] == [
        ("0002", ("0001",), ("c0ffee",))
    ]
    assert heads(tmp_path) == ["0003"]


def test_several_user_heads_become_the_parents_of_the_template_revision(tmp_path: Path) -> None:
    versions = project_with(
        tmp_path, ("core", "0001", "None"), ("mine", "aaa", '"0001"'), ("theirs", "bbb", '"0001"'),
        ("template", "0002", '"0001"'),
    )  # fmt: skip

    reparent_added_revisions(versions, [versions / "template.py"])

    assert heads(tmp_path) == ["0002"]
    assert (
        'down_revision: str | Sequence[str] | None = ("aaa", "bbb")'
        in (versions / "template.py").read_text()
    )


def test_nothing_moves_when_there_is_one_head(tmp_path: Path) -> None:
    versions = project_with(tmp_path, ("core", "0001", "None"), ("template", "0002", '"0001"'))
    before = (versions / "template.py").read_text()

    assert reparent_added_revisions(versions, [versions / "template.py"]) == []
    assert (versions / "template.py").read_text() == before
