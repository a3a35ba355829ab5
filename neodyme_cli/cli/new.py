"""`neodyme new`."""

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from neodyme_cli.cli._report import console, reporting


class Database(StrEnum):
    sqlite = "sqlite"
    postgresql = "postgresql"


def new(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Project name, e.g. my-app (package my_app).")
    ],
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Folder to create the project in. [default: ./NAME]"),
    ] = None,
    database: Annotated[
        Database | None, typer.Option(help="Database the service uses. [default: sqlite]")
    ] = None,
    auth: Annotated[bool | None, typer.Option("--auth/--no-auth", help="JWT auth.")] = None,
    docker: Annotated[
        bool | None, typer.Option("--docker/--no-docker", help="Dockerfile and compose.")
    ] = None,
    monitoring: Annotated[
        bool | None,
        typer.Option("--monitoring/--no-monitoring", help="Probes, /metrics, JSON logs."),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", metavar="TEXT", help="One line that says what it does."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Ask nothing: defaults for what is not given.")
    ] = False,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Skip git init and first commit.")
    ] = False,
) -> None:
    """Create a new project NAME from the neodyme template.

    Questions not answered by options are asked on a terminal; with --yes, or
    without a terminal, they take their defaults.
    """
    given: dict[str, Any] = {
        key: value
        for key, value in {
            "description": description,
            "database": database.value if database else None,
            "auth": auth,
            "docker": docker,
            "monitoring": monitoring,
        }.items()
        if value is not None
    }
    interactive = not yes and sys.stdin.isatty() and sys.stdout.isatty()
    with reporting(ctx):
        from neodyme_cli.project import create_project

        project = create_project(
            name=name, destination=path, answers=given, interactive=interactive, git=not no_git
        )
    _print_summary(project.path, project.answers, project.modules, project.committed)


def _print_summary(
    path: Path, answers: dict[str, Any], modules: list[str], committed: bool
) -> None:
    relative = os.path.relpath(path)
    shown = str(path) if relative.startswith("../..") else relative
    script = answers["project_name"]
    modules_line = ", ".join(modules) or "none (add later: neodyme add auth|docker|monitoring)"
    console.print(f"[bold green]Created[/] {escape(script)} in {escape(shown)}")
    console.print(f"  database  {answers['database']}")
    console.print(f"  modules   {modules_line}")
    console.print(
        f"  git       {'first commit made' if committed else 'not initialised (--no-git)'}"
    )
    console.print("\nNext:")
    for command, why in (
        (f"cd {shown}", ""),
        ("uv sync", "# install into .venv"),
        (f"uv run {script}", "# migrate the database, serve on http://127.0.0.1:8000"),
        ("uv run pytest", "# the project's own tests"),
    ):
        line = f"  {escape(command):<28}[dim]{escape(why)}[/]" if why else f"  {escape(command)}"
        console.print(line)
