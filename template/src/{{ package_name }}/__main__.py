"""`uv run <project>` (or `python -m <package>`): migrate the database, then serve the API."""

from pathlib import Path

import uvicorn
from alembic import command
from alembic.config import Config

from .core.config import settings
from .core.logging import configure_logging
from .main import app

# The project's own alembic.ini: the server runs from the project folder (src/<package>/..).
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def main() -> None:
    configure_logging(settings.log_level)
    command.upgrade(Config(ALEMBIC_INI), "head")
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


if __name__ == "__main__":
    main()
