"""`neodyme update`."""

from pathlib import Path
from typing import Annotated

import typer

from neodyme_cli.cli._report import print_merge_report, reporting


def update(
    ctx: typer.Context,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="VERSION",
            help="Template version to go to, e.g. 0.2.0. [default: this neodyme's]",
        ),
    ] = None,
    path: Annotated[
        Path | None, typer.Option("--path", help="The project folder. [default: .]")
    ] = None,
) -> None:
    """Merge the project onto this neodyme's template, keeping every edit you made.

    Same guarantees as `add`: a committed tree is required, a failure or Ctrl-C leaves the
    project as it was, conflicts are listed, and the merge is left uncommitted to review.
    """
    with reporting(ctx):
        from neodyme_cli.project import update_project

        report = update_project(project_dir=path, to=to)
    print_merge_report(report)
