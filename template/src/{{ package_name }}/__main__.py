"""`uv run <project>` (or `python -m <package>`): check the settings, bring the database up to
date, then serve the API.

What stops it from starting (an invalid setting, a database that is missing or unreachable)
is said in one line on stderr, with what to do about it, and the exit status is 1.
"""

import sys
import threading
from pathlib import Path
from typing import NoReturn

import uvicorn
from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from sqlalchemy import make_url

# The project's own alembic.ini: the server runs from the project folder (src/<package>/..).
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def main() -> None:
    try:
        from .core.config import settings  # the settings are read, and checked, here
    except ValidationError as error:
        fail(describe_invalid_settings(error))
    from .core.logging import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    try:
        command.upgrade(Config(ALEMBIC_INI), "head")
    except Exception as error:
        problem = describe_database_error(error, settings.database_url)
        if problem is None:
            raise  # not the database's fault: a bug, whose traceback is worth reading
        # A driver's thread that the failed connection leaves behind may fail too, as the
        # process ends: its traceback would only bury the one line that says what to do.
        threading.excepthook = lambda _args: None
        fail(problem)
    from .main import app

    # log_config=None: uvicorn's own log lines go through the logging set up above.
    # On SIGTERM, requests in flight get 5 s to finish: less than the 10 s that container
    # runtimes wait before they kill the process.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
    )


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def describe_invalid_settings(error: ValidationError) -> str:
    """One line for every invalid setting, named as its environment variable."""
    problems = []
    for item in error.errors():
        if item["type"] == "default_factory_not_called":
            continue  # a default that depends on an invalid setting: that one is named already
        message = item["msg"].removeprefix("Value error, ")
        if item["loc"]:
            name = str(item["loc"][0]).upper()
            message = f"{name} is required" if item["type"] == "missing" else f"{name}: {message}"
        problems.append(message)
    return "; ".join(problems) + " (set it in the environment or in .env)"


def describe_database_error(error: BaseException, database_url: str) -> str | None:
    """What went wrong with the database and what to do, or None if it is not about it."""
    url = make_url(database_url)
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    for cause in _causes(error):
        name, text = type(cause).__name__, str(cause).splitlines()[0] if str(cause) else ""
        if name == "InvalidCatalogNameError":
            return (
                f'the database "{url.database}" does not exist on {where}: create it '
                f"(createdb -h {url.host or 'localhost'} -U {url.username or 'postgres'} "
                f"{url.database}), or point DATABASE_URL at another one"
            )
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return f"the database server at {where} refused the credentials of DATABASE_URL"
        if "unable to open database file" in text:
            return (
                f"cannot open the SQLite database {url.database}: its folder must exist and be "
                "writable (or point DATABASE_URL elsewhere)"
            )
        if isinstance(cause, OSError):  # refused, unreachable, timed out, unknown host
            return (
                f"cannot reach the database server at {where} ({text or name}): start it, "
                "or point DATABASE_URL at one that runs"
            )
    return None


def _causes(error: BaseException) -> list[BaseException]:
    """The error and the errors it was raised from or during, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


if __name__ == "__main__":
    main()
