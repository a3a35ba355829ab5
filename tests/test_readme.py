"""The README's two commands, in its order, from a fresh clone: set up and generate a project
(./myapp, inside the clone), then the test command, which that project must not disturb."""

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from neodyme_cli.history import TEMPLATE_FILES
from tests.conftest import PIP_CACHE_DIR, UV_CACHE_DIR, git

# Run by the README's test command inside the clone: quick, and rendering the template.
QUICK_TESTS = "test_the_suite_renders_a_plain_snapshot_of_the_template or test_version_and_help"


def test_the_suite_renders_a_plain_snapshot_of_the_template(
    copie: Any, template_snapshot: Path
) -> None:
    assert sorted(path.name for path in template_snapshot.iterdir()) == sorted(TEMPLATE_FILES)
    assert not (template_snapshot / ".git").exists()

    result = copie.copy(extra_answers={"project_name": "demo"}, template_dir=template_snapshot)

    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None and (Path(result.project_dir) / "src" / "demo").is_dir()


def test_the_readmes_commands_work_in_a_fresh_clone(neodyme_source: Path, tmp_path: Path) -> None:
    clone = tmp_path / "neodyme"
    git("clone", "--quiet", str(neodyme_source), str(clone), cwd=tmp_path)
    start = (clone / "README.md").read_text().split("## Start\n", 1)[1].split("\n## ", 1)[0]
    setup, tests = re.findall(r"```bash\n(.+?)\n```", start, re.DOTALL)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTEST_"))}
    env |= {"HOME": str(home), "PIP_CACHE_DIR": PIP_CACHE_DIR, "UV_CACHE_DIR": UV_CACHE_DIR}

    def bash(command: str) -> None:
        completed = subprocess.run(["bash", "-c", command], cwd=clone, env=env,
                                   capture_output=True, text=True, timeout=1200)  # fmt: skip
        assert completed.returncode == 0, f"{command}\n{completed.stdout}{completed.stderr}"

    bash(setup)
    assert (clone / "myapp" / ".copier-answers.yml").is_file()
    bash(f"{tests} -k '{QUICK_TESTS}' -p no:cacheprovider")
