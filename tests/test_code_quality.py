"""neodyme holds its own code to the bar it sets for generated projects."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOOLS = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "neodyme_cli", "tests", "scripts"],
        ["ruff", "format", "--check", "neodyme_cli", "tests", "scripts"],
        ["mypy", "neodyme_cli", "tests", "scripts"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_neodyme_code_is_clean(command: list[str]) -> None:
    completed = subprocess.run(
        [str(TOOLS / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
