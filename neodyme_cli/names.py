"""Project names: what `neodyme new NAME` accepts, and why it refuses the rest."""

import keyword
import re
import sys
import unicodedata
from typing import Final

from neodyme_cli.errors import InvalidProjectNameError

# Import names a generated project uses (its dependencies and its `tests` package): a package of the
# same name would shadow them and break the project in confusing ways.
DEPENDENCY_IMPORT_NAMES: Final = frozenset(
    {
        "aiosqlite", "alembic", "anyio", "asyncpg", "email_validator", "fastapi",
        "greenlet", "httpx", "jwt", "mypy", "pwdlib", "prometheus_client",
        "pydantic", "pydantic_settings", "pytest", "redis", "ruff", "sqlalchemy",
        "sqlmodel", "starlette", "structlog", "tests", "uvicorn",
    }
)  # fmt: skip

# Longer names make generated import lines wrap differently from the template's formatting.
MAX_NAME_LENGTH: Final = 40

# Letters that Unicode does not decompose into a base letter and accents.
_TRANSLITERATIONS: Final = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
     "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH"}
)  # fmt: skip

# A PEP 508 distribution name.
_DISTRIBUTION_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


def package_name(project_name: str) -> str:
    """The import package of a project: `My-App` -> `my_app` (as copier.yml computes it)."""
    return project_name.lower().replace("-", "_").replace(".", "_")


def validate_project_name(name: str) -> str:
    """Return the package name of `name`, or raise `InvalidProjectNameError` saying why not."""
    if not name.strip():
        raise InvalidProjectNameError(
            "The project name is empty.", hint="Give a name, e.g. `neodyme new my-app`."
        )
    if "/" in name or "\\" in name or name in {".", ".."}:
        last_part = re.split(r"[/\\]", name)[-1].strip(".")
        raise InvalidProjectNameError(
            f"{name!r} is a path, not a project name.",
            hint="Give a plain name and choose the folder with --path, "
            f"e.g. `neodyme new {_suggest(last_part)} --path {name}`."
            if last_part
            else "Give a plain name, e.g. `neodyme new my-app`.",
        )
    if not _DISTRIBUTION_NAME.match(name):
        raise InvalidProjectNameError(
            f"{name!r} is not a valid project name: use letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit.",
            hint=f"Try `neodyme new {_suggest(name)}`.",
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidProjectNameError(
            f"{name!r} is {len(name)} characters long; neodyme takes up to {MAX_NAME_LENGTH}.",
            hint="Choose a shorter name; the description can say the rest.",
        )
    package = package_name(name)
    reason = _reserved_reason(package)
    if reason is not None:
        raise InvalidProjectNameError(
            f"{name!r} cannot be used: its package `{package}` {reason}.",
            hint=f"Try `neodyme new {_suggest(name)}`.",
        )
    return package


def _reserved_reason(package: str) -> str | None:
    if not package.isidentifier() or not package.isascii():
        return "is not a valid Python identifier (it must not start with a digit)"
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        return "is a Python keyword"
    if package in sys.stdlib_module_names or package == "test":  # `test`: CPython's own suite
        return "would shadow the standard library module of that name"
    if package in DEPENDENCY_IMPORT_NAMES:
        return "would shadow a package the generated project imports"
    return None


def _suggest(name: str) -> str:
    """A nearby name that passes validation, for the error's hint: `café` -> `cafe`."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_TRANSLITERATIONS))
    ascii_name = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = re.findall(r"[A-Za-z0-9]+", ascii_name.lower())
    candidate = "-".join(words) or "app"
    if _reserved_reason(package_name(candidate)) is not None:
        candidate = f"my-{candidate}"
    return candidate
