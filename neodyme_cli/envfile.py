"""Keep a project's `.env` told about the settings the template gives it.

`.env` is git-ignored, so no template render or merge ever reaches it: a module that needs a
new setting (auth's SECRET_KEY) would otherwise stay switched off. `new` writes every setting
of `.env.example`; a merge adds only the settings its own change to `.env.example` brought,
never keys the user put in `.env.example` for themselves. Keys already in `.env` are never
touched; secrets get a fresh random value.
"""

import re
import secrets
from collections.abc import Iterable
from pathlib import Path

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_SECRET_NAMES = ("SECRET_KEY",)


def settings(text: str) -> dict[str, str]:
    """The `NAME=value` settings of an env file's text, in order (comments skipped)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if match := _ASSIGNMENT.match(line):
            found.setdefault(match.group(1), match.group(2))
    return found


def settings_added(before: str, after: str) -> dict[str, str]:
    """The settings `after` has and `before` has not: what a merge brought to `.env.example`."""
    known = settings(before)
    return {name: value for name, value in settings(after).items() if name not in known}


def with_settings(env_text: str, new_settings: dict[str, str]) -> tuple[str, list[str]]:
    """`env_text` with the settings it lacks appended; also the names added."""
    present = settings(env_text)
    lines = [
        f"{name}={secrets.token_urlsafe(48) if name in _SECRET_NAMES else value}"
        for name, value in new_settings.items()
        if name not in present
    ]
    if not lines:
        return env_text, []
    separator = "" if not env_text or env_text.endswith("\n") else "\n"
    return env_text + separator + "\n".join(lines) + "\n", list(_names(lines))


def sync_env_file(project_dir: Path) -> list[str]:
    """Append to `.env` (creating it) every setting `.env.example` has and it lacks.

    Returns the names of the settings added.
    """
    example = project_dir / ".env.example"
    if not example.is_file():
        return []
    env_file = project_dir / ".env"
    existing = env_file.read_text() if env_file.is_file() else ""
    text, added = with_settings(existing, settings(example.read_text()))
    if added:
        env_file.write_text(text)
    return added


def _names(lines: Iterable[str]) -> Iterable[str]:
    return (line.split("=", 1)[0] for line in lines)
