"""On a real terminal `new` asks Copier's questions; with --yes it asks nothing."""

import os
import pty
import select
import sys
import time
from pathlib import Path

import yaml

NEODYME = [sys.executable, "-m", "neodyme_cli"]
DOWN_ARROW, ENTER = b"\x1b[B", b"\r"


class Terminal:
    """A child process on a pseudo-terminal, driven like a person at a keyboard."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the command
            os.chdir(cwd)
            os.execv(argv[0], argv)
        self.screen = b""

    def wait_for(self, text: bytes, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            assert time.monotonic() < deadline, f"never saw {text!r} in:\n{self.screen!r}"
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.screen += os.read(self.fd, 4096)
                except OSError:  # the child closed the terminal
                    break

    def type(self, *keys: bytes) -> None:
        for key in keys:
            os.write(self.fd, key)
            time.sleep(0.2)  # let the prompt redraw between keys

    def exit_code(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def test_questions_are_asked_on_a_terminal(tmp_path: Path) -> None:
    terminal = Terminal([*NEODYME, "new", "demo", "--no-git", "--no-docker"], tmp_path)
    terminal.wait_for(b"says what")
    terminal.type(ENTER)  # description: the default
    terminal.wait_for(b"Database")
    terminal.type(DOWN_ARROW, ENTER)  # PostgreSQL
    terminal.wait_for(b"Authentication")
    terminal.type(b"y", ENTER)
    terminal.wait_for(b"Prometheus")  # docker was answered by --no-docker: not asked
    terminal.type(ENTER)
    terminal.wait_for(b"Next:")

    assert terminal.exit_code() == 0
    assert b"Dockerfile" not in terminal.screen
    answers = yaml.safe_load((tmp_path / "demo" / ".copier-answers.yml").read_text())
    assert (answers["database"], answers["auth"], answers["docker"]) == ("postgresql", True, False)
    assert answers["monitoring"] is False


def test_yes_asks_nothing_on_a_terminal(tmp_path: Path) -> None:
    terminal = Terminal([*NEODYME, "new", "demo", "--yes", "--no-git"], tmp_path)
    terminal.wait_for(b"Next:")

    assert terminal.exit_code() == 0
    assert b"Database" not in terminal.screen


def test_a_typed_description_is_the_whole_description(tmp_path: Path) -> None:
    """The default shows as a placeholder: what is typed replaces it, never extends it."""
    terminal = Terminal([*NEODYME, "new", "demo", "--no-git", "--database", "sqlite",
                         "--no-auth", "--no-docker", "--no-monitoring"], tmp_path)  # fmt: skip
    terminal.wait_for(b"says what")
    terminal.type(b"Orders and invoices", ENTER)
    terminal.wait_for(b"Next:")

    assert terminal.exit_code() == 0
    answers = yaml.safe_load((tmp_path / "demo" / ".copier-answers.yml").read_text())
    assert answers["description"] == "Orders and invoices"
