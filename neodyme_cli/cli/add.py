"""`neodyme add`."""

from pathlib import Path
from typing import Annotated

import typer

from neodyme_cli.cli._report import print_merge_report, reporting
from neodyme_cli.modules import MODULES


def add(
    ctx: typer.Context,
    module: Annotated[
        str, typer.Argument(metavar="MODULE", help=f"Module to add: {' | '.join(MODULES)}.")
    ],
    path: Annotated[
        Path | None, typer.Option("--path", help="The project folder. [default: .]")
    ] = None,
) -> None:
    """Add MODULE to an existing project, keeping every edit you made.

    The project must be a git repository with everything committed; the merge is left
    uncommitted for you to review.
    """
    with reporting(ctx):
        from neodyme_cli.project import add_module

        report = add_module(module=module, project_dir=path)
    print_merge_report(report)
