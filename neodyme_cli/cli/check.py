"""`neodyme check`."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from neodyme_cli import __version__
from neodyme_cli.cli._report import CHANGE_LETTERS, console, reporting


def check(
    ctx: typer.Context,
    path: Annotated[
        Path | None, typer.Option("--path", help="The project folder. [default: .]")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Exit 0 if the project is on this neodyme's template version, 1 if it is behind.

    When behind, it names both versions and the files `neodyme update` would change, as
    `cruft check` does: CI can hold projects current with it.
    """
    with reporting(ctx):
        from neodyme_cli.project import check_project

        report = check_project(project_dir=path)
    if as_json:
        result = {
            "project": str(report.project),
            "current": report.current,
            "from": report.from_version,
            "to": report.to_version,
            "changes": [{"path": str(c.path), "change": c.kind} for c in report.changes],
            "warnings": list(report.warnings),
        }
        typer.echo(json.dumps(result, indent=2))
    elif report.current:
        console.print(
            f"[bold green]Current:[/] {escape(report.project.name)} is on template "
            f"{report.to_version}, the one neodyme {__version__} installs."
        )
    else:
        console.print(
            f"[bold yellow]Behind:[/] {escape(report.project.name)} is on template "
            f"{report.from_version}; neodyme {__version__} installs {report.to_version}."
        )
        console.print("Files `neodyme update` would change:")
        for change in report.changes:
            console.print(f"  {CHANGE_LETTERS[change.kind]} {escape(str(change.path))}")
        console.print("Run `neodyme update` to merge them into the project.")
    if not as_json:
        for warning in report.warnings:
            console.print(f"[bold]warning:[/] {escape(warning)}")
    if not report.current:
        raise typer.Exit(1)
