"""The fixture the live suites share, loaded with `pytest_plugins = ("tests.live_fixtures",)`.

A plugin module of its own, not tests/live.py: the suites import live.py's helpers, and pytest
can only rewrite the assertions of a plugin module that nothing imported before it.
"""

import pytest

from tests.live import DATABASES, LiveProject, install_live_project, postgres_admin


@pytest.fixture(scope="session", params=DATABASES)
def live_project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> LiveProject:
    """The all-modules project on each database, generated and installed once a session."""
    database: str = request.param
    if database == "postgresql":
        with postgres_admin():
            pass  # PostgreSQL answers (or the test skips, or fails under CI), before installing
    return install_live_project(database, tmp_path_factory.mktemp(f"live-{database}"))
