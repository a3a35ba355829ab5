"""An unfriendly machine: each fault gets a message naming the cause and the fix, the right exit
code, and leaves every file as it was. "unexpected error, report it" is for neodyme's own bugs.

The table drives one test: arrange the fault, run the command, check exit code, message and
files. A few faults need their own test (timing, a finished merge, permissions).
"""

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import Result

from neodyme_cli import merge
from neodyme_cli import project as project_module
from neodyme_cli.errors import keep_swallowed_interrupts
from tests.conftest import git
from tests.projects import commit, project_files

Cli = Callable[..., Result]
NEODYME = [sys.executable, "-m", "neodyme_cli"]
GIT = shutil.which("git") or "git"  # found before a fault takes git off PATH


@dataclass
class Scene:
    """Where a fault is staged: a committed project, a clean folder beside it."""

    project: Path
    elsewhere: Path
    monkeypatch: pytest.MonkeyPatch
    resources: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __enter__(self) -> "Scene":
        return self

    def __exit__(self, *_exception: object) -> None:
        self.resources.close()  # unmounts what a fault mounted


@dataclass(frozen=True)
class Fault:
    name: str
    arrange: Callable[[Scene], None]
    command: tuple[str, ...]  # `--path PROJECT` is added, but to `new`
    exit_code: int
    says: tuple[str, ...]  # in the message, in any case


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """A folder nobody may write, root included (a read-only mount when run as root)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"as root, a read-only folder needs a mount, refused: {mounted.stderr}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def unwritable_data_folder(scene: Scene) -> None:
    data = scene.elsewhere.parent / "read-only-data"
    scene.resources.enter_context(read_only_folder(data))
    scene.monkeypatch.setenv("NEODYME_HOME", str(data))


def data_folder_is_a_file(scene: Scene) -> None:
    data = scene.elsewhere.parent / "data-file"
    data.write_text("not a folder\n")
    scene.monkeypatch.setenv("NEODYME_HOME", str(data))


def rewrite_answers(content: bytes) -> Callable[[Scene], None]:
    def arrange(scene: Scene) -> None:
        (scene.project / ".copier-answers.yml").write_bytes(content)
        commit(scene.project, "Broken answers")

    return arrange


def without_src_path(scene: Scene) -> None:
    answers = scene.project / ".copier-answers.yml"
    lines = answers.read_text().splitlines(keepends=True)
    answers.write_text("".join(line for line in lines if not line.startswith("_src_path:")))
    commit(scene.project, "No source")


def git_missing(scene: Scene) -> None:
    no_git = scene.elsewhere.parent / "bin-without-git"
    no_git.mkdir()
    scene.monkeypatch.setenv("PATH", str(no_git))


def disk_fills_during_the_merge(scene: Scene) -> None:
    """Copier's writes in the scratch worktree hit a full disk, halfway."""

    def full_disk(workdir: Path, *_args: object) -> None:
        (workdir / "README.md").write_text("half writ")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(workdir / "README.md"))

    scene.monkeypatch.setattr(merge, "_copier_update", full_disk)


FAULTS = [
    Fault("unwritable data folder (new)", unwritable_data_folder, ("new", "other", "--yes"),
          1, ("cannot write its data folder", "NEODYME_HOME")),
    Fault("unwritable data folder (add)", unwritable_data_folder, ("add", "auth"),
          1, ("cannot write its data folder", "NEODYME_HOME")),
    Fault("data folder is a file", data_folder_is_a_file, ("add", "auth"),
          1, ("data folder", "a file, not a folder")),
    Fault("binary answers", rewrite_answers(b"\x00\x9f\x92\x96 binary\xff"), ("add", "auth"),
          2, ("binary data", "git checkout HEAD -- .copier-answers.yml")),
    Fault("corrupt answers", rewrite_answers(b"_commit: [0.1.0\nproject_name: demo\n"),
          ("update",), 2, ("not valid YAML", "git checkout HEAD -- .copier-answers.yml")),
    Fault("answers without _src_path", without_src_path, ("check",),
          2, ("no _src_path", "_src_path: ~/.local/share/neodyme/template")),
    Fault("git missing (add)", git_missing, ("add", "auth"),
          1, ("git is not installed", "install git")),
    Fault("git missing (new)", git_missing, ("new", "other", "--yes"),
          1, ("git is not installed", "--no-git")),
    Fault("disk full during the merge", disk_fills_during_the_merge, ("add", "auth"),
          1, ("No space left on device", "free some disk space", "project is unchanged")),
]  # fmt: skip


@pytest.fixture
def scene(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    (tmp_path / "projects").mkdir()
    (tmp_path / "elsewhere").mkdir()
    assert cli("new", "demo", "--yes", cwd=tmp_path / "projects").exit_code == 0
    with Scene(tmp_path / "projects" / "demo", tmp_path / "elsewhere", monkeypatch) as staged:
        yield staged


def state(scene: Scene) -> tuple[dict[str, bytes], list[str], str]:
    """Every file of the project (.env included, .git left out), what is in the folder beside
    it, and what git says of the project."""
    files = {
        path.relative_to(scene.project).as_posix(): path.read_bytes()
        for path in sorted(scene.project.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(scene.project).parts
    }
    status = subprocess.run([GIT, "status", "--porcelain"], cwd=scene.project,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    return files, sorted(path.name for path in scene.elsewhere.iterdir()), status


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_a_fault_is_named_with_its_fix_and_changes_nothing(
    cli: Cli, scene: Scene, fault: Fault
) -> None:
    fault.arrange(scene)
    before = state(scene)
    args = list(fault.command) + (
        [] if fault.command[0] == "new" else ["--path", str(scene.project)]
    )

    result = cli(*args, cwd=scene.elsewhere)

    assert result.exit_code == fault.exit_code, result.output
    for words in fault.says:
        assert words.lower() in result.output.lower(), result.output
    assert "unexpected" not in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 2, result.output  # one or two lines
    assert state(scene) == before


def test_a_full_disk_under_the_project_leaves_it_as_it_was(cli: Cli, scene: Scene) -> None:
    """A real full disk: the project on a small file system with 200 KiB left."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount_point = scene.elsewhere.parent / "small-disk"
    mount_point.mkdir()
    size = sum(path.stat().st_size for path in scene.project.rglob("*") if path.is_file())
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size * 2 + 2**20}", "tmpfs",
                    str(mount_point)], check=True)  # fmt: skip
    try:
        subprocess.run(["cp", "-a", str(scene.project), str(mount_point)], check=True)
        project = mount_point / scene.project.name
        free = os.statvfs(mount_point).f_bavail * os.statvfs(mount_point).f_frsize
        with open(mount_point / "filler", "wb") as filler:
            os.posix_fallocate(filler.fileno(), 0, free - 200 * 1024)
        before = project_files(project), (project / ".env").read_bytes()

        result = cli("add", "auth", "--path", str(project))

        assert result.exit_code == 1, result.output
        assert "nearly full" in result.output and "Free some disk space" in result.output
        assert "project is unchanged" in result.output
        assert (project_files(project), (project / ".env").read_bytes()) == before
        assert git("status", "--porcelain", cwd=project) == ""
        assert not list((project / ".git").glob("neodyme-merge-*"))
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_ctrl_c_after_the_merge_finishes_it_and_says_so(
    cli: Cli, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_move_in = merge._move_in

    def ctrl_c_then_move_in(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the merged files start to move in
        real_move_in(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(merge, "_move_in", ctrl_c_then_move_in)

    result = cli("add", "auth", "--path", str(scene.project))

    assert result.exit_code == 130, result.output
    assert "completed first" in result.output and "nothing was changed" not in result.output
    assert "Added auth" in result.output and ".env: added SECRET_KEY" in result.output
    assert "SECRET_KEY=" in (scene.project / ".env").read_text()
    assert (scene.project / "src" / "demo" / "core" / "security.py").is_file()
    assert cli("add", "auth", "--path", str(scene.project)).output.count("already on") == 1


class CtrlCInAFinalizer:
    def __del__(self) -> None:
        raise KeyboardInterrupt  # what a Ctrl-C that lands in a finalizer does


def test_ctrl_c_that_lands_in_a_finalizer_during_a_merge_changes_nothing(
    cli: Cli, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # put back afterwards
    keep_swallowed_interrupts()  # as the neodyme command does
    real_merge = merge._merge_in_scratch

    def ctrl_c_in_a_finalizer_then_merge(*args: object, **kwargs: object) -> object:
        CtrlCInAFinalizer()  # gone at once: its __del__ runs here
        return real_merge(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(merge, "_merge_in_scratch", ctrl_c_in_a_finalizer_then_merge)
    before = state(scene)

    result = cli("add", "auth", "--path", str(scene.project))

    assert result.exit_code == 130, result.output
    assert "nothing was changed" in result.output
    assert state(scene) == before


# Deterministic Ctrl-Cs, each set up by Python source run before `neodyme new demo --yes`.
INTERRUPT_ON_IMPORT = """
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
"""
# Python cannot raise a Ctrl-C that lands in a `__del__` (copier's subprocess wrappers have
# them): it prints it and carries on, unless neodyme keeps it.
INTERRUPT_IN_A_FINALIZER = """
from neodyme_cli import project
class Finalizer:
    def __del__(self):
        raise KeyboardInterrupt
render = project._render
def render_after_a_ctrl_c(*args, **kwargs):
    Finalizer()  # gone at once: its __del__ runs here
    return render(*args, **kwargs)
project._render = render_after_a_ctrl_c
"""


@pytest.mark.parametrize(
    "interrupt",
    [INTERRUPT_ON_IMPORT, INTERRUPT_IN_A_FINALIZER],
    ids=["while the CLI loads", "in a finalizer"],
)
def test_ctrl_c_is_one_line_and_130_and_leaves_nothing(tmp_path: Path, interrupt: str) -> None:
    script = (
        f"import sys\n{interrupt}\n"
        "from neodyme_cli.__main__ import main\n"
        "sys.argv = ['neodyme', 'new', 'demo', '--yes']\n"
        "main()\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)  # fmt: skip

    assert completed.returncode == 130, completed.stderr
    assert completed.stderr == "interrupted: nothing was changed.\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5])
def test_ctrl_c_in_the_first_half_second_shows_no_traceback(tmp_path: Path, delay: float) -> None:
    process = subprocess.Popen([*NEODYME, "new", "demo", "--yes"], cwd=tmp_path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    # Before Python installs its handler the signal ends the process as it would any program.
    assert process.returncode in (130, -signal.SIGINT), stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-made


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o027, 0o750), (0o077, 0o700)])
def test_a_new_project_folder_gets_the_permissions_of_the_umask(
    cli: Cli, tmp_path: Path, umask: int, mode: int
) -> None:
    previous = os.umask(umask)
    try:
        result = cli("new", "demo", "--yes", "--no-git", cwd=tmp_path)
    finally:
        os.umask(previous)

    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo").stat().st_mode & 0o777 == mode


def test_only_a_bug_of_neodymes_is_an_unexpected_error(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def buggy(_name: str) -> str:
        raise ValueError("a bug")

    monkeypatch.setattr(project_module, "validate_project_name", buggy)

    result = cli("new", "demo", "--yes", cwd=tmp_path)

    assert result.exit_code == 1
    assert "unexpected ValueError: a bug" in result.output and "report it" in result.output
