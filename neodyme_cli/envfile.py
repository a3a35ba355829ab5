"""Keep a project's `.env` told about every setting its `.env.example` lists.

`.env` is git-ignored, so no template render or merge ever reaches it: a module that
needs a new setting (auth's SECRET_KEY) would otherwise stay switched off. Keys the
user already has are never touched; secrets get a fresh random value.
"""

import re
import secrets
from pathlib import Path

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
_SECRET_NAMES = ("SECRET_KEY",)


def sync_env_file(project_dir: Path) -> list[str]:
    """Append to `.env` (creating it) the settings `.env.example` has and it lacks.

    Returns the names of the settings added.
    """
    example = project_dir / ".env.example"
    if not example.is_file():
        return []
    env_file = project_dir / ".env"
    existing = env_file.read_text() if env_file.is_file() else ""
    present = {m.group(1) for line in existing.splitlines() if (m := _ASSIGNMENT.match(line))}
    added: list[str] = []
    new_lines: list[str] = []
    for line in example.read_text().splitlines():
        match = _ASSIGNMENT.match(line)
        if match is None or match.group(1) in present:
            continue
        name = match.group(1)
        value = secrets.token_urlsafe(48) if name in _SECRET_NAMES else line.split("=", 1)[1]
        new_lines.append(f"{name}={value}")
        added.append(name)
    if new_lines:
        separator = "" if not existing or existing.endswith("\n") else "\n"
        env_file.write_text(existing + separator + "\n".join(new_lines) + "\n")
    return added
